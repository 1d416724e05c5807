/**
 * Where a rhio process spends its time replicating messages: two sites (each
 * its own nats-server and rhio process), N messages published into A's stream
 * as fast as nats.js can, both rhio processes profiled (RHIO_CPU_PROFILE) and
 * the profiles summarised by self time per function and per file.
 *
 *   node scripts/build.mjs && node dist/bench/profile-messages.js [--n 200000] [--out DIR]
 *     [--semi MiB] [--catch-up]
 *
 * --catch-up publishes everything before B's rhio starts (a fresh site catching
 * up); otherwise both run while A is fed.
 *
 * Run by hand; the .cpuprofile files open in Chrome DevTools.
 */
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Site } from '../test/helpers/site.js'
import { cpuSeconds } from './message-workloads.js'

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const N = Number(arg('--n', '200000'))
/** V8 young generation semi-space of the rhio processes, MiB (the launcher's default is 2). */
const SEMI = arg('--semi', '2')
const CATCH_UP = process.argv.includes('--catch-up')

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

/** Self time shares by function and by file (top entries). */
export function summarise(file: string, top = 25): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[]
    samples: number[]
  }
  const total = p.samples.length
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const counts = new Map<number, number>()
  for (const s of p.samples) counts.set(s, (counts.get(s) ?? 0) + 1)
  const fn = new Map<string, number>()
  const fileShare = new Map<string, number>()
  for (const [id, c] of counts) {
    const n = byId.get(id)!
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'nm:')
    const short = url.replace(/.*\/dist\//, '')
    const name = `${n.callFrame.functionName || '(anon)'} ${short}:${n.callFrame.lineNumber + 1}`
    fn.set(name, (fn.get(name) ?? 0) + c)
    const f = short === '' ? `(${n.callFrame.functionName})` : short.split(':')[0]!
    fileShare.set(f, (fileShare.get(f) ?? 0) + c)
  }
  const pct = (c: number): string => `${((100 * c) / total).toFixed(1).padStart(5)} %`
  const lines = [`${file}: ${total} samples`, '  by function:']
  for (const [k, c] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`    ${pct(c)}  ${k}`)
  lines.push('  by file:')
  for (const [k, c] of [...fileShare].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`    ${pct(c)}  ${k}`)
  return lines.join('\n')
}

async function main(): Promise<void> {
  const out = arg('--out', await mkdtemp(join(tmpdir(), 'rhio-prof-')))
  await mkdir(out, { recursive: true })
  const payload = new Uint8Array(256).fill(7)
  const a = await Site.start('a', [{ name: 'src', subjects: ['load.>'] }])
  const b = await Site.start('b', [{ name: 'dst', subjects: ['load.>'] }])
  try {
    const ra = await a.rhio({
      config: { publish: { nats_subjects: [{ subject: 'load.>', stream: 'src' }] } },
      env: {
        RHIO_CPU_PROFILE: join(out, 'publisher.cpuprofile'),
        NODE_OPTIONS: `--max-semi-space-size=${SEMI}`,
      },
    })
    const feed = (): Promise<unknown> =>
      a.publishMany(
        (function* () {
          for (let i = 0; i < N; i++) yield { subject: `load.${i % 16}`, payload, headers: [] }
        })(),
        1000,
      )
    if (CATCH_UP) await feed()
    const cpuA0 = cpuSeconds(ra.pid!)
    const rb = await b.rhio({
      config: {
        nodes: [await ra.asNode()],
        subscribe: {
          nats_subjects: [{ subject: 'load.>', stream: 'dst', public_key: ra.publicKey }],
        },
      },
      env: {
        RHIO_CPU_PROFILE: join(out, 'subscriber.cpuprofile'),
        NODE_OPTIONS: `--max-semi-space-size=${SEMI}`,
      },
    })
    const cpu0 = { a: cpuA0, b: CATCH_UP ? 0 : cpuSeconds(rb.pid!) }
    const t0 = performance.now()
    if (!CATCH_UP) await feed()
    while ((await b.count('dst')) < N) await new Promise((r) => setTimeout(r, 50))
    const s = (performance.now() - t0) / 1000
    const per100k = (role: 'a' | 'b', pid: number): string =>
      (((cpuSeconds(pid) - cpu0[role]) * 100_000) / N).toFixed(2)
    console.log(
      `${CATCH_UP ? 'catch-up: ' : ''}${N} messages in ${s.toFixed(2)} s: ${(N / s).toFixed(0)} msg/s; CPU-s per 100k: ` +
        `publisher ${per100k('a', ra.pid!)}, subscriber ${per100k('b', rb.pid!)}`,
    )
    await rb.stop('SIGTERM')
    await ra.stop('SIGTERM')
    console.log(summarise(join(out, 'publisher.cpuprofile')))
    console.log(summarise(join(out, 'subscriber.cpuprofile')))
  } finally {
    await b[Symbol.asyncDispose]()
    await a[Symbol.asyncDispose]()
  }
}

await main()

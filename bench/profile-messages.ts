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
import { mkdir, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Site } from '../test/helpers/site.js'
import { cpuSeconds } from './message-workloads.js'
import { summarise } from './profile.js'

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const N = Number(arg('--n', '200000'))
/** V8 young generation semi-space of the rhio processes, MiB (the launcher's default is 8). */
const SEMI = arg('--semi', '8')
const CATCH_UP = process.argv.includes('--catch-up')

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

/**
 * bench/soak.ts — three sites (test/helpers/world.ts: own nats-server, s3rver
 * and rhio each, linked through cuttable proxies) under mixed load for a long
 * time with periodic faults: kill -9 of B's or C's rhio, nats-server and S3
 * outages at any site, partitions and slow links. A's rhio is never killed, so
 * its memory over the whole run is one process's. Every `--sample` seconds it
 * records each rhio's RSS and heap, the messages stored in each copy and the
 * lag behind the origin; at the end it checks that every copy is exact
 * (no loss, no duplicates, order, objects byte-exact, no upload left).
 *
 *   node dist/bench/soak.js [--minutes 30] [--seed 1] [--rate 200] [--gap 20-40] [--no-record]
 */
import { execSync } from 'node:child_process'
import { appendFileSync, readFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { setTimeout as pause } from 'node:timers/promises'
import { metricValue } from '../test/helpers/prom.js'
import { Chaos, Load, REPLICAS, World, checkWorld, type SiteName } from '../test/helpers/world.js'

const args = process.argv.slice(2)
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? (args[i + 1] ?? dflt) : dflt
}
const MINUTES = Number(opt('minutes', '30'))
const SEED = Number(opt('seed', '1'))
const RATE = Number(opt('rate', '200'))
const [GAP_LO, GAP_HI] = opt('gap', '20-40')
  .split('-')
  .map((x) => Number(x) * 1000) as [number, number]
const SAMPLE_S = Number(opt('sample', '60'))
const log = (s: string): void => console.error(`[soak] ${s}`)

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return NaN
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : NaN
  } catch {
    return NaN
  }
}

interface Sample {
  t: number
  rss: Record<SiteName, number>
  heap: Record<SiteName, number>
  copies: Record<string, number>
  lag: Record<string, number>
}

async function sample(w: World, t: number): Promise<Sample> {
  const rss = {} as Record<SiteName, number>
  const heap = {} as Record<SiteName, number>
  for (const s of ['a', 'b', 'c'] as const) {
    rss[s] = rssMiB(w.rhio[s].child.proc.pid)
    try {
      heap[s] =
        (metricValue(await w.rhio[s].metrics(), 'nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20
    } catch {
      heap[s] = NaN
    }
  }
  const copies: Record<string, number> = {}
  const lag: Record<string, number> = {}
  for (const r of REPLICAS) {
    const name = `${r.to}/${r.copy}`
    try {
      const origin = await w.sites[r.from].site.count(r.from === 'a' ? 'a-events' : 'b-events')
      copies[name] = await w.sites[r.to].site.count(r.copy)
      lag[name] = origin - copies[name]
    } catch {
      copies[name] = NaN // that site's NATS is down right now
      lag[name] = NaN
    }
  }
  return { t, rss, heap, copies, lag }
}

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '—')

async function main(): Promise<void> {
  const started = Date.now()
  log(
    `${MINUTES} min, seed ${SEED}, ${RATE} msg/s per publishing site, faults every ${GAP_LO / 1000}-${GAP_HI / 1000} s`,
  )
  await using w = await World.start()
  await w.connected()
  const load = new Load(w, { seed: SEED, messagesPerSecond: RATE })
  const chaos = new Chaos(w, { seed: SEED, gapMs: [GAP_LO, GAP_HI], crashSites: ['b', 'c'] })
  const samples: Sample[] = []
  const end = started + MINUTES * 60_000
  while (Date.now() < end) {
    await pause(Math.min(SAMPLE_S * 1000, Math.max(0, end - Date.now())))
    const s = await sample(w, (Date.now() - started) / 1000)
    samples.push(s)
    log(
      `t=${f1(s.t)}s rss a/b/c ${f1(s.rss.a)}/${f1(s.rss.b)}/${f1(s.rss.c)} MiB, copies ${JSON.stringify(s.copies)}, lag ${JSON.stringify(s.lag)}, faults ${chaos.count}`,
    )
  }
  await chaos.stop()
  await load.stop()
  let verdict = 'converged exactly'
  let waited = NaN
  try {
    const r = await checkWorld(w, 300_000)
    waited = r.waitedMs / 1000
  } catch (err) {
    verdict = `DIVERGED: ${(err as Error).message.split('\n')[0]}`
  }
  const last = await sample(w, (Date.now() - started) / 1000)
  log(`${verdict}; faults:\n  ${chaos.log.join('\n  ')}`)

  // Memory: A's process lives through the whole run; compare the first sample after
  // warm-up (2nd) with the last, and report the peak.
  const warm = samples[Math.min(1, samples.length - 1)] as Sample
  const peak = (s: SiteName): number =>
    Math.max(...samples.map((x) => x.rss[s]).filter(Number.isFinite))
  const rows: string[] = []
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as Sample
    const b = samples[i] as Sample
    const dt = b.t - a.t
    const rate = (k: string): string => f1(((b.copies[k] ?? NaN) - (a.copies[k] ?? NaN)) / dt)
    rows.push(
      `| ${(b.t / 60).toFixed(1)} | ${rate('b/a-copy')} | ${rate('c/a-copy')} | ${rate('c/b-copy')} | ${f1(b.lag['c/a-copy'] ?? NaN)} | ${f1(b.rss.a)} / ${f1(b.rss.b)} / ${f1(b.rss.c)} | ${f1(b.heap.a)} |`,
    )
  }
  let commit = 'unknown'
  try {
    commit = execSync('git rev-parse --short HEAD').toString().trim()
  } catch {
    // not a checkout
  }
  const kinds = new Map<string, number>()
  for (const l of chaos.log) {
    const k =
      /s (kill -9 rhio|kill -9 nats|stop nats|s3|cut link|cut site|slow link)/.exec(l)?.[1] ??
      'other'
    kinds.set(k, (kinds.get(k) ?? 0) + 1)
  }
  const section = [
    `\n## soak — ${new Date().toISOString()}\n`,
    `machine: ${cpus().length}x ${cpus()[0]?.model.split(' ').slice(0, 2).join(' ')}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; commit ${commit}; ` +
      `${MINUTES} min, seed ${SEED}; three sites (nats-server, s3rver, rhio each) linked by proxies; load ${RATE} msg/s at A and at B, an object at A every 3 s (25 % of them 6–12 MiB, multipart)\n`,
    `**Outcome: ${verdict}**${Number.isFinite(waited) ? ` (final check, incl. reading and comparing every copy, took ${waited.toFixed(1)} s)` : ''}. ` +
      `Sent ${load.sent.a} messages at A, ${load.sent.b} at B, ${load.objects} objects; final copies ${JSON.stringify(last.copies)}.\n`,
    `Faults injected: ${chaos.count} (${[...kinds].map(([k, n]) => `${k} ×${n}`).join(', ')}).\n`,
    `A's rhio (never killed): RSS ${f1(warm.rss.a)} MiB after warm-up → ${f1(last.rss.a)} MiB at the end (growth ${f1(last.rss.a - warm.rss.a)} MiB, peak ${f1(peak('a'))}); heap used ${f1(warm.heap.a)} → ${f1(last.heap.a)} MiB. ` +
      `B and C peaks: ${f1(peak('b'))} / ${f1(peak('c'))} MiB (restarted by the faults).\n`,
    '| minute | b/a-copy msg/s | c/a-copy msg/s | c/b-copy msg/s | c/a-copy lag | RSS a / b / c MiB | heap a MiB |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n')
  console.log(section)
  if (!args.includes('--no-record'))
    appendFileSync(new URL('../../bench/RESULTS.md', import.meta.url), section)
  if (verdict !== 'converged exactly') process.exitCode = 1
}

await main()

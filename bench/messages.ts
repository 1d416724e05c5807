/**
 * Message replication against the sink ceiling, on real processes (each site =
 * its own nats-server + a rhio process), run by hand when the machine is quiet:
 *
 *   node scripts/build.mjs && node dist/bench/messages.js [--quick] [--no-record]
 *
 * Measures (256 B payloads):
 * - sink ceiling: nats.js pipelined JetStream publish (1000 acks pending, a
 *   msgID per message, as rhio's sink sends) into a stream of the receiving
 *   site's server; measured on B and on C, best of all runs is the baseline;
 * - live throughput A → B: messages published into A's stream as fast as
 *   nats.js can, timed until B's stream holds them all;
 * - latency at 2k msg/s: paced publishes into A's stream, each stamped with its
 *   send time; received by a core NATS subscriber on B's server, which sees a
 *   message when the sink publishes it into B's stream;
 * - catch-up: A's stream (and log) holds N past messages; a fresh site C
 *   subscribes and is timed from its rhio's spawn (and from its first message)
 *   until its stream holds everything.
 *
 * Prints a table and appends a section to bench/RESULTS.md. --quick runs small
 * counts to check that the script works; figures from it are not the targets'.
 */
import { execSync } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import os from 'node:os'
import { jetstream, type JetStreamClient } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { metricValue } from '../test/helpers/prom.js'
import type { RhioProcess } from '../test/helpers/rhio.js'
import { JetStreamSink } from '../src/nats/sink.js'
import { Site, type OutMessage } from '../test/helpers/site.js'

const QUICK = process.argv.includes('--quick')
const N_LIVE = QUICK ? 20_000 : 200_000
const N_CATCHUP = QUICK ? 50_000 : 1_000_000
const LATENCY_RATE = 2_000
const LATENCY_SECONDS = QUICK ? 3 : 15
const SIZE = 256
const PENDING = 1000
const payload = new Uint8Array(SIZE).fill(7)

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`)
}

/** Pipelined JetStream publish with msgIDs; returns messages per second. */
async function ceiling(
  nc: NatsConnection,
  subject: string,
  n: number,
  run: number,
): Promise<number> {
  const js = jetstream(nc)
  const inflight = new Set<Promise<unknown>>()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const p: Promise<unknown> = js.publish(subject, payload, { msgID: `ceil-${run}-${i}` })
    inflight.add(p)
    void p.finally(() => inflight.delete(p))
    if (inflight.size >= PENDING) await Promise.race(inflight)
  }
  await Promise.all(inflight)
  return n / ((performance.now() - t0) / 1000)
}

function* plain(subject: string, n: number): Iterable<OutMessage> {
  for (let i = 0; i < n; i++) yield { subject, payload, headers: [] }
}

/** Polls a stream until it holds `n` messages; returns when that was seen (ms, performance clock). */
async function until(site: Site, stream: string, n: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const count = await site.count(stream)
    if (count >= n) return performance.now()
    if (performance.now() > deadline)
      throw new Error(`${site.name}/${stream}: ${count} of ${n} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Publishes at `rate` msg/s for `seconds`, each payload stamped with its send time. */
async function paced(
  js: JetStreamClient,
  subject: string,
  rate: number,
  seconds: number,
): Promise<number> {
  const total = rate * seconds
  const t0 = performance.now()
  const inflight: Array<Promise<unknown>> = []
  let sent = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1)
    for (; sent < due; sent++) {
      const p = new Uint8Array(SIZE)
      new DataView(p.buffer).setFloat64(0, performance.timeOrigin + performance.now())
      inflight.push(js.publish(subject, p))
    }
    await new Promise((r) => setTimeout(r, 1))
  }
  await Promise.all(inflight)
  return total
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}

function rhioConfig(
  publishFrom?: string,
  subscribe?: { pk: string; stream: string; node: unknown },
): Record<string, unknown> {
  return {
    ...(publishFrom
      ? { publish: { nats_subjects: [{ subject: 'bench.>', stream: publishFrom }] } }
      : {}),
    ...(subscribe
      ? {
          nodes: [subscribe.node],
          subscribe: {
            nats_subjects: [
              { subject: 'bench.>', stream: subscribe.stream, public_key: subscribe.pk },
            ],
          },
        }
      : {}),
  }
}

async function published(r: RhioProcess): Promise<number> {
  return metricValue(await r.metrics(), 'message_receive_total', { source: 'nats' })
}

async function main(): Promise<void> {
  const a = await Site.start('a', [{ name: 'src', subjects: ['bench.>'] }])
  const b = await Site.start('b', [
    { name: 'dst', subjects: ['bench.>'] },
    { name: 'ceil', subjects: ['ceil.>'] },
  ])
  const c = await Site.start('c', [
    { name: 'dst', subjects: ['bench.>'] },
    { name: 'ceil', subjects: ['ceil.>'] },
  ])
  const ceilings: number[] = []
  try {
    log(`sink ceiling on B (${N_LIVE} messages)`)
    ceilings.push(await ceiling(b.nc, 'ceil.x', N_LIVE, 1))

    const ra = await a.rhio({ config: rhioConfig('src') })
    const rb = await b.rhio({
      config: rhioConfig(undefined, { pk: ra.publicKey, stream: 'dst', node: await ra.asNode() }),
    })
    log('warm-up')
    await a.publishMany(plain('bench.warm', 2_000), PENDING)
    await until(b, 'dst', 2_000, 60_000)

    log(`live A → B (${N_LIVE} messages)`)
    // Load into A through rhio's own pipelined sink (about 3x nats.js's
    // js.publish here), so the bench's publisher is not what limits the rate.
    const feeder = new JetStreamSink({ nc: a.nc }, { maxInFlight: 2048 })
    let t0 = performance.now()
    let k = 0
    for (const m of plain('bench.live', N_LIVE)) await feeder.write({ ...m, msgId: `live-${k++}` })
    await feeder.flush()
    const tPublished = performance.now()
    await feeder.stop()
    const tLive = await until(b, 'dst', 2_000 + N_LIVE, 600_000)
    const live = N_LIVE / ((tLive - t0) / 1000)
    const publishRate = N_LIVE / ((tPublished - t0) / 1000)

    log(`latency at ${LATENCY_RATE} msg/s for ${LATENCY_SECONDS} s`)
    const latencies: number[] = []
    const sub = b.nc.subscribe('bench.lat', {
      callback: (_err, m) => {
        if (m.data.length < 8) return
        const sentAt = new DataView(m.data.buffer, m.data.byteOffset).getFloat64(0)
        latencies.push(performance.timeOrigin + performance.now() - sentAt)
      },
    })
    const nLat = await paced(a.js, 'bench.lat', LATENCY_RATE, LATENCY_SECONDS)
    await until(b, 'dst', 2_000 + N_LIVE + nLat, 60_000)
    await b.nc.flush()
    sub.unsubscribe()
    latencies.sort((x, y) => x - y)
    const resent = metricValue(await rb.metrics(), 'rhio_sink_duplicates_total')

    log(`sink ceiling on B again`)
    ceilings.push(await ceiling(b.nc, 'ceil.x', N_LIVE, 2))

    log(`catch-up: ${N_CATCHUP} past messages into A`)
    await a.publishMany(plain('bench.past', N_CATCHUP), PENDING)
    const inA = await a.count('src')
    const deadline = Date.now() + 30 * 60_000
    while ((await published(ra)) < inA) {
      if (Date.now() > deadline) throw new Error('A did not publish its stream')
      await new Promise((r) => setTimeout(r, 200))
    }
    log(`sink ceiling on C (${N_LIVE} messages)`)
    ceilings.push(await ceiling(c.nc, 'ceil.x', N_LIVE, 3))
    log(`catch-up of ${inA} messages into C`)
    t0 = performance.now()
    const rc = await c.rhio({
      config: rhioConfig(undefined, { pk: ra.publicKey, stream: 'dst', node: await ra.asNode() }),
    })
    const tStarted = performance.now()
    const tFirst = await until(c, 'dst', 1, 120_000)
    const tAll = await until(c, 'dst', inA, 30 * 60_000)
    const catchup = inA / ((tAll - t0) / 1000)
    const catchupSteady = (inA - 1) / ((tAll - tFirst) / 1000)
    void rc

    const ceil = Math.max(...ceilings)
    const rows: Array<[string, string, string, string]> = [
      ['sink ceiling (nats.js, 1000 acks pending, msgID), best of 3', fmt(ceil), '1.00x', '—'],
      ['live A → B, 256 B', fmt(live), ratio(live, ceil), '>= 0.7x'],
      [
        `latency at ${LATENCY_RATE} msg/s (${latencies.length} msgs): p50 / p99 / max`,
        `${ms(percentile(latencies, 50))} / ${ms(percentile(latencies, 99))} / ${ms(latencies.at(-1) ?? NaN)}`,
        '—',
        'p50 <= 5 ms, p99 <= 50 ms',
      ],
      [
        `catch-up of ${inA} into a fresh site, from process spawn`,
        fmt(catchup),
        ratio(catchup, ceil),
        '>= 0.7x',
      ],
      ['catch-up, from the first message on', fmt(catchupSteady), ratio(catchupSteady, ceil), '—'],
    ]
    const table = [
      '| measurement | figure | vs ceiling | target |',
      '|---|---|---|---|',
      ...rows.map((r) => `| ${r.join(' | ')} |`),
    ].join('\n')
    const commit = execSync('git rev-parse --short HEAD').toString().trim()
    const dirty = execSync('git status --porcelain --untracked-files=no').toString().trim() !== ''
    const cpu = os.cpus()
    const text = [
      '',
      `## messages${QUICK ? ' (--quick)' : ''} — ${new Date().toISOString()}`,
      '',
      `machine: ${cpu[0]?.model ?? '?'} x${cpu.length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform}/${process.arch}, Node ${process.version}; commit ${commit}${dirty ? ' (+local changes)' : ''}; nats-server per site, one rhio process per site`,
      '',
      table,
      '',
      `Ceiling runs: ${ceilings.map(fmt).join(', ')}. Publishing into A ran at ${fmt(publishRate)} during the live run; ` +
        `C's rhio took ${ms(tStarted - t0)} to start and ${ms(tFirst - t0)} to its first message. ` +
        `Re-sends dropped by JetStream at B: ${resent}.`,
      '',
    ].join('\n')
    process.stdout.write(`${text}\n`)
    if (!process.argv.includes('--no-record'))
      appendFileSync(new URL('../../bench/RESULTS.md', import.meta.url), text)
  } finally {
    await c[Symbol.asyncDispose]()
    await b[Symbol.asyncDispose]()
    await a[Symbol.asyncDispose]()
  }
}

function fmt(rate: number): string {
  return rate >= 10_000 ? `${(rate / 1000).toFixed(1)}k msg/s` : `${rate.toFixed(0)} msg/s`
}

function ratio(x: number, base: number): string {
  return `${(x / base).toFixed(2)}x`
}

function ms(x: number): string {
  return `${x.toFixed(1)} ms`
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})

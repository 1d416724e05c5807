/**
 * The workloads of bench/messages.ts, written once for any replication target
 * (rhio, NATS stream sourcing) so that both are loaded and timed the same way;
 * plus per-process CPU time from /proc. See bench/messages.ts for what each
 * measures.
 */
import { execSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { JetStreamSink } from '../src/nats/sink.js'

export const SIZE = 256
export const PENDING = 1000
const payload = new Uint8Array(SIZE).fill(7)

/** A replication under test: publish into `src` at srcNc, it arrives in `dst` at dstNc. */
export interface Target {
  name: string
  srcNc: NatsConnection
  dstNc: NatsConnection
  countDst: () => Promise<number>
  /** Processes whose CPU time is measured, by role (pub, sub, natsPub, natsSub). */
  procs: () => Record<string, number | undefined>
  /** How many messages `dst` should hold once everything published has arrived. */
  expected: number
  /** Times `dst` was seen holding more than was published. */
  mismatches: string[]
}

/** CPU-seconds by role. */
export type Cpu = Record<string, number>

const TICKS = Number(execSync('getconf CLK_TCK').toString().trim()) || 100

/** utime + stime of a process (all its threads) in seconds; NaN when it cannot be read. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // fields after "pid (comm) ": state is field 3, utime 14, stime 15
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / TICKS
  } catch {
    return NaN
  }
}

export function cpuSnapshot(procs: Record<string, number | undefined>): Cpu {
  const out: Cpu = {}
  for (const [role, pid] of Object.entries(procs))
    if (pid !== undefined) out[role] = cpuSeconds(pid)
  return out
}

/** CPU used since `before`; a process that did not exist then counts from 0. */
export function cpuSince(before: Cpu, procs: Record<string, number | undefined>): Cpu {
  const after = cpuSnapshot(procs)
  const out: Cpu = {}
  for (const [role, s] of Object.entries(after)) out[role] = s - (before[role] ?? 0)
  return out
}

/**
 * nats.js pipelined JetStream publish of `n` 256 B messages, ~1000 acks
 * pending, a msgID per message when `idPrefix` is given; returns msg/s.
 */
export async function pipelined(
  nc: NatsConnection,
  subject: string,
  n: number,
  idPrefix?: string,
): Promise<number> {
  const js = jetstream(nc)
  const inflight = new Set<Promise<unknown>>()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const p: Promise<unknown> = js.publish(
      subject,
      payload,
      idPrefix === undefined ? {} : { msgID: `${idPrefix}-${i}` },
    )
    inflight.add(p)
    void p.finally(() => inflight.delete(p))
    if (inflight.size >= PENDING) await Promise.race(inflight)
  }
  await Promise.all(inflight)
  return n / ((performance.now() - t0) / 1000)
}

/** Polls `dst` until it holds `n` messages (default: all expected); returns when (performance clock). */
export async function until(
  t: Target,
  timeoutMs: number,
  n = t.expected,
  everyMs = 20,
): Promise<number> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const count = await t.countDst()
    if (count >= n) {
      const at = performance.now()
      if (n === t.expected && count > n) t.mismatches.push(`${t.name}: ${count} for ${n}`)
      return at
    }
    if (performance.now() > deadline)
      throw new Error(`${t.name}: dst holds ${count} of ${n} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export interface Run {
  n: number
  rate: number
  cpu: Cpu
}

/** Burst: pipelined publishes (1000 acks pending), first publish → all in dst. */
export async function burst(t: Target, n: number): Promise<Run> {
  const cpu0 = cpuSnapshot(t.procs())
  const t0 = performance.now()
  await pipelined(t.srcNc, 'bench.burst', n)
  t.expected += n
  const t1 = await until(t, 600_000, t.expected, 5)
  return { n, rate: n / ((t1 - t0) / 1000), cpu: cpuSince(cpu0, t.procs()) }
}

/** Sustained: fed through rhio's pipelined sink (2048 in flight), first publish → all in dst. */
export async function sustained(t: Target, n: number): Promise<Run & { publishRate: number }> {
  const feeder = new JetStreamSink({ nc: t.srcNc }, { maxInFlight: 2048 })
  const cpu0 = cpuSnapshot(t.procs())
  const t0 = performance.now()
  for (let k = 0; k < n; k++)
    await feeder.write({ subject: 'bench.live', payload, headers: [], msgId: `live-${k}` })
  await feeder.flush()
  const tPublished = performance.now()
  await feeder.stop()
  t.expected += n
  const t1 = await until(t, 600_000)
  return {
    n,
    rate: n / ((t1 - t0) / 1000),
    publishRate: n / ((tPublished - t0) / 1000),
    cpu: cpuSince(cpu0, t.procs()),
  }
}

/** Publishes at `rate` msg/s for `seconds`, each payload stamped with its send time. */
async function paced(nc: NatsConnection, rate: number, seconds: number): Promise<number> {
  const js = jetstream(nc)
  const total = rate * seconds
  const t0 = performance.now()
  const inflight: Array<Promise<unknown>> = []
  let sent = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1)
    for (; sent < due; sent++) {
      const p = new Uint8Array(SIZE)
      new DataView(p.buffer).setFloat64(0, performance.timeOrigin + performance.now())
      inflight.push(js.publish('bench.lat', p))
    }
    await new Promise((r) => setTimeout(r, 1))
  }
  await Promise.all(inflight)
  return total
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/**
 * Latency: paced publishes into src, read back by an ordered consumer on dst
 * (send → stored at the destination → delivered). A 1-byte probe first shows
 * that the consumer is live before the timed publishes start.
 */
export async function latency(
  t: Target,
  rate: number,
  seconds: number,
): Promise<Run & { sorted: number[] }> {
  const jsm = await jetstreamManager(t.dstNc)
  const from = (await jsm.streams.info('dst')).state.last_seq + 1
  const consumer = await jetstream(t.dstNc).consumers.get('dst', {
    filter_subjects: 'bench.lat',
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  })
  const msgs = await consumer.consume({ max_messages: 1000 })
  const total = rate * seconds
  const sorted: number[] = []
  let probeSeen = (): void => {}
  const probe = new Promise<void>((r) => (probeSeen = r))
  const reading = (async () => {
    for await (const m of msgs) {
      if (m.data.length < 8) {
        probeSeen()
        continue
      }
      const sentAt = new DataView(m.data.buffer, m.data.byteOffset).getFloat64(0)
      sorted.push(performance.timeOrigin + performance.now() - sentAt)
      if (sorted.length >= total) break
    }
  })()
  void reading.catch(() => {}) // awaited below; this only keeps an early failure handled
  try {
    await jetstream(t.srcNc).publish('bench.lat', new Uint8Array(1))
    t.expected += 1
    await within(probe, 30_000, `${t.name}: latency probe not seen at dst`)
    const cpu0 = cpuSnapshot(t.procs())
    const n = await paced(t.srcNc, rate, seconds)
    t.expected += n
    await until(t, 60_000)
    await within(reading, 10_000, `${t.name}: consumer did not deliver all ${n}`)
    const cpu = cpuSince(cpu0, t.procs())
    sorted.sort((x, y) => x - y)
    return { n, rate, sorted, cpu }
  } finally {
    msgs.stop()
  }
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}

/**
 * Catch-up: `start` makes the fresh destination subscribe; timed from that
 * call (and from the first message) until dst holds all `t.expected`.
 */
export async function catchUp(
  t: Target,
  start: () => Promise<void>,
): Promise<Run & { steady: number; started: number; first: number }> {
  const cpu0 = cpuSnapshot(t.procs())
  const t0 = performance.now()
  await start()
  const tStarted = performance.now()
  const tFirst = await until(t, 120_000, 1)
  const tAll = await until(t, 30 * 60_000)
  const n = t.expected
  return {
    n,
    rate: n / ((tAll - t0) / 1000),
    steady: (n - 1) / ((tAll - tFirst) / 1000),
    started: tStarted - t0,
    first: tFirst - t0,
    cpu: cpuSince(cpu0, t.procs()),
  }
}

/**
 * Message replication by rhio against the sink ceiling and against the
 * incumbent, NATS JetStream stream sourcing across domains over a leafnode
 * (bench/nats-sourcing.ts), all on real processes in the same run. Run by hand
 * when the machine is quiet:
 *
 *   node scripts/build.mjs && node dist/bench/messages.js [--quick] [--no-record] [--rate N] [--semi MiB]
 *
 * Topologies: rhio = per site its own nats-server and rhio process; A publishes
 * its stream `src`, B (and later a fresh C) subscribes into stream `dst`. NATS
 * sourcing = hub nats-server A (domain a, stream `src`) and leaf nats-server B
 * (domain b, stream `dst` sourcing `src` through `$JS.a.API`); no extra process,
 * no authorship. Both get the same workloads (256 B payloads), rhio first then
 * NATS, timed the same way (only the catch-up's start differs, see there).
 * Counts are for a full run; --quick runs smaller ones:
 * - sink ceiling (the common denominator): nats.js pipelined JetStream publish
 *   (1000 acks pending, a msgID per message, as rhio's sink sends) into a stream
 *   of the receiving site's server; measured on rhio's B (twice) and C, best run;
 * - burst: 20 000 messages published into A's `src` with nats.js js.publish,
 *   1000 acks pending; timed from the first publish until B's `dst` holds them
 *   all (polled every 5 ms);
 * - sustained: 200 000 messages fed into A's `src` through rhio's pipelined
 *   JetStreamSink (2048 in flight, so the feeder is not what limits the rate),
 *   timed from the first publish until B's `dst` holds them all;
 * - latency at --rate msg/s (default 1000) for 15 s: paced publishes into A's
 *   `src`, each stamped with its send time, received by an ordered consumer on
 *   B's `dst` (a sourced message is stored without being published on its
 *   subject, so a core subscriber would not see it; the same consumer reads
 *   rhio's B): send → stored in B's stream → delivered, p50 / p99 / max
 *   (rhio / NATS is then the ratio of the times);
 * - catch-up: A's `src` holds every message of the workloads above plus
 *   1 000 000 past ones. rhio: B's rhio is stopped, A's rhio has logged them
 *   all, a fresh site C subscribes; timed from its rhio's spawn (and from its
 *   first message) until C's `dst` holds everything. NATS: leaf B is stopped, a fresh leaf B joins and
 *   `dst` is created; timed from that request (and from the first message);
 * - CPU: utime + stime of every process (/proc/<pid>/stat) over each workload's
 *   timed window, in CPU-seconds per 100 000 messages: each rhio process, the
 *   nats-servers under rhio, and the two nats-servers doing the sourcing.
 *
 * Prints the tables and appends a section to bench/RESULTS.md (not with
 * --no-record). --quick runs small counts to check that the script works;
 * figures from it are not the targets'.
 */
import { execSync } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import os from 'node:os'
import type { NatsConnection } from '@nats-io/transport-node'
import { NATS_SERVER_BIN } from '../test/helpers/nats-server.js'
import { metricValue } from '../test/helpers/prom.js'
import type { RhioProcess } from '../test/helpers/rhio.js'
import { Site } from '../test/helpers/site.js'
import { NatsSourcing } from './nats-sourcing.js'
import {
  burst,
  catchUp,
  latency,
  percentile,
  pipelined,
  sustained,
  until,
  type Cpu,
  type Target,
} from './message-workloads.js'

const QUICK = process.argv.includes('--quick')
const N_BURST = QUICK ? 5_000 : 20_000
const N_LIVE = QUICK ? 20_000 : 200_000
const N_CATCHUP = QUICK ? 50_000 : 1_000_000
const N_WARM = 2_000
const LATENCY_RATE = Number(flag('--rate') ?? 1_000)
/** V8 young generation semi-space of the rhio processes, MiB (the launcher's default is 8). */
const SEMI = flag('--semi') ?? '8'
const env = { NODE_OPTIONS: `--max-semi-space-size=${SEMI}` }
const LATENCY_SECONDS = QUICK ? 3 : 15

function flag(name: string): string | undefined {
  const i = process.argv.findIndex((a) => a === name || a.startsWith(`${name}=`))
  if (i < 0) return undefined
  const arg = process.argv[i] as string
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : process.argv[i + 1]
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`)
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

/** Publishes N past messages into `src` (not timed). */
async function fill(nc: NatsConnection, n: number): Promise<void> {
  await pipelined(nc, 'bench.past', n)
}

async function main(): Promise<void> {
  if (!Number.isInteger(LATENCY_RATE) || LATENCY_RATE <= 0)
    throw new Error(`--rate wants a positive whole number of msg/s, not ${flag('--rate')}`)
  const loadAtStart = os.loadavg()[0] ?? NaN
  const a = await Site.start('a', [{ name: 'src', subjects: ['bench.>'] }])
  const b = await Site.start('b', [
    { name: 'dst', subjects: ['bench.>'] },
    { name: 'ceil', subjects: ['ceil.>'] },
  ])
  const c = await Site.start('c', [
    { name: 'dst', subjects: ['bench.>'] },
    { name: 'ceil', subjects: ['ceil.>'] },
  ])
  const nats = await NatsSourcing.start(['bench.>'])
  const ceilings: number[] = []
  try {
    log(`sink ceiling on B (${N_LIVE} messages)`)
    ceilings.push(await pipelined(b.nc, 'ceil.x', N_LIVE, 'ceil-1'))

    const ra = await a.rhio({ env, config: rhioConfig('src') })
    const rb = await b.rhio({
      env,
      config: rhioConfig(undefined, { pk: ra.publicKey, stream: 'dst', node: await ra.asNode() }),
    })
    const rhio: Target = {
      name: 'rhio',
      srcNc: a.nc,
      dstNc: b.nc,
      countDst: () => b.count('dst'),
      procs: () => ({
        pub: ra.child.proc.pid,
        sub: rb.child.proc.pid,
        natsPub: a.nats.pid,
        natsSub: b.nats.pid,
      }),
      expected: 0,
      mismatches: [],
    }
    await nats.startLeaf()
    await nats.addDst()
    const ns: Target = {
      name: 'NATS',
      srcNc: nats.srcNc,
      dstNc: nats.dstNc,
      countDst: () => nats.countDst(),
      procs: () => ({ natsPub: nats.pidA, natsSub: nats.pidB }),
      expected: 0,
      mismatches: [],
    }
    for (const t of [rhio, ns]) {
      log(`${t.name}: warm-up (${N_WARM} messages), checks that it replicates`)
      await pipelined(t.srcNc, 'bench.warm', N_WARM)
      t.expected += N_WARM
      await until(t, 60_000)
    }
    log(`NATS sourcing replicates: ${JSON.stringify(await nats.checkSource())}`)

    const bursts = []
    for (const t of [rhio, ns]) {
      log(`${t.name}: burst (${N_BURST} messages)`)
      bursts.push(await burst(t, N_BURST))
    }
    const lives = []
    for (const t of [rhio, ns]) {
      log(`${t.name}: sustained (${N_LIVE} messages)`)
      lives.push(await sustained(t, N_LIVE))
    }
    const lats = []
    for (const t of [rhio, ns]) {
      log(`${t.name}: latency at ${LATENCY_RATE} msg/s for ${LATENCY_SECONDS} s`)
      lats.push(await latency(t, LATENCY_RATE, LATENCY_SECONDS))
    }
    await nats.checkSource()
    const resent = metricValue(await rb.metrics(), 'rhio_sink_duplicates_total')

    log(`sink ceiling on B again`)
    ceilings.push(await pipelined(b.nc, 'ceil.x', N_LIVE, 'ceil-2'))

    // Only the catch-up runs from here on: the live subscribers stop.
    await rb.stop()
    await nats.stopLeaf()
    log(`catch-up: ${N_CATCHUP} past messages into A (rhio)`)
    await fill(a.nc, N_CATCHUP)
    const inA = await a.count('src')
    const deadline = Date.now() + 30 * 60_000
    while ((await published(ra)) < inA) {
      if (Date.now() > deadline) throw new Error('A did not publish its stream')
      await new Promise((r) => setTimeout(r, 200))
    }
    log(`catch-up: ${N_CATCHUP} past messages into A (NATS)`)
    await fill(nats.srcNc, N_CATCHUP)
    const inSrc = await nats.countSrc()

    log(`sink ceiling on C (${N_LIVE} messages)`)
    ceilings.push(await pipelined(c.nc, 'ceil.x', N_LIVE, 'ceil-3'))

    log(`rhio: catch-up of ${inA} messages into C`)
    let rc: RhioProcess | undefined
    rhio.dstNc = c.nc
    rhio.countDst = () => c.count('dst')
    rhio.procs = () => ({
      pub: ra.child.proc.pid,
      sub: rc?.child.proc.pid,
      natsPub: a.nats.pid,
      natsSub: c.nats.pid,
    })
    rhio.expected = inA
    const rhioCatch = await catchUp(rhio, async () => {
      rc = await c.rhio({
        env,
        config: rhioConfig(undefined, { pk: ra.publicKey, stream: 'dst', node: await ra.asNode() }),
      })
    })

    log(`NATS: catch-up of ${inSrc} messages into a fresh leaf B`)
    await nats.startLeaf()
    ns.dstNc = nats.dstNc
    ns.expected = inSrc
    const natsCatch = await catchUp(ns, () => nats.addDst())
    await nats.checkSource()

    const ceil = Math.max(...ceilings)
    const [rBurst, nBurst] = bursts as [(typeof bursts)[0], (typeof bursts)[0]]
    const [rLive, nLive] = lives as [(typeof lives)[0], (typeof lives)[0]]
    const [rLat, nLat] = lats as [(typeof lats)[0], (typeof lats)[0]]
    const rate = (name: string, r: number, n: number, target = '—'): string[] => [
      name,
      fmt(r),
      fmt(n),
      ratio(r, ceil),
      ratio(n, ceil),
      ratio(r, n),
      target,
    ]
    const lat = (p: number, target: string): string[] => {
      const [x, y] = [percentile(rLat.sorted, p), percentile(nLat.sorted, p)]
      return [`latency p${p}`, ms(x), ms(y), '—', '—', ratio(x, y), target]
    }
    const rows = [
      [
        'sink ceiling (nats.js, 1000 acks pending, msgID), best of 3',
        fmt(ceil),
        '—',
        '1.00x',
        '—',
        '—',
        '—',
      ],
      rate(`burst of ${N_BURST}, 1000 acks pending`, rBurst.rate, nBurst.rate, '>= 0.8x ceiling'),
      rate(`sustained, ${N_LIVE}`, rLive.rate, nLive.rate, '>= 0.85x ceiling'),
      lat(50, '<= 2 ms'),
      lat(99, '<= 15 ms'),
      [
        `latency max (${rLat.n} / ${nLat.n} msgs at ${LATENCY_RATE} msg/s)`,
        ms(rLat.sorted.at(-1) ?? NaN),
        ms(nLat.sorted.at(-1) ?? NaN),
        '—',
        '—',
        '—',
        '—',
      ],
      rate(
        `catch-up of ${inA} / ${inSrc} into a fresh site, from start¹`,
        rhioCatch.rate,
        natsCatch.rate,
        '>= 2x ceiling',
      ),
      rate('catch-up, from the first message on', rhioCatch.steady, natsCatch.steady),
    ]
    const cpuRow = (name: string, r: { n: number; cpu: Cpu }, n: { n: number; cpu: Cpu }) => {
      const per = (s: number, count: number): string => (s / (count / 100_000)).toFixed(2)
      const rAll = sum(r.cpu, ['pub', 'sub', 'natsPub', 'natsSub'])
      const nAll = sum(n.cpu, ['natsPub', 'natsSub'])
      return [
        name,
        per(r.cpu.pub ?? NaN, r.n),
        per(r.cpu.sub ?? NaN, r.n),
        per(sum(r.cpu, ['natsPub', 'natsSub']), r.n),
        per(rAll, r.n),
        per(nAll, n.n),
        ratio(rAll / r.n, nAll / n.n),
      ]
    }
    const cpuRows = [
      cpuRow('burst', rBurst, nBurst),
      cpuRow('sustained', rLive, nLive),
      cpuRow(`latency at ${LATENCY_RATE} msg/s`, rLat, nLat),
      cpuRow('catch-up (publisher: serving only; subscriber: from spawn)', rhioCatch, natsCatch),
    ]
    const table = (head: string[], body: string[][]): string =>
      [head, head.map(() => '---'), ...body].map((r) => `| ${r.join(' | ')} |`).join('\n')
    const commit = execSync('git rev-parse --short HEAD').toString().trim()
    const dirty = execSync('git status --porcelain --untracked-files=no').toString().trim() !== ''
    const cpu = os.cpus()
    const mismatches = [...rhio.mismatches, ...ns.mismatches]
    const text = [
      '',
      `## messages${QUICK ? ' (--quick)' : ''} — ${new Date().toISOString()}`,
      '',
      `machine: ${cpu[0]?.model ?? '?'} x${cpu.length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform}/${process.arch}, Node ${process.version}; commit ${commit}${dirty ? ' (+local changes)' : ''}; load average at start ${loadAtStart.toFixed(1)}. rhio: nats-server + rhio process per site (--max-semi-space-size=${SEMI}). NATS sourcing: hub and leaf nats-server (${natsVersion()}), JetStream domains a and b, \`dst\` sourcing \`src\` via $JS.a.API`,
      '',
      table(
        [
          'measurement',
          'rhio',
          'NATS sourcing',
          'rhio / ceiling',
          'NATS / ceiling',
          'rhio / NATS',
          'rhio target',
        ],
        rows,
      ),
      '',
      'CPU-seconds per 100 000 messages (utime + stime over each timed window):',
      '',
      table(
        [
          'workload',
          'rhio A (publisher)',
          'rhio B / C (subscriber)',
          "rhio's nats-servers A + B",
          'rhio side, all four',
          'NATS sourcing, nats-servers A + B',
          'rhio / NATS',
        ],
        cpuRows,
      ),
      '',
      `¹ rhio from C's rhio process spawn (start ${ms(rhioCatch.started)}, first message at ${ms(rhioCatch.first)}); ` +
        `NATS from the request creating \`dst\` on a fresh, already connected leaf B (first message at ${ms(natsCatch.first)}). ` +
        `Ceiling runs: ${ceilings.map(fmt).join(', ')}. Feeding A during the sustained run: ${fmt(rLive.publishRate)} (rhio), ${fmt(nLive.publishRate)} (NATS). ` +
        `Re-sends dropped by JetStream at B: ${resent}. ` +
        (mismatches.length
          ? `Counts off: ${mismatches.join('; ')}.`
          : 'Every destination stream held exactly the messages published.'),
      '',
    ].join('\n')
    process.stdout.write(`${text}\n`)
    if (!process.argv.includes('--no-record'))
      appendFileSync(new URL('../../bench/RESULTS.md', import.meta.url), text)
  } finally {
    await nats[Symbol.asyncDispose]()
    await c[Symbol.asyncDispose]()
    await b[Symbol.asyncDispose]()
    await a[Symbol.asyncDispose]()
  }
}

function sum(cpu: Cpu, keys: string[]): number {
  return keys.reduce((s, k) => s + (cpu[k] ?? NaN), 0)
}

function natsVersion(): string {
  try {
    return execSync(`${NATS_SERVER_BIN} --version`).toString().trim()
  } catch {
    return 'nats-server ?'
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

/**
 * JetStream sink and source throughput against baselines measured in the same
 * run on the same nats-server (run by hand: `node scripts/build.mjs && node
 * dist/bench/nats-sink.js`; BENCH_N sets messages per run, default 100 000).
 *
 * - sink ceiling: nats.js `js.publish` of 256 B messages with ~1000 acks pending
 *   (plain, and with a msgID per message as the sink sends)
 * - JetStreamSink: the same messages through `write()` (window 1024) until all acked,
 *   one ack per message (no expected stream, as a sink that writes into any
 *   stream) and chained (expected stream, as rhio's subscriber writes: only the
 *   last message of a segment asks for an ack, see src/nats/sink.ts)
 * - source: JetStreamSource catch-up vs nats.js's ordered consumer (`consume`),
 *   plain and decoding each message's headers (the source always parses them;
 *   every message here has a Nats-Msg-Id header)
 *
 * Runs alternate (baseline, sink, baseline, sink) and the best of each is
 * reported, so a noisy neighbour on the machine hurts both sides alike.
 * BENCH_NO_ASYNC_TRACES=1 connects with nats.js `noAsyncTraces` (see below).
 */
import { jetstream, jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { JetStreamSink } from '../src/nats/sink.js'
import { JetStreamSource } from '../src/nats/source.js'
import { NatsServer } from '../test/helpers/nats-server.js'

const N = Number(process.env.BENCH_N ?? 100_000)
const SIZE = 256
const PENDING = 1000
const payload = new Uint8Array(SIZE).fill(7)

async function freshStream(jsm: JetStreamManager, name: string): Promise<void> {
  await jsm.streams.delete(name).catch(() => false)
  await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`], storage: StorageType.File })
}

async function rawPublish(
  nc: NatsConnection,
  subject: (i: number) => string,
  withId: boolean,
): Promise<number> {
  const js = jetstream(nc)
  const inflight = new Set<Promise<unknown>>()
  const t0 = performance.now()
  for (let i = 0; i < N; i++) {
    const p: Promise<unknown> = js.publish(subject(i), payload, withId ? { msgID: `raw-${i}` } : {})
    inflight.add(p)
    void p.finally(() => inflight.delete(p))
    if (inflight.size >= PENDING) await Promise.race(inflight)
  }
  await Promise.all(inflight)
  return N / ((performance.now() - t0) / 1000)
}

async function sinkPublish(
  nc: NatsConnection,
  subject: (i: number) => string,
  run: number,
  expectStream?: string,
): Promise<number> {
  const sink = new JetStreamSink({ nc }, expectStream === undefined ? {} : { expectStream })
  const t0 = performance.now()
  for (let i = 0; i < N; i++) {
    await sink.write({ subject: subject(i), headers: [], payload, msgId: `sink-${run}-${i}` })
  }
  await sink.flush()
  const rate = N / ((performance.now() - t0) / 1000)
  const st = sink.stats()
  if (st.acked !== N || st.duplicates !== 0)
    throw new Error(`sink run ${run}: ${JSON.stringify(st)}`)
  await sink.stop()
  return rate
}

/** nats.js's ordered consumer; `withHeaders` also decodes each message's headers, as the source does. */
async function orderedConsumerRead(
  nc: NatsConnection,
  stream: string,
  total: number,
  withHeaders: boolean,
): Promise<number> {
  const c = await jetstream(nc).consumers.get(stream)
  const it = await c.consume({ max_messages: 1000 })
  const t0 = performance.now()
  let n = 0
  for await (const m of it) {
    if (m.data.length !== SIZE) throw new Error('bad payload')
    if (withHeaders && m.headers === undefined) throw new Error('no headers')
    if (++n === total) break
  }
  const rate = total / ((performance.now() - t0) / 1000)
  await it.close()
  return rate
}

async function sourceRead(
  nc: NatsConnection,
  stream: string,
  filter: string,
  total: number,
): Promise<number> {
  const source = new JetStreamSource({ nc }, { stream, filterSubject: filter, mode: 'catchup' })
  const t0 = performance.now()
  let n = 0
  for (;;) {
    const batch = await source.read()
    if (batch === null) break
    for (const m of batch) if (m.payload.length !== SIZE) throw new Error('bad payload')
    n += batch.length
  }
  const rate = n / ((performance.now() - t0) / 1000)
  await source.stop()
  if (n !== total) throw new Error(`source read ${n} of ${total}`)
  return rate
}

const fmt = (x: number): string => `${Math.round(x).toLocaleString('en-US')} msg/s`

async function main(): Promise<void> {
  await using ns = await NatsServer.start({ name: 'bench-nats' })
  // BENCH_NO_ASYNC_TRACES=1: nats.js then skips capturing a stack per request (two Error objects
  // per publish), which is a large share of the CPU cost of a publish.
  const noAsyncTraces = process.env.BENCH_NO_ASYNC_TRACES === '1'
  const nc = await connect({ servers: ns.url, noAsyncTraces })
  const jsm = await jetstreamManager(nc)
  const rates = {
    raw: [] as number[],
    rawId: [] as number[],
    sink: [] as number[],
    sinkChained: [] as number[],
  }
  for (let run = 0; run < 2; run++) {
    await freshStream(jsm, 'RAW')
    rates.raw.push(await rawPublish(nc, (i) => `raw.s${i % 8}`, false))
    await freshStream(jsm, 'RAWID')
    rates.rawId.push(await rawPublish(nc, (i) => `rawid.s${i % 8}`, true))
    await freshStream(jsm, 'SINK')
    rates.sink.push(await sinkPublish(nc, (i) => `sink.s${i % 8}`, run))
    await freshStream(jsm, 'CHAINED')
    rates.sinkChained.push(await sinkPublish(nc, (i) => `chained.s${i % 8}`, run, 'CHAINED'))
  }
  const best = (xs: number[]): number => Math.max(...xs)
  const reads = {
    ordered: [] as number[],
    orderedWithHeaders: [] as number[],
    source: [] as number[],
  }
  for (let run = 0; run < 2; run++) {
    reads.ordered.push(await orderedConsumerRead(nc, 'SINK', N, false))
    reads.orderedWithHeaders.push(await orderedConsumerRead(nc, 'SINK', N, true))
    reads.source.push(await sourceRead(nc, 'SINK', 'sink.>', N))
  }
  const filtered = await sourceRead(nc, 'SINK', 'sink.s3', N / 8)
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    messages: N,
    payloadBytes: SIZE,
    storage: 'file',
    noAsyncTraces,
    publish: {
      rawPipelined: fmt(best(rates.raw)),
      rawPipelinedWithMsgId: fmt(best(rates.rawId)),
      jetStreamSink: fmt(best(rates.sink)),
      sinkVsRaw: (best(rates.sink) / best(rates.raw)).toFixed(2),
      sinkVsRawWithMsgId: (best(rates.sink) / best(rates.rawId)).toFixed(2),
      jetStreamSinkChained: fmt(best(rates.sinkChained)),
      sinkChainedVsRawWithMsgId: (best(rates.sinkChained) / best(rates.rawId)).toFixed(2),
      runs: rates,
    },
    read: {
      natsjsOrderedConsumer: fmt(best(reads.ordered)),
      natsjsOrderedConsumerDecodingHeaders: fmt(best(reads.orderedWithHeaders)),
      jetStreamSource: fmt(best(reads.source)),
      sourceVsOrdered: (best(reads.source) / best(reads.ordered)).toFixed(2),
      sourceVsOrderedDecodingHeaders: (best(reads.source) / best(reads.orderedWithHeaders)).toFixed(
        2,
      ),
      jetStreamSourceFilteredOneOfEight: fmt(filtered),
      runs: reads,
    },
  }
  console.log(JSON.stringify(out, null, 2))
  await nc.close()
}

await main()

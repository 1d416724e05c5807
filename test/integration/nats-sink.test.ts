import assert from 'node:assert/strict'
import { test } from 'node:test'
import { StorageType } from '@nats-io/jetstream'
import { hasCode, type ErrorCode } from '../../src/errors/index.js'
import { WireHeaders, type HeaderList } from '../../src/nats/headers.js'
import { JetStreamSink, type SinkEvent } from '../../src/nats/sink.js'
import { NatsServer } from '../helpers/nats-server.js'
import { waitFor } from '../helpers/wait.js'
import {
  connectTo,
  equalBytes,
  manager,
  payloadFor,
  prng,
  readAll,
  type Stored,
} from './nats-helpers.js'

const fast = { minMs: 20, maxMs: 200 }

function userHeaders(stored: Stored): HeaderList {
  return stored.headers.filter(
    ([n]) =>
      n !== 'Nats-Msg-Id' && n !== 'Nats-Expected-Stream' && n !== 'Nats-Expected-Last-Msg-Id',
  )
}

function msgId(stored: Stored): string {
  return stored.headers.find(([n]) => n === 'Nats-Msg-Id')?.[1] ?? ''
}

/** Asserts each subject's messages appear in increasing write order. */
function assertPerSubjectOrder(stored: Stored[], indexOf: (s: Stored) => number): void {
  const last = new Map<string, number>()
  for (const s of stored) {
    const i = indexOf(s)
    const prev = last.get(s.subject)
    assert.ok(prev === undefined || prev < i, `${s.subject}: message ${i} stored after ${prev}`)
    last.set(s.subject, i)
  }
}

test('sink: 10k messages with varied subjects, headers and sizes 0 B..max_payload arrive once, in order, intact', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  const jsm = await manager(nc)
  await jsm.streams.add({ name: 'LOCAL', subjects: ['site.>'], storage: StorageType.File })
  const sink = new JetStreamSink({ nc }, { expectStream: 'LOCAL' })
  const maxPayload = nc.info?.max_payload ?? 0
  assert.equal(maxPayload, 1024 * 1024)

  const rand = prng(7)
  const N = 10_000
  const sites = ['berlin', 'paris', 'rome']
  // Boundary sizes at fixed positions: empty, tiny, around 1 KiB, around 16 KiB, and the largest
  // payload that still fits max_payload together with its headers.
  const special = new Map<number, number | 'max'>([
    [0, 0],
    [1, 1],
    [2, 1023],
    [3, 1024],
    [4, 1025],
    [5, 16 * 1024 - 1],
    [6, 16 * 1024],
    [7, 16 * 1024 + 1],
    [500, 'max'],
    [5000, 'max'],
    [9999, 'max'],
  ])
  const sent: Array<{ subject: string; headers: HeaderList; payload: Uint8Array }> = []
  for (let i = 0; i < N; i++) {
    const subject = `site.${sites[i % 3]}.dev${i % 7}.energy`
    const headers: HeaderList = [
      ['Trace-Id', `t-${i}`],
      ['X-Tag', 'a'],
      ['content-type', 'application/octet-stream'],
      ['X-Tag', `b${i % 5}`],
    ]
    const id = `m-${i}`
    let size: number
    const sp = special.get(i)
    if (sp === 'max') {
      const hdr = new WireHeaders([
        ...headers,
        ['Nats-Msg-Id', id],
        ['Nats-Expected-Stream', 'LOCAL'],
      ]).encode()
      size = maxPayload - hdr.length
    } else {
      size = sp ?? Math.floor(rand() * 2048)
    }
    const payload = payloadFor(i, size)
    sent.push({ subject, headers, payload })
    const index = await sink.write({ subject, headers, payload, msgId: id })
    assert.equal(index, i + 1)
  }
  await sink.flush({ signal: AbortSignal.timeout(60_000) })
  assert.equal(sink.ackedIndex, N)
  const st = sink.stats()
  assert.equal(st.acked, N)
  assert.equal(st.duplicates, 0)
  // Written faster than acks come back: most went out chained (acked by a later message).
  assert.ok(st.chained > N / 2, `chained: ${st.chained}`)
  assert.equal(st.chainBreaks, 0)
  assert.deepEqual(sink.health().status, 'Active')

  const stored = await readAll(nc, 'LOCAL')
  assert.equal(stored.length, N)
  const seen = new Set<string>()
  for (const s of stored) {
    const id = msgId(s)
    assert.ok(!seen.has(id), `duplicate ${id}`)
    seen.add(id)
    const i = Number(id.slice(2))
    const want = sent[i]
    assert.ok(want, id)
    assert.equal(s.subject, want.subject)
    assert.deepEqual(userHeaders(s), want.headers)
    assert.ok(equalBytes(s.payload, want.payload), `payload of ${id}`)
  }
  assert.equal(stored.filter((s) => s.payload.length > 1000_000).length, 3)
  assertPerSubjectOrder(stored, (s) => Number(msgId(s).slice(2)))
  await sink.stop()
})

test('sink: messages that can never be published are refused by write()', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  const sink = new JetStreamSink({ nc })
  const base = { headers: [] as HeaderList, payload: new Uint8Array(1), msgId: 'x' }
  const cases: Array<[Parameters<JetStreamSink['write']>[0], ErrorCode]> = [
    [{ ...base, subject: 'a.*' }, 'NATS_SUBJECT_INVALID'],
    [{ ...base, subject: 'a..b' }, 'NATS_SUBJECT_INVALID'],
    [{ ...base, subject: 'a', headers: [['bad name', 'v']] }, 'NATS_HEADER_INVALID'],
    [{ ...base, subject: 'a', headers: [['K', 'v\r\nX: y']] }, 'NATS_HEADER_INVALID'],
    [{ ...base, subject: 'a', msgId: '' }, 'NATS_HEADER_INVALID'],
    [{ ...base, subject: 'a', payload: new Uint8Array(1024 * 1024) }, 'NATS_PAYLOAD_TOO_LARGE'],
  ]
  for (const [msg, code] of cases) {
    await assert.rejects(sink.write(msg), (e) => hasCode(e, code), code)
  }
  assert.equal(sink.writtenIndex, 0)
  await sink.stop()
  await assert.rejects(sink.write({ ...base, subject: 'a' }), (e) =>
    hasCode(e, 'NATS_SINK_STOPPED'),
  )
})

test('sink: JetStream drops repeated msgIds as duplicates', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  const jsm = await manager(nc)
  await jsm.streams.add({ name: 'D', subjects: ['d.>'] })
  const sink = new JetStreamSink({ nc })
  const write = (i: number): Promise<number> =>
    sink.write({ subject: `d.${i % 3}`, headers: [], payload: payloadFor(i, 8), msgId: `d-${i}` })
  for (let i = 0; i < 100; i++) await write(i)
  for (let i = 0; i <= 100; i++) await write(i)
  await sink.flush({ signal: AbortSignal.timeout(10_000) })
  assert.equal(sink.stats().duplicates, 100)
  assert.equal(sink.ackedIndex, 201)
  const stored = await readAll(nc, 'D')
  assert.deepEqual(
    stored.map(msgId),
    Array.from({ length: 101 }, (_, i) => `d-${i}`),
  )
  await sink.stop()
})

test('sink: a subject no stream captures blocks with a visible error and resumes once a stream exists', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  const jsm = await manager(nc)
  const sink = new JetStreamSink({ nc }, { maxInFlight: 4, retry: fast })
  const events: SinkEvent[] = []
  sink.onEvent((e) => events.push(e))
  const write = (i: number): Promise<number> =>
    sink.write({
      subject: `late.s${i % 2}`,
      headers: [['N', String(i)]],
      payload: payloadFor(i, 16),
      msgId: `l-${i}`,
    })
  for (let i = 0; i < 4; i++) assert.equal(await write(i), i + 1)
  let fifthAccepted = false
  const fifth = write(4).then((n) => {
    fifthAccepted = true
    return n
  })
  await waitFor(() => sink.stats().failures['no-stream'] >= 3, {
    message: 'repeated no-stream failures',
  })
  const h = sink.health()
  assert.equal(h.status, 'Inactive')
  assert.match(h.lastError ?? '', /NATS_NO_STREAM/)
  assert.equal(sink.ackedIndex, 0)
  assert.equal(fifthAccepted, false, 'write() must wait while the window is full')
  assert.ok(events.some((e) => e.type === 'failure' && e.reason === 'no-stream'))

  await jsm.streams.add({ name: 'LATE', subjects: ['late.>'] })
  assert.equal(await fifth, 5)
  await sink.flush({ signal: AbortSignal.timeout(10_000) })
  assert.equal(sink.health().status, 'Active')
  assert.ok(events.some((e) => e.type === 'recovered'))
  const stored = await readAll(nc, 'LATE')
  assert.deepEqual(stored.map(msgId), ['l-0', 'l-1', 'l-2', 'l-3', 'l-4'])
  await sink.stop()
})

test('sink: a subject stored in another stream than expected is a visible wrong-stream failure', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  const jsm = await manager(nc)
  await jsm.streams.add({ name: 'OTHER', subjects: ['w.>'] })
  const sink = new JetStreamSink({ nc }, { expectStream: 'EXPECTED', retry: fast })
  await sink.write({ subject: 'w.1', headers: [], payload: new Uint8Array(0), msgId: 'w-1' })
  await waitFor(() => sink.stats().failures['wrong-stream'] >= 2)
  assert.match(sink.health().lastError ?? '', /NATS_WRONG_STREAM/)
  assert.equal(sink.ackedIndex, 0)
  await jsm.streams.delete('OTHER')
  await jsm.streams.add({ name: 'EXPECTED', subjects: ['w.>'] })
  await sink.flush({ signal: AbortSignal.timeout(10_000) })
  assert.deepEqual((await readAll(nc, 'EXPECTED')).map(msgId), ['w-1'])
  await sink.stop()
})

test('sink: after ack timeouts, messages that had landed are re-sent and dropped by JetStream as duplicates', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  const jsm = await manager(nc)
  await jsm.streams.add({ name: 'T', subjects: ['t.>'] })
  const sink = new JetStreamSink({ nc }, { publishTimeoutMs: 200, retry: fast })
  for (let i = 0; i < 50; i++) {
    await sink.write({
      subject: `t.${i % 4}`,
      headers: [],
      payload: payloadFor(i, 32),
      msgId: `t-${i}`,
    })
  }
  // The publishes went to the socket in a microtask; now the process stalls (as in a long GC
  // pause) past the ack timeout, so the acks waiting on the socket arrive after their requests
  // timed out.
  // Stalling inside setImmediate (check phase) makes the timers phase, where the ack timeouts
  // fire, come before the poll phase that would read the acks.
  await new Promise<void>((resolve) =>
    setImmediate(() => {
      const until = Date.now() + 400
      while (Date.now() < until) {
        // busy wait: block the event loop
      }
      resolve()
    }),
  )
  await sink.flush({ signal: AbortSignal.timeout(10_000) })
  const st = sink.stats()
  assert.ok(st.failures.timeout >= 1, `timeouts: ${st.failures.timeout}`)
  assert.ok(st.resent >= 50, `resent: ${st.resent}`)
  assert.equal(st.duplicates, 50)
  const stored = await readAll(nc, 'T')
  assert.deepEqual(
    stored.map(msgId),
    Array.from({ length: 50 }, (_, i) => `t-${i}`),
  )
  await sink.stop()
})

test('sink: a later message that landed before a re-sent earlier one on the same subject is reported as reordered', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  const jsm = await manager(nc)
  // A per-stream size limit rejects message 1 but accepts message 2 on the same subject.
  await jsm.streams.add({ name: 'R', subjects: ['r.>'], max_msg_size: 100 })
  const sink = new JetStreamSink({ nc }, { retry: fast })
  const events: SinkEvent[] = []
  sink.onEvent((e) => events.push(e))
  await sink.write({ subject: 'r.a', headers: [], payload: payloadFor(1, 200), msgId: 'r-1' })
  await sink.write({ subject: 'r.a', headers: [], payload: payloadFor(2, 10), msgId: 'r-2' })
  await waitFor(() => sink.stats().failures['too-large'] >= 2)
  assert.match(sink.health().lastError ?? '', /NATS_PAYLOAD_TOO_LARGE/)
  assert.equal(sink.ackedIndex, 0, 'the cursor never passes an unstored message')
  await jsm.streams.update('R', { max_msg_size: -1 })
  await sink.flush({ signal: AbortSignal.timeout(10_000) })
  assert.equal(sink.stats().reordered, 1)
  assert.match(sink.health().lastError ?? '', /NATS_REORDERED/)
  assert.ok(events.some((e) => e.type === 'reordered' && e.subject === 'r.a' && e.index === 2))
  assert.deepEqual((await readAll(nc, 'R')).map(msgId), ['r-2', 'r-1'])
  await sink.stop()
})

test('sink: chained, a message refused in the middle of a burst stops every message after it, so nothing is stored out of order', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  const jsm = await manager(nc)
  // The stream's size limit refuses message 1 (its refusal is not answered: it went out
  // chained) but would take the 299 after it on the same subject.
  await jsm.streams.add({ name: 'R', subjects: ['r.>'], max_msg_size: 100 })
  const sink = new JetStreamSink({ nc }, { expectStream: 'R', retry: fast })
  const events: SinkEvent[] = []
  sink.onEvent((e) => events.push(e))
  const N = 300
  for (let i = 1; i <= N; i++) {
    const payload = payloadFor(i, i === 1 ? 200 : 10)
    await sink.write({ subject: 'r.a', headers: [], payload, msgId: `r-${i}` })
  }
  await waitFor(() => sink.stats().failures['too-large'] >= 2)
  assert.ok(sink.stats().chainBreaks >= 1, 'the burst went out chained and broke at message 1')
  assert.match(sink.health().lastError ?? '', /NATS_PAYLOAD_TOO_LARGE/)
  assert.equal(sink.ackedIndex, 0)
  assert.equal((await jsm.streams.info('R')).state.messages, 0, 'nothing after message 1 landed')
  await jsm.streams.update('R', { max_msg_size: -1 })
  await sink.flush({ signal: AbortSignal.timeout(10_000) })
  const st = sink.stats()
  assert.equal(st.reordered, 0)
  assert.equal(st.duplicates, 0)
  assert.equal(sink.health().status, 'Active')
  assert.ok(events.some((e) => e.type === 'recovered'))
  assert.deepEqual(
    (await readAll(nc, 'R')).map(msgId),
    Array.from({ length: N }, (_, i) => `r-${i + 1}`),
  )
  await sink.stop()
})

test('sink: chained, another publisher writing into the same stream breaks chains quietly; every message lands once, in order', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  await using other = await connectTo(ns)
  const jsm = await manager(nc)
  await jsm.streams.add({ name: 'S', subjects: ['s.>'] })
  const sink = new JetStreamSink({ nc }, { expectStream: 'S', retry: fast })
  const events: SinkEvent[] = []
  sink.onEvent((e) => events.push(e))
  // A local publisher (no msgIds) writes into the stream while the sink writes bursts.
  let local = 0
  const stopLocal = new AbortController()
  const localWriter = (async () => {
    while (!stopLocal.signal.aborted) {
      await other.request('s.local', payloadFor(local++, 8), { timeout: 5_000 })
    }
  })()
  const N = 20_000
  for (let i = 0; i < N; i++) {
    await sink.write({
      subject: `s.r${i % 3}`,
      headers: [],
      payload: payloadFor(i, 16),
      msgId: `s-${i}`,
    })
  }
  await sink.flush({ signal: AbortSignal.timeout(60_000) })
  stopLocal.abort()
  await localWriter
  const st = sink.stats()
  assert.ok(local > 10, `local publishes: ${local}`)
  assert.ok(st.chainBreaks >= 1, `chain breaks: ${st.chainBreaks}`)
  assert.ok(st.chained > 0)
  assert.equal(st.reordered, 0)
  assert.equal(
    events.filter((e) => e.type === 'failure' || e.type === 'recovered').length,
    0,
    'a chain broken by another publisher is not a failure',
  )
  assert.equal(sink.health().status, 'Active')
  assert.equal(sink.health().lastError, null)
  const stored = (await readAll(nc, 'S')).filter((s) => s.subject !== 's.local')
  const ids = stored.map(msgId)
  assert.equal(new Set(ids).size, N, 'each once')
  assert.equal(ids.length, N)
  assertPerSubjectOrder(stored, (s) => Number(msgId(s).slice(2)))
  await sink.stop()
})

test('sink: JetStream control headers of the origin are replaced by the sink’s own', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  const jsm = await manager(nc)
  await jsm.streams.add({ name: 'C', subjects: ['c.>'] })
  const sink = new JetStreamSink({ nc }, { expectStream: 'C' })
  const headers: HeaderList = [
    ['A', '1'],
    ['Nats-Msg-Id', 'origin-id'],
    ['Nats-Expected-Last-Sequence', '99'],
    ['Nats-Rollup', 'all'],
    ['B', '2'],
  ]
  await sink.write({ subject: 'c.x', headers, payload: new Uint8Array(3), msgId: 'mine' })
  await sink.flush({ signal: AbortSignal.timeout(5_000) })
  const [stored] = await readAll(nc, 'C')
  assert.deepEqual(stored?.headers, [
    ['A', '1'],
    ['B', '2'],
    ['Nats-Msg-Id', 'mine'],
    ['Nats-Expected-Stream', 'C'],
  ])
  assert.equal(sink.stats().controlHeadersDropped, 1)
  await sink.stop()
})

test('sink: a nats-server restart mid-stream loses nothing and stores nothing twice', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  const jsm = await manager(nc)
  await jsm.streams.add({ name: 'F', subjects: ['f.>'], storage: StorageType.File })
  const sink = new JetStreamSink({ nc }, { publishTimeoutMs: 1_000, retry: fast })
  const N = 20_000
  let restart: Promise<void> | undefined
  for (let i = 0; i < N; i++) {
    if (i === 6_000) {
      restart = (async () => {
        await ns.stop()
        await ns.start()
      })()
    }
    await sink.write({
      subject: `f.s${i % 5}`,
      headers: [['I', String(i)]],
      payload: payloadFor(i, 64),
      msgId: `f-${i}`,
    })
  }
  await restart
  await sink.flush({ signal: AbortSignal.timeout(60_000) })
  const st = sink.stats()
  const failures = Object.values(st.failures).reduce((a, b) => a + b, 0)
  assert.ok(failures > 0, 'the restart must have interrupted publishing')
  assert.equal(st.reordered, 0)
  const stored = await readAll(nc, 'F')
  const ids = stored.map(msgId)
  assert.equal(new Set(ids).size, ids.length, 'no duplicates')
  assert.equal(ids.length, N, 'no loss')
  assertPerSubjectOrder(stored, (s) => Number(msgId(s).slice(2)))
  await sink.stop()
})

test('sink: publishes in flight when the connection drops are re-sent before anything newer (a slow writer, default ack timeout)', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  const jsm = await manager(nc)
  await jsm.streams.add({ name: 'D', subjects: ['d.>'], storage: StorageType.File })
  const sink = new JetStreamSink({ nc }, { retry: fast })
  const events: SinkEvent[] = []
  sink.onEvent((e) => events.push(e))
  const N = 3_000
  let restart: Promise<void> | undefined
  for (let i = 0; i < N; i++) {
    if (i === 500) {
      restart = (async () => {
        await ns.kill()
        await ns.start()
      })()
    }
    await sink.write({
      subject: `d.s${i % 3}`,
      headers: [['I', String(i)]],
      payload: payloadFor(i, 32),
      msgId: `d-${i}`,
    })
    // a trickle, so the window never fills while the server is down
    await new Promise((r) => setTimeout(r, 1))
  }
  await restart
  await sink.flush({ signal: AbortSignal.timeout(60_000) })
  assert.ok(
    events.some((e) => e.type === 'failure' && e.reason === 'disconnected'),
    'the drop was seen as a disconnect',
  )
  assert.equal(sink.stats().reordered, 0, 'nothing newer landed before a re-sent message')
  const stored = await readAll(nc, 'D')
  const ids = stored.map(msgId)
  assert.equal(new Set(ids).size, ids.length, 'no duplicates')
  assert.equal(ids.length, N, 'no loss')
  assertPerSubjectOrder(stored, (s) => Number(msgId(s).slice(2)))
  await sink.stop()
})

test('sink: messages written while the connection is down (none in flight when it dropped) are stored in order after the reconnect', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  const jsm = await manager(nc)
  await jsm.streams.add({ name: 'E', subjects: ['e.>'], storage: StorageType.File })
  const sink = new JetStreamSink({ nc }, { retry: fast })
  const write = (i: number): Promise<number> =>
    sink.write({
      subject: `e.s${i % 2}`,
      headers: [['I', String(i)]],
      payload: payloadFor(i, 16),
      msgId: `e-${i}`,
    })
  for (let i = 0; i < 100; i++) await write(i)
  await sink.flush({ signal: AbortSignal.timeout(10_000) })
  await ns.stop() // nothing in flight
  let i = 100
  // written while the server is down and while it comes back, then after
  const restart = ns.start()
  let restarted = false
  void restart.then(() => (restarted = true))
  while (!restarted) {
    await write(i++)
    await new Promise((r) => setTimeout(r, 2))
  }
  for (const end = i + 500; i < end; i++) {
    await write(i)
    await new Promise((r) => setTimeout(r, 1))
  }
  await sink.flush({ signal: AbortSignal.timeout(60_000) })
  assert.equal(sink.stats().reordered, 0)
  const stored = await readAll(nc, 'E')
  const ids = stored.map(msgId)
  assert.equal(new Set(ids).size, ids.length, 'no duplicates')
  assert.equal(ids.length, i, 'no loss')
  assertPerSubjectOrder(stored, (s) => Number(msgId(s).slice(2)))
  await sink.stop()
})

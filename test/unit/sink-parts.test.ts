/**
 * The sink's window and recovery as pure logic (no server): backpressure and
 * the acked cursor; probe-then-resend order after a failure; reorder detection.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SendWindow } from '../../src/nats/send-window.js'
import {
  ReorderCheck,
  SinkRecovery,
  type RecoverableEntry,
  type RecoveryHost,
} from '../../src/nats/sink-recovery.js'
import { Backoff } from '../../src/util/backoff.js'

type E = RecoverableEntry

function entry(subject = 's', bytes = 10): E {
  return { index: 0, bytes, state: 'queued', subject, seq: 0 }
}

async function push(w: SendWindow<E>, e: E): Promise<number> {
  await w.reserve(e.bytes)
  return w.push(e)
}

describe('SendWindow', () => {
  it('numbers entries, moves the cursor over the acknowledged prefix only, and wakes waiters', async () => {
    const w = new SendWindow<E>({ maxInFlight: 10, maxInFlightBytes: 1000 })
    const es = [entry(), entry(), entry()]
    for (const e of es) await push(w, e)
    assert.deepEqual(
      es.map((e) => e.index),
      [1, 2, 3],
    )
    let acked2 = false
    const wait = w.waitForAck(2).then(() => (acked2 = true))
    es[1]!.state = 'acked'
    assert.deepEqual(w.advance(), [], 'a gap at 1 holds the cursor')
    assert.equal(w.ackedIndex, 0)
    es[0]!.state = 'acked'
    assert.deepEqual(
      w.advance().map((e) => e.index),
      [1, 2],
    )
    await wait
    assert.ok(acked2)
    assert.equal(w.ackedIndex, 2)
    assert.equal(w.unacked, 1)
    assert.equal(w.firstUnacked(), es[2])
  })

  it('holds writers while full (by count and by bytes), in arrival order', async () => {
    const w = new SendWindow<E>({ maxInFlight: 2, maxInFlightBytes: 25 })
    const a = entry('s', 10)
    const b = entry('s', 10)
    await push(w, a)
    await push(w, b)
    const order: string[] = []
    const c = entry('s', 10)
    const d = entry('s', 1)
    const pc = w.reserve(c.bytes).then(() => order.push('c'))
    const pd = w.reserve(d.bytes).then(() => order.push('d'))
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(order, [], 'count limit holds both')
    a.state = 'acked'
    w.advance()
    await pc
    w.push(c)
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(order, ['c'], 'd waits behind c, then for room')
    b.state = 'acked'
    w.advance()
    await pd
    assert.deepEqual(order, ['c', 'd'])
  })

  it('a writer whose signal aborts leaves the queue; rejectWriters fails the rest', async () => {
    const w = new SendWindow<E>({ maxInFlight: 1, maxInFlightBytes: 100 })
    await push(w, entry())
    const ac = new AbortController()
    const aborted = w.reserve(10, ac.signal)
    const rejected = w.reserve(10)
    ac.abort(new Error('gone'))
    await assert.rejects(aborted, /gone/)
    w.rejectWriters(new Error('stopped'))
    await assert.rejects(rejected, /stopped/)
  })
})

describe('ReorderCheck', () => {
  it('finds a later message of the same subject stored before a re-sent earlier one', () => {
    const c = new ReorderCheck()
    c.begin(3)
    assert.ok(c.active && c.covers(3) && !c.covers(4))
    const e = (index: number, subject: string, seq: number): E => ({
      ...entry(subject),
      index,
      seq,
    })
    assert.equal(c.check(e(1, 'a', 10)), undefined)
    assert.equal(c.check(e(2, 'b', 5)), undefined, 'other subjects do not matter')
    assert.equal(c.check(e(3, 'a', 7)), 10)
    assert.ok(!c.active, 'the pass ends at its last index')
  })
})

/** A scripted host: `outcomes` says how each send ends (true: acked, false: failed). */
function host(w: SendWindow<E>, outcomes: boolean[]): RecoveryHost<E> & { sent: number[] } {
  const sent: number[] = []
  return {
    window: w,
    sent,
    send(e) {
      sent.push(e.index)
      e.state = (outcomes.shift() ?? true) ? 'acked' : 'queued'
    },
    settled: async () => {},
    connected: async () => {},
    sleep: async () => {},
    onRetry: () => {},
  }
}

describe('SinkRecovery', () => {
  it('probes with the first unacknowledged message until it is stored, then re-sends the rest in order', async () => {
    const w = new SendWindow<E>({ maxInFlight: 10, maxInFlightBytes: 1000 })
    const es = [entry(), entry(), entry(), entry()]
    for (const e of es) await push(w, e)
    es[0]!.state = 'acked'
    w.advance()
    es[2]!.state = 'acked' // 3 was stored, 2 was not: 2 goes first
    const h = host(w, [false, false, true])
    const r = new SinkRecovery(h, new Backoff({ minMs: 1, maxMs: 1 }))
    const out = await r.run(new AbortController().signal)
    assert.deepEqual(out, { fromIndex: 2, attempts: 3 })
    assert.deepEqual(h.sent, [2, 2, 2], 'only the probe goes out until it is stored')
    assert.equal(es[2]!.state, 'acked', 'a message JetStream acknowledged is not sent again')
    r.resend()
    assert.deepEqual(h.sent, [2, 2, 2, 4])
    assert.equal(r.resent, 4)
  })

  it('waits for the connection before probing, and stops when its signal aborts', async () => {
    const w = new SendWindow<E>({ maxInFlight: 10, maxInFlightBytes: 1000 })
    await push(w, entry())
    const h = host(w, [])
    const ac = new AbortController()
    h.connected = async (signal) => {
      ac.abort(new Error('stopped'))
      signal.throwIfAborted()
    }
    const r = new SinkRecovery(h, new Backoff({ minMs: 1, maxMs: 1 }))
    await assert.rejects(r.run(ac.signal), /stopped/)
    assert.deepEqual(h.sent, [], 'nothing is sent while disconnected')
  })
})

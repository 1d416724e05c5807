import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { hasCode } from '../../src/errors/index.js'
import {
  encodeHeaderBlock,
  hasRhioProvenance,
  isJetStreamControlHeader,
  parseHeaderBlock,
  WireHeaders,
  type HeaderList,
} from '../../src/nats/headers.js'
import { parseAckReply } from '../../src/nats/pull.js'
import { Backoff } from '../../src/util/backoff.js'
import { validateFilterSubject, validatePublishSubject } from '../../src/nats/subjects.js'
import { WaitQueue } from '../../src/util/wait-queue.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)

test('parseHeaderBlock keeps wire order, case, repeats and value whitespace', () => {
  const p = parseHeaderBlock(
    enc('NATS/1.0\r\nA: 1\r\nb: 2\r\nA: 3\r\nx-Y:   spaced  \r\nE: \r\nUtf: grüße\r\n\r\n'),
  )
  assert.deepEqual(p.headers, [
    ['A', '1'],
    ['b', '2'],
    ['A', '3'],
    ['x-Y', '  spaced  '],
    ['E', ''],
    ['Utf', 'grüße'],
  ])
  assert.equal(p.code, 0)
  assert.equal(p.malformed, 0)
  assert.equal(p.lossy, false)
})

test('parseHeaderBlock reports status lines, lines without a colon and invalid UTF-8', () => {
  const p = parseHeaderBlock(
    enc('NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 3\r\nbogus\r\n\r\n'),
  )
  assert.equal(p.code, 408)
  assert.equal(p.description, 'Request Timeout')
  assert.deepEqual(p.headers, [['Nats-Pending-Messages', '3']])
  assert.equal(p.malformed, 1)
  const bad = new Uint8Array([...enc('NATS/1.0\r\nK: '), 0xff, 0xfe, ...enc('\r\n\r\n')])
  const q = parseHeaderBlock(bad)
  assert.equal(q.lossy, true)
  assert.equal(q.headers[0]?.[0], 'K')
})

test('a line without the space after the colon is read, and written with it (documented)', () => {
  const p = parseHeaderBlock(enc('NATS/1.0\r\nA:1\r\n\r\n'))
  assert.deepEqual(p.headers, [['A', '1']])
  assert.equal(dec(encodeHeaderBlock(p.headers)), 'NATS/1.0\r\nA: 1\r\n\r\n')
})

test('encode then parse is the identity for valid header lists (property)', () => {
  const name = fc.stringMatching(/^[!-9;-~]{1,20}$/)
  const value = fc.string({ maxLength: 40 }).filter((s) => !/[\r\n]/.test(s))
  fc.assert(
    fc.property(fc.array(fc.tuple(name, value), { maxLength: 12 }), (list) => {
      const back = parseHeaderBlock(encodeHeaderBlock(list as HeaderList))
      assert.deepEqual(back.headers, list)
      assert.equal(back.malformed, 0)
    }),
  )
})

test('encodeHeaderBlock rejects names and values that cannot go on the wire', () => {
  for (const bad of [
    [['', 'v']],
    [['a b', 'v']],
    [['a:b', 'v']],
    [['ä', 'v']],
    [['a', 'x\r\ny']],
  ] as HeaderList[]) {
    assert.throws(
      () => encodeHeaderBlock(bad),
      (e) => hasCode(e, 'NATS_HEADER_INVALID'),
    )
  }
})

test('WireHeaders encodes its lines in order and set() replaces case-insensitively', () => {
  const h = new WireHeaders([
    ['A', '1'],
    ['nats-msg-id', 'user'],
    ['A', '2'],
  ])
  h.set('Nats-Msg-Id', 'mine')
  assert.equal(dec(h.encode()), 'NATS/1.0\r\nA: 1\r\nA: 2\r\nNats-Msg-Id: mine\r\n\r\n')
  assert.deepEqual(h.values('a'), ['1', '2'])
  assert.equal(h.get('NATS-MSG-ID'), 'mine')
  assert.equal(h.last('A'), '2')
  assert.deepEqual(h.keys(), ['A', 'Nats-Msg-Id'])
  assert.deepEqual(
    [...h],
    [
      ['A', ['1', '2']],
      ['Nats-Msg-Id', ['mine']],
    ],
  )
  h.delete('a')
  assert.equal(h.has('A'), false)
  assert.equal(h.code, 0)
})

test('hasRhioProvenance matches either rhio header in any case', () => {
  assert.equal(hasRhioProvenance([['A', '1']]), false)
  assert.equal(hasRhioProvenance([['X-Rhio-PublicKey', 'ab']]), true)
  assert.equal(hasRhioProvenance([['x-rhio-signature', 'ab']]), true)
  assert.equal(hasRhioProvenance([['X-RHIO-SIGNATURE', '']]), true)
  assert.equal(hasRhioProvenance([['X-Rhio-Other', 'ab']]), false)
})

test('isJetStreamControlHeader covers dedup, expectations, rollups, TTLs, batches', () => {
  for (const n of [
    'Nats-Msg-Id',
    'nats-expected-stream',
    'Nats-Expected-Last-Sequence',
    'Nats-Rollup',
    'Nats-TTL',
    'Nats-Batch-Id',
  ]) {
    assert.equal(isJetStreamControlHeader(n), true, n)
  }
  for (const n of ['Nats-Service', 'X-Msg-Id', 'Content-Type'])
    assert.equal(isJetStreamControlHeader(n), false, n)
})

test('parseAckReply reads v1 and v2 JetStream ack subjects', () => {
  assert.deepEqual(parseAckReply('$JS.ACK.S.c1.1.42.7.1700000000000000000.5'), {
    seq: 42,
    dseq: 7,
    timeNs: '1700000000000000000',
    pending: 5,
  })
  assert.deepEqual(parseAckReply('$JS.ACK.hub.ACCHASH.S.c1.1.42.7.1700000000000000000.5.tok'), {
    seq: 42,
    dseq: 7,
    timeNs: '1700000000000000000',
    pending: 5,
  })
  assert.equal(parseAckReply('_INBOX.x'), undefined)
  assert.equal(parseAckReply('$JS.ACK.S.c1.1.x.7.1.5'), undefined)
})

test('subject validation: publish subjects have no wildcards; filters use them as whole tokens', () => {
  validatePublishSubject('site.berlin.energy')
  validateFilterSubject('site.*.energy')
  validateFilterSubject('site.>')
  validateFilterSubject('>')
  for (const s of ['', 'a..b', 'a.*', 'a.>', 'a b']) {
    assert.throws(
      () => validatePublishSubject(s),
      (e) => hasCode(e, 'NATS_SUBJECT_INVALID'),
      s,
    )
  }
  for (const s of ['a.>.b', 'a.b*', 'a.>x', '.a']) {
    assert.throws(
      () => validateFilterSubject(s),
      (e) => hasCode(e, 'NATS_SUBJECT_INVALID'),
      s,
    )
  }
})

test('Backoff doubles from min to max with bounded jitter and resets', () => {
  const fixed = new Backoff({ minMs: 100, maxMs: 1000, jitter: 0 })
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => fixed.next()),
    [100, 200, 400, 800, 1000],
  )
  fixed.reset()
  assert.equal(fixed.next(), 100)
  const low = new Backoff({ minMs: 100, maxMs: 5000 }, () => 0)
  const high = new Backoff({ minMs: 100, maxMs: 5000 }, () => 0.999)
  assert.equal(low.next(), 75)
  assert.equal(high.next(), 125)
  for (let i = 0; i < 20; i++) assert.ok(high.next() <= 5000)
})

test('WaitQueue releases from the front in order, anywhere by predicate, and on abort', async () => {
  const q = new WaitQueue<number>()
  const order: number[] = []
  const a = q.wait(1).then(() => order.push(1))
  const b = q.wait(5).then(() => order.push(5))
  const c = q.wait(2).then(() => order.push(2))
  q.releaseFront((v) => v < 3) // releases 1, stops at 5 although 2 would fit
  await a
  assert.deepEqual(order, [1])
  q.releaseWhere((v) => v === 2)
  await c
  assert.deepEqual(order, [1, 2])
  const ac = new AbortController()
  let abandoned = 0
  const d = q.wait(9, ac.signal, () => abandoned++)
  ac.abort(new Error('gone'))
  await assert.rejects(d, /gone/)
  assert.equal(abandoned, 1)
  assert.equal(q.length, 1)
  q.rejectAll(new Error('stopped'))
  await assert.rejects(b, /stopped/)
  assert.equal(q.length, 0)
})

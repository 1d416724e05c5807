import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import * as zlib from 'node:zlib'
import { test } from 'node:test'
import fc from 'fast-check'
import { encodeSignedBatch } from '../../src/core/batch.js'
import { Writer } from '../../src/core/codec.js'
import { crc32, crc32Table } from '../../src/core/crc32.js'
import {
  PEEK_BYTES,
  RECORD_HEADER_BYTES,
  checksumMatches,
  decodeBatchPayload,
  encodeAdvanceRecord,
  encodeBatchRecord,
  encodeRestartRecord,
  peekRecord,
} from '../../src/log/segment-format.js'
import { makeBatch, plain, subsetOf } from '../helpers/batches.js'

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s)

test('CRC-32 is the IEEE one (check value), natively and by table, also when continued', () => {
  assert.equal(crc32(ascii('123456789')), 0xcbf43926)
  assert.equal(crc32Table(ascii('123456789')), 0xcbf43926)
  assert.equal(crc32(new Uint8Array(0)), 0)
  for (const n of [1, 7, 8, 9, 1023, 1024, 1025, 65_537]) {
    const data = randomBytes(n)
    assert.equal(crc32Table(data), crc32(data), `length ${n}`)
    const split = n >> 1
    assert.equal(crc32Table(data.subarray(split), crc32Table(data.subarray(0, split))), crc32(data))
  }
  const native = (zlib as { crc32?: unknown }).crc32
  if (typeof native === 'function') assert.equal(crc32(ascii('abc')), native(ascii('abc')))
})

test('a batch record is length, CRC, type 1, the signed batch encoding and the leaf hashes', () => {
  const stored = subsetOf(makeBatch(10, 6, { payload: 40 }), [1, 4])
  const rec = encodeBatchRecord(stored)
  const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength)
  const payload = rec.subarray(RECORD_HEADER_BYTES)
  assert.equal(view.getUint32(0, true), payload.length)
  assert.equal(view.getUint32(4, true), crc32(payload))
  assert.ok(checksumMatches(payload, view.getUint32(4, true)))
  const w = new Writer()
  encodeSignedBatch(w, stored.batch)
  const wire = w.finish()
  assert.equal(payload[0], 1)
  assert.deepEqual(payload.subarray(1, 1 + wire.length), wire)
  assert.deepEqual(
    payload.subarray(1 + wire.length),
    new Uint8Array(Buffer.concat(stored.leaves.map((l) => Buffer.from(l)))),
  )
  assert.deepEqual(plain(decodeBatchPayload(payload)), plain(stored))
  const peek = peekRecord(payload.subarray(0, PEEK_BYTES), payload.length)
  assert.deepEqual(peek, { ok: true, peek: { type: 'batch', firstSeq: 10, lastSeq: 15 } })
})

test('advance and restart records carry one seq', () => {
  for (const [rec, want] of [
    [encodeAdvanceRecord(2 ** 40), { type: 'advance', through: 2 ** 40 }],
    [encodeRestartRecord(77), { type: 'restart', start: 77 }],
  ] as const) {
    const payload = rec.subarray(RECORD_HEADER_BYTES)
    assert.deepEqual(peekRecord(payload, payload.length), { ok: true, peek: want })
    assert.throws(() => decodeBatchPayload(payload))
  }
})

test('a batch record with leaves that do not match its items is refused', () => {
  const stored = makeBatch(1, 3)
  assert.throws(() => encodeBatchRecord({ ...stored, leaves: stored.leaves.slice(1) }), RangeError)
})

test('peeking at arbitrary bytes never throws', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(10_000), (bytes, extra) => {
      const r = peekRecord(bytes, bytes.length + (extra % 2 ? extra : 0))
      assert.equal(typeof r.ok, 'boolean')
    }),
    { numRuns: 2000 },
  )
})

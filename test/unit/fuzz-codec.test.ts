/**
 * Fuzzing the canonical codec and the signed-data decoders (entries, batch
 * headers, signed batches): on any input they return a value or throw a
 * DecodeError (a RhioError), never another exception; valid encodings
 * round-trip; mutated ones either decode to something that re-encodes to the
 * same bytes or are rejected.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { decodeHeader, decodeSignedBatch, encodeHeader } from '../../src/core/batch.js'
import { DecodeError, Reader, Writer } from '../../src/core/codec.js'
import { decodeEntry, encodeEntry } from '../../src/core/entry.js'
import { RhioError } from '../../src/errors/index.js'
import { fuzzParams, mutated, noiseBytes, typedOnly } from '../helpers/fuzz.js'
import {
  FUZZ_LIMITS,
  batchWireArb,
  encodeBatchWire,
  entryArb,
  headerArb,
  headerBytesArb,
} from '../helpers/wire-arbitraries.js'

type ReaderOp =
  | { op: 'u8' | 'u32' | 'u64' | 'varint' | 'end' }
  | { op: 'raw'; n: number }
  | { op: 'bytes' | 'string'; max: number }

const readerOp: fc.Arbitrary<ReaderOp> = fc.oneof(
  fc.constantFrom(
    { op: 'u8' as const },
    { op: 'u32' as const },
    { op: 'u64' as const },
    { op: 'varint' as const },
    { op: 'end' as const },
  ),
  fc.record({ op: fc.constant('raw' as const), n: fc.nat({ max: 300 }) }),
  fc.record({
    op: fc.constantFrom('bytes' as const, 'string' as const),
    max: fc.constantFrom(0, 1, 16, 65_535),
  }),
)

test('Reader primitives on random bytes: values or DecodeError, offsets stay in bounds', () => {
  fc.assert(
    fc.property(noiseBytes(64), fc.array(readerOp, { maxLength: 12 }), (bytes, ops) => {
      const r = new Reader(bytes)
      for (const o of ops) {
        const before = r.offset
        let v: unknown
        try {
          switch (o.op) {
            case 'raw':
              v = r.raw(o.n)
              assert.equal((v as Uint8Array).length, o.n)
              break
            case 'bytes':
              v = r.bytes(o.max)
              assert.ok((v as Uint8Array).length <= o.max)
              break
            case 'string':
              v = r.string(o.max)
              break
            default:
              v = r[o.op]()
          }
        } catch (err) {
          assert.ok(err instanceof DecodeError, `${o.op} threw ${String(err)}`)
          return // a reader is not used after an error
        }
        if (typeof v === 'number') assert.ok(Number.isSafeInteger(v) && v >= 0)
        assert.ok(r.offset >= before && r.offset <= bytes.length)
        assert.equal(r.remaining, bytes.length - r.offset)
      }
    }),
    fuzzParams(),
  )
})

test('varint and u64 round-trip every safe integer; non-minimal varints are rejected', () => {
  fc.assert(
    fc.property(fc.maxSafeNat(), (n) => {
      const bytes = new Writer().varint(n).u64(n).finish()
      const r = new Reader(bytes)
      assert.equal(r.varint(), n)
      assert.equal(r.u64(), n)
      r.end()
      // the same value with a redundant continuation byte
      const v = new Writer().varint(n).finish()
      const padded = Uint8Array.of(...v.slice(0, -1), v.at(-1)! | 0x80, 0)
      if (padded.length <= 8) assert.throws(() => new Reader(padded).varint(), DecodeError)
    }),
    fuzzParams(),
  )
})

test('decodeEntry: random bytes give an entry or a DecodeError', () => {
  fc.assert(
    fc.property(noiseBytes(200, [1, 2, 3]), (bytes) => {
      const r = typedOnly(() => decodeEntry(bytes, 1024), bytes)
      // whatever decodes is canonical: it encodes to exactly the input
      if (!(r instanceof RhioError)) assert.deepEqual(encodeEntry(r), bytes)
    }),
    fuzzParams(),
  )
})

test('decodeEntry: valid entries round-trip; mutations decode canonically or fail typed', () => {
  fc.assert(
    fc.property(entryArb, (e) => {
      assert.deepEqual(decodeEntry(encodeEntry(e)), e)
    }),
    fuzzParams(2_000),
  )
  fc.assert(
    fc.property(mutated(entryArb.map(encodeEntry)), ({ bytes }) => {
      const r = typedOnly(() => decodeEntry(bytes, 1024), bytes)
      if (!(r instanceof RhioError)) assert.deepEqual(encodeEntry(r), bytes)
    }),
    fuzzParams(),
  )
})

test('decodeHeader: valid headers round-trip; random and mutated bytes fail typed', () => {
  fc.assert(
    fc.property(headerArb, (h) => {
      assert.deepEqual(decodeHeader(encodeHeader(h)), h)
    }),
    fuzzParams(2_000),
  )
  const tagged = noiseBytes(160).map((b) =>
    Uint8Array.of(...new TextEncoder().encode('rhio/batch/1\0'), ...b),
  )
  fc.assert(
    fc.property(fc.oneof(noiseBytes(200), tagged), (bytes) => {
      const r = typedOnly(() => decodeHeader(bytes), bytes)
      if (!(r instanceof RhioError)) assert.deepEqual(encodeHeader(r), bytes)
    }),
    fuzzParams(),
  )
  fc.assert(
    fc.property(mutated(headerBytesArb), ({ bytes }) => {
      const r = typedOnly(() => decodeHeader(bytes), bytes)
      if (!(r instanceof RhioError)) assert.deepEqual(encodeHeader(r), bytes)
    }),
    fuzzParams(),
  )
})

test('decodeSignedBatch: random and mutated wire bytes give a batch or a DecodeError', () => {
  const decode = (bytes: Uint8Array) => (): Uint8Array => {
    const r = new Reader(bytes)
    const b = decodeSignedBatch(r, FUZZ_LIMITS)
    r.end()
    assert.ok(b.items.length <= FUZZ_LIMITS.maxEntries)
    assert.ok(b.items.every((it) => it.bytes.length <= FUZZ_LIMITS.maxEntryBytes))
    assert.equal(b.signature.length, 64)
    assert.ok(b.proof.every((p) => p.length === 32))
    return encodeBatchWire(b)
  }
  fc.assert(
    fc.property(noiseBytes(400), (bytes) => {
      const r = typedOnly(decode(bytes), bytes)
      if (!(r instanceof RhioError)) assert.deepEqual(r, bytes)
    }),
    fuzzParams(),
  )
  fc.assert(
    fc.property(mutated(batchWireArb), ({ bytes }) => {
      const r = typedOnly(decode(bytes), bytes)
      if (!(r instanceof RhioError)) assert.deepEqual(r, bytes)
    }),
    fuzzParams(),
  )
})

/**
 * Fuzzing the blob protocol's peer input: iroh GetRequest / RangeSpec /
 * RangeSpecSeq decoding (BLOB_REQUEST_INVALID or a value, nothing else), the
 * provider answering whatever ranges a peer asks for, and the verifying
 * BaoDecoder fed random and mutated responses (BLOB_VERIFY_FAILED or verified
 * bytes that equal the blob's, never anything else).
 */
import assert from 'node:assert/strict'
import { before, test } from 'node:test'
import fc from 'fast-check'
import {
  BaoDecoder,
  ChunkRanges,
  RangeSpecSeq,
  U64_MAX,
  decodeGetRequest,
  decodeRangeSpec,
  encodeGetRequest,
  encodeRangeSpec,
  type DecodeEvent,
  type OutboardResult,
} from '../../src/bao/index.js'
import { decodeResponseFrame, encodeDataFrame, encodeErrorFrame } from '../../src/blobs/wire.js'
import { RhioError } from '../../src/errors/index.js'
import { encodeToBuffer, noise, outboardOf } from '../helpers/bao.js'
import {
  applyMutations,
  fuzzParams,
  mutated,
  mutationsArb,
  noiseBytes,
  typedOnly,
  typedOnlyAsync,
} from '../helpers/fuzz.js'

const chunkNum = fc.oneof(
  fc.nat({ max: 200 }),
  fc.constantFrom(0n, 1n, 15n, 16n, 17n, 2n ** 53n, U64_MAX - 1n, U64_MAX),
)

const rangesArb: fc.Arbitrary<ChunkRanges> = fc
  .array(chunkNum, { maxLength: 6 })
  .map((xs) => [...new Set(xs.map((x) => BigInt(x)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
  .map((bs) => ChunkRanges.fromBoundaries(bs))

const seqArb: fc.Arbitrary<RangeSpecSeq> = fc
  .array(fc.tuple(fc.oneof(fc.nat({ max: 4 }), fc.constant(2 ** 40)), rangesArb), { maxLength: 4 })
  .map((entries) =>
    RangeSpecSeq.fromEntries(entries.map(([run, ranges]) => ({ run: BigInt(run), ranges }))),
  )

const requestBytes = fc
  .tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), seqArb)
  .map(([hash, ranges]) => encodeGetRequest({ hash, ranges }))

test('decodeRangeSpec: valid specs round-trip; random and mutated bytes fail typed', () => {
  fc.assert(
    fc.property(rangesArb, (r) => {
      assert.ok(decodeRangeSpec(encodeRangeSpec(r)).equals(r))
    }),
    fuzzParams(2_000),
  )
  fc.assert(
    fc.property(
      fc.oneof(
        noiseBytes(64),
        mutated(rangesArb.map(encodeRangeSpec)).map((m) => m.bytes),
      ),
      (bytes) => {
        const r = typedOnly(() => decodeRangeSpec(bytes), bytes)
        // postcard accepts non-minimal varints, so only the meaning round-trips
        if (!(r instanceof RhioError)) assert.ok(decodeRangeSpec(encodeRangeSpec(r)).equals(r))
      },
    ),
    fuzzParams(),
  )
})

test('decodeGetRequest / RangeSpecSeq: random and mutated requests fail typed; decoded ones are usable', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        noiseBytes(128, [0]),
        mutated(requestBytes).map((m) => m.bytes),
      ),
      fc.constantFrom(0, 1, 2, 2 ** 40, 2 ** 53 - 1),
      (bytes, index) => {
        const req = typedOnly(() => decodeGetRequest(bytes), bytes)
        if (req instanceof RhioError) return
        assert.equal(req.hash.length, 32)
        const again = decodeGetRequest(encodeGetRequest(req))
        assert.deepEqual(again.hash, req.hash)
        assert.deepEqual(again.ranges.encode(), req.ranges.encode())
        // what a provider does with a request must not throw either
        assert.ok(req.ranges.get(index) instanceof ChunkRanges)
        assert.equal(typeof req.ranges.isSingle, 'boolean')
        const seq = typedOnly(() => RangeSpecSeq.decode(bytes.subarray(33)), bytes)
        if (!(seq instanceof RhioError)) assert.deepEqual(seq.encode(), req.ranges.encode())
      },
    ),
    fuzzParams(),
  )
})

/** A blob, its outboard, and valid responses for some ranges. */
interface Sample {
  data: Uint8Array
  ob: OutboardResult
  ranges: ChunkRanges
  response: Uint8Array
}

const SIZES = [0, 1, 1024, 1025, 16_384, 16_385, 40_000]
const RANGES = [
  ChunkRanges.all(),
  ChunkRanges.from(0, 1),
  ChunkRanges.from(1, 3),
  ChunkRanges.from(17),
  ChunkRanges.sizeProof(),
  ChunkRanges.fromBoundaries([2, 5, 20, 30]),
]
const samples: Sample[] = []

before(async () => {
  for (const size of SIZES) {
    const data = noise(size, size + 1)
    const ob = outboardOf(data, 4)
    for (const ranges of RANGES) {
      samples.push({ data, ob, ranges, response: await encodeToBuffer(data, ob, ranges, 4) })
    }
  }
})

/**
 * Feeds `stream` in pieces to a decoder; returns the events or the typed error.
 * Asserts that every released leaf equals the blob's bytes at its offset.
 */
function feed(s: Sample, stream: Uint8Array, cuts: number[]): DecodeEvent[] | RhioError {
  const dec = new BaoDecoder(s.ob.hash, s.ranges)
  const events: DecodeEvent[] = []
  return typedOnly(() => {
    let off = 0
    for (const cut of [...cuts, stream.length]) {
      const end = Math.min(stream.length, Math.max(off, cut))
      dec.push(stream.subarray(off, end))
      off = end
      for (let ev = dec.next(); ev !== undefined; ev = dec.next()) {
        events.push(ev)
        if (ev.type === 'leaf') {
          const want = s.data.subarray(ev.offset, ev.offset + ev.data.length)
          assert.ok(Buffer.from(want).equals(ev.data), `released unverified bytes at ${ev.offset}`)
        }
      }
    }
    const rest = dec.end()
    if (dec.sizeVerified) assert.equal(dec.size, s.data.length, 'a verified size is the real size')
    return rest.length === 0 ? events : events
  }, stream)
}

const sampleIndex = fc.nat()
const cutsArb = fc
  .array(fc.nat({ max: 70_000 }), { maxLength: 5 })
  .map((c) => c.sort((a, b) => a - b))

test('BaoDecoder: valid responses verify in any split', () => {
  fc.assert(
    fc.property(sampleIndex, cutsArb, (i, cuts) => {
      const s = samples[i % samples.length]!
      const r = feed(s, s.response, cuts)
      assert.ok(!(r instanceof RhioError), r instanceof RhioError ? r.message : '')
    }),
    fuzzParams(1_000),
  )
})

test('BaoDecoder: mutated responses release only verified bytes and fail with BLOB_VERIFY_FAILED', () => {
  fc.assert(
    fc.property(sampleIndex, mutationsArb(3), cutsArb, (i, specs, cuts) => {
      const s = samples[i % samples.length]!
      const { bytes } = applyMutations(s.response, specs)
      const r = feed(s, bytes, cuts)
      if (r instanceof RhioError) assert.equal(r.code, 'BLOB_VERIFY_FAILED')
      else assert.ok(Buffer.from(bytes).equals(s.response) || r.length > 0)
    }),
    fuzzParams(),
  )
})

test('BaoDecoder: random responses (with plausible size headers) fail with BLOB_VERIFY_FAILED', () => {
  const size = fc.oneof(
    fc.constantFrom(0n, 1n, 1024n, 16_384n, 16_385n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n),
    fc.bigInt({ min: 0n, max: 100_000n }),
  )
  const stream = fc.tuple(size, fc.uint8Array({ maxLength: 2_000 })).map(([n, body]) => {
    const head = new Uint8Array(8)
    new DataView(head.buffer).setBigUint64(0, n, true)
    return Uint8Array.of(...head, ...body)
  })
  fc.assert(
    fc.property(sampleIndex, fc.oneof(stream, noiseBytes(64)), cutsArb, (i, bytes, cuts) => {
      const s = samples[i % samples.length]!
      const r = feed(s, bytes, cuts)
      if (r instanceof RhioError) assert.equal(r.code, 'BLOB_VERIFY_FAILED')
    }),
    fuzzParams(),
  )
})

test('a provider answers any ranges a peer may request with a response that verifies', async () => {
  await fc.assert(
    fc.asyncProperty(sampleIndex, seqArb, async (i, seq) => {
      const s = samples[i % samples.length]!
      const ranges = seq.get(0)
      const response = await typedOnlyAsync(() => encodeToBuffer(s.data, s.ob, ranges, 4), ranges)
      assert.ok(!(response instanceof RhioError), 'encoding valid local data never fails')
      const r = feed({ ...s, ranges }, response, [])
      assert.ok(!(r instanceof RhioError), r instanceof RhioError ? r.message : '')
    }),
    fuzzParams(2_000),
  )
})

test('decodeResponseFrame: any frame is a data frame, an error frame or undefined, never a throw', () => {
  const valid = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map(encodeDataFrame),
    fc
      .tuple(
        fc.constantFrom('not-found' as const, 'busy' as const, 'internal' as const),
        fc.string(),
      )
      .map(([code, msg]) => encodeErrorFrame(code, msg)),
  )
  fc.assert(
    fc.property(
      fc.oneof(
        noiseBytes(600, [0, 1]),
        mutated(valid).map((m) => m.bytes),
      ),
      (bytes) => {
        const f = typedOnly(() => decodeResponseFrame(bytes), bytes)
        if (f === undefined || f instanceof RhioError) return
        if (f.type === 'data') assert.ok(f.bytes.length >= 1 && f.bytes.length === bytes.length - 1)
        else assert.ok(f.message.length <= 512)
      },
    ),
    fuzzParams(),
  )
})

// ChunkRanges (set algebra against a bitmap model, truncation as bao-tree does it), request
// decoding of hostile bytes, and blob hash text forms.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  ChunkRanges,
  RangeSpecSeq,
  U64_MAX,
  decodeGetRequest,
  decodeRangeSpec,
  encodeGetRequest,
  encodeRangeSpec,
  hashToBase32,
  hashToHex,
  parseBlobHash,
} from '../../src/bao/index.js'
import { truncateRanges } from '../../src/bao/ranges.js'
import { fromHex, hex } from '../helpers/bao.js'

const UNIVERSE = 40

/** Bitmap of chunks 0..UNIVERSE-1 (everything at or beyond UNIVERSE behaves like UNIVERSE-1). */
function bitmap(r: ChunkRanges): boolean[] {
  return Array.from({ length: UNIVERSE }, (_, i) => r.contains(i))
}

const arbRanges = fc
  .uniqueArray(fc.integer({ min: 0, max: UNIVERSE - 1 }), { maxLength: 7 })
  .map((bs) => ChunkRanges.fromBoundaries(bs.sort((a, b) => a - b)))

describe('ChunkRanges', () => {
  test('union, intersection, difference and complement agree with a bitmap model', () => {
    fc.assert(
      fc.property(arbRanges, arbRanges, (a, b) => {
        const [x, y] = [bitmap(a), bitmap(b)]
        assert.deepEqual(
          bitmap(a.union(b)),
          x.map((v, i) => v || y[i]!),
        )
        assert.deepEqual(
          bitmap(a.intersection(b)),
          x.map((v, i) => v && y[i]!),
        )
        assert.deepEqual(
          bitmap(a.difference(b)),
          x.map((v, i) => v && !y[i]!),
        )
        assert.deepEqual(
          bitmap(a.complement()),
          x.map((v) => !v),
        )
        // results are canonical: equal sets have equal boundaries
        assert.ok(a.union(b).equals(b.union(a)))
        assert.ok(a.difference(a).isEmpty)
      }),
    )
  })

  test('constructors and text form', () => {
    assert.equal(ChunkRanges.all().toString(), '0..')
    assert.equal(ChunkRanges.empty().toString(), '∅')
    assert.equal(ChunkRanges.from(3, 3).toString(), '∅')
    assert.equal(ChunkRanges.from(0, 16).union(ChunkRanges.from(48)).toString(), '0..16, 48..')
    assert.equal(ChunkRanges.bytes(1000, 1025).toString(), '0..2')
    assert.equal(ChunkRanges.bytes(1024, 2048).toString(), '1..2')
    assert.deepEqual(ChunkRanges.sizeProof().boundaries, [U64_MAX])
    assert.ok(ChunkRanges.all().isAll)
    assert.throws(() => ChunkRanges.fromBoundaries([3, 3]), RangeError)
    assert.throws(() => ChunkRanges.from(-1), RangeError)
    assert.throws(() => ChunkRanges.from(U64_MAX + 1n), RangeError)
    assert.deepEqual(ChunkRanges.from(2, 5).ranges(), [{ start: 2n, end: 5n }])
  })

  test('truncation follows bao-tree truncate_ranges (7-chunk blob examples from rec.rs)', () => {
    const size = 7 * 1024
    const t = (r: ChunkRanges): number[] => truncateRanges(r, size)
    const set = (...parts: [number, number?][]): ChunkRanges =>
      ChunkRanges.union(...parts.map(([a, b]) => ChunkRanges.from(a, b)))
    assert.deepEqual(t(set([0, 6])), [0, 6]) // stays
    assert.deepEqual(t(set([0, 7])), [0]) // the whole blob
    assert.deepEqual(t(set([0, 10], [11, 12])), [0])
    assert.deepEqual(t(set([0, 6], [7, 10])), [0]) // last chunk included, hole filled
    assert.deepEqual(t(set([3, 6], [7, 10])), [3])
    assert.deepEqual(t(set([0, 5], [7, 10])), [0, 5, 7]) // last chunk included, chunk 5 not
    assert.deepEqual(t(ChunkRanges.sizeProof()), [7]) // past the end: clamped, selects the last
    assert.deepEqual(t(set([6])), [6])
    assert.deepEqual(truncateRanges(ChunkRanges.all(), 0), [0])
    assert.deepEqual(truncateRanges(ChunkRanges.sizeProof(), 0), [1])
  })
})

describe('request decoding of hostile bytes', () => {
  const hash = new Uint8Array(32).fill(0xda)
  const invalid = (bytes: string): void =>
    assert.throws(
      () => decodeGetRequest(fromHex(bytes)),
      (e: { code?: string }) => e.code === 'BLOB_REQUEST_INVALID',
      bytes,
    )

  test('round trip of random requests', () => {
    fc.assert(
      fc.property(fc.array(arbRanges, { maxLength: 5 }), (list) => {
        const seq = RangeSpecSeq.fromRanges(list)
        const back = decodeGetRequest(encodeGetRequest({ hash, ranges: seq }))
        assert.equal(hex(back.hash), hex(hash))
        list.forEach((r, i) => assert.ok(back.ranges.get(i).equals(r)))
        assert.ok(back.ranges.get(list.length).isEmpty)
      }),
    )
  })

  test('malformed requests are typed errors', () => {
    const h = 'da'.repeat(32)
    invalid('') // nothing
    invalid('01' + h + '00') // unknown variant
    invalid('00' + h.slice(0, 10)) // short hash
    invalid('00' + h) // missing sequence
    invalid('00' + h + '0100020500') // zero delta: boundaries not increasing
    invalid('00' + h + '01000100ff') // trailing byte
    invalid('00' + h + '010001ffffffffffffffffff7f') // varint beyond u64
    invalid('00' + h + '010001808080808080808080800100') // varint longer than 10 bytes
    invalid('00' + h + '0100ffffffffffffffffff0100') // a u64::MAX count of boundaries
    invalid('00' + h + '01000201ffffffffffffffffff01') // boundary sum beyond u64
    assert.throws(() => decodeRangeSpec(fromHex('0100ff')), /trailing/)
  })

  test('u64::MAX boundaries survive', () => {
    const back = decodeRangeSpec(encodeRangeSpec(ChunkRanges.sizeProof()))
    assert.deepEqual(back.boundaries, [U64_MAX])
  })
})

describe('blob hash text forms', () => {
  const helloHex = 'ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f'
  const helloB32 = '5khrmpntq2bjexseshc6ldklwnig56gbj23yvbxjbdcwestheahq'

  test("iroh's base32 and hex, both directions, either case", () => {
    const hash = fromHex(helloHex)
    assert.equal(hashToBase32(hash), helloB32)
    assert.equal(hashToHex(hash), helloHex)
    assert.equal(hex(parseBlobHash(helloB32)), helloHex)
    assert.equal(hex(parseBlobHash(helloB32.toUpperCase())), helloHex)
    assert.equal(hex(parseBlobHash(helloHex)), helloHex)
    assert.equal(hex(parseBlobHash(helloHex.toUpperCase())), helloHex)
  })

  test('round trip of random hashes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (h) => {
        assert.equal(hex(parseBlobHash(hashToBase32(h))), hex(h))
        assert.equal(hex(parseBlobHash(hashToHex(h))), hex(h))
      }),
    )
  })

  test('anything else is BLOB_HASH_INVALID', () => {
    const bad = (s: string): void =>
      assert.throws(
        () => parseBlobHash(s),
        (e: { code?: string }) => e.code === 'BLOB_HASH_INVALID',
        s,
      )
    bad('')
    bad(helloB32.slice(1))
    bad(helloB32.slice(0, 51) + '1') // '1' is not base32
    bad(helloB32.slice(0, 51) + 'r') // non-zero trailing bits
    bad(helloHex.slice(0, 63) + 'g')
    bad('x'.repeat(1000))
    assert.throws(() => hashToHex(new Uint8Array(31)), RangeError)
  })
})

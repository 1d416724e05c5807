// Compatibility with iroh-blobs / rhio at 16 KiB chunk groups (blockLog 4): outboards (the
// `.rhio.bao4` bytes), full encodings, range responses and size proofs from
// rhio-protocol-vectors.json, and iroh-blobs' official postcard request vectors.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  ChunkRanges,
  IROH_BLOCK_LOG,
  RangeSpecSeq,
  blake3,
  decodeGetRequest,
  decodeRangeSpec,
  encodeGetRequest,
  encodeRangeSpec,
  getRequest,
  hashToBase32,
  jsBackend,
  outboardSize,
} from '../../src/bao/index.js'
import {
  baoInput,
  concat,
  decodeAll,
  encodeToBuffer,
  fromHex,
  hex,
  loadVectors,
  outboardOf,
  pieces,
} from '../helpers/bao.js'

interface RangeResponse {
  len: number
  blake3: string
  hex?: string
}
interface Case {
  input_len: number
  blake3_hex: string
  iroh_base32: string
  outboard_len: number
  outboard_blake3: string
  outboard_hex?: string
  encoding_len: number
  encoding_blake3: string
  range_responses: Record<string, RangeResponse>
}
interface Vectors {
  bao_tree_block_log_4: {
    cases: Case[]
    example_16385: {
      encoding_first_72_bytes_hex: string
      left_cv: string
      right_cv: string
      root: string
    }
    get_requests: Record<string, string>
  }
  iroh_blobs_v0_34_1_postcard_official: Record<string, string>
}

const V = loadVectors<Vectors>('rhio-protocol-vectors.json')
const T = V.bao_tree_block_log_4
const B = IROH_BLOCK_LOG

const RANGES: Record<string, ChunkRanges> = {
  'chunk 0 only [0,1)': ChunkRanges.from(0, 1),
  'chunks [16,17)': ChunkRanges.from(16, 17),
  'chunks [20,40)': ChunkRanges.from(20, 40),
  'from chunk 32 (resume)': ChunkRanges.from(32),
  'last chunk (size proof, ChunkNum(u64::MAX)..)': ChunkRanges.sizeProof(),
}

describe('bao-tree at 16 KiB groups (rhio-protocol-vectors.json)', () => {
  test('14 cases, 5 range responses each', () => {
    assert.equal(T.cases.length, 14)
    for (const c of T.cases)
      assert.deepEqual(Object.keys(c.range_responses).sort(), Object.keys(RANGES).sort())
  })

  for (const c of T.cases) {
    test(`${c.input_len} bytes: hash, base32 id, outboard, full encoding, range responses`, async () => {
      const data = baoInput(c.input_len)
      for (const backend of [undefined, jsBackend]) {
        const ob = outboardOf(data, B, backend)
        assert.equal(hex(ob.hash), c.blake3_hex)
        assert.equal(hashToBase32(ob.hash), c.iroh_base32)
        assert.equal(ob.outboard.length, c.outboard_len)
        assert.equal(outboardSize(c.input_len), c.outboard_len)
        assert.equal(hex(blake3(ob.outboard)), c.outboard_blake3)
        if (c.outboard_hex !== undefined) assert.equal(hex(ob.outboard), c.outboard_hex)
        const full = await encodeToBuffer(data, ob, ChunkRanges.all(), B, backend)
        assert.equal(full.length, c.encoding_len)
        assert.equal(hex(blake3(full)), c.encoding_blake3)
        for (const [name, ranges] of Object.entries(RANGES)) {
          const want = c.range_responses[name]!
          const enc = await encodeToBuffer(data, ob, ranges, B, backend)
          assert.equal(enc.length, want.len, name)
          assert.equal(hex(blake3(enc)), want.blake3, name)
          if (want.hex !== undefined) assert.equal(hex(enc), want.hex, name)
        }
      }
    })

    test(`${c.input_len} bytes: every response decodes to verified data`, async () => {
      const data = baoInput(c.input_len)
      const ob = outboardOf(data, B)
      for (const [name, ranges] of [
        ['all', ChunkRanges.all()] as const,
        ...Object.entries(RANGES),
      ]) {
        const enc = await encodeToBuffer(data, ob, ranges, B)
        const events = await decodeAll(pieces(enc, [5, 1000, 70, 40000]), ob.hash, ranges, B)
        assert.deepEqual(events[0], { type: 'size', size: c.input_len }, name)
        for (const e of events) {
          if (e.type === 'leaf') {
            assert.equal(hex(e.data), hex(data.subarray(e.offset, e.offset + e.data.length)), name)
          }
        }
        if (name === 'all') {
          // Parent events carry their outboard offsets: a full download rebuilds the outboard.
          const rebuilt = new Uint8Array(ob.outboard.length)
          for (const e of events) {
            if (e.type === 'parent' && e.outboardOffset !== undefined)
              rebuilt.set(e.pair, e.outboardOffset)
          }
          assert.equal(hex(rebuilt), hex(ob.outboard))
          const got = concat(events.flatMap((e) => (e.type === 'leaf' ? [e.data] : [])))
          assert.equal(hex(got), hex(data))
        }
      }
    })
  }

  test('worked example, 16 385 bytes', async () => {
    const ex = T.example_16385
    const data = baoInput(16385)
    const ob = outboardOf(data, B)
    assert.equal(hex(ob.outboard), ex.left_cv + ex.right_cv)
    assert.equal(hex(ob.hash), ex.root)
    const enc = await encodeToBuffer(data, ob, ChunkRanges.all(), B)
    assert.equal(hex(enc.subarray(0, 72)), ex.encoding_first_72_bytes_hex)
  })

  test('range response sizes for 100 000 bytes follow the documented arithmetic', async () => {
    const data = baoInput(100_000)
    const ob = outboardOf(data, B)
    const chunk0 = await encodeToBuffer(data, ob, ChunkRanges.from(0, 1), B)
    assert.equal(chunk0.length, 8 + 3 * 64 + 4 * 64 + 1024)
    const proof = await encodeToBuffer(data, ob, ChunkRanges.sizeProof(), B)
    assert.equal(proof.length, 8 + 2 * 64 + 64 + 672)
  })

  test('derived GetRequests for BLAKE3(bao_input(100000))', () => {
    const r = T.get_requests
    const hash = fromHex(r.hash!)
    assert.equal(hex(blake3(baoInput(100_000))), r.hash)
    assert.equal(hex(encodeGetRequest(getRequest(hash))), r.single)
    assert.equal(
      hex(encodeGetRequest(getRequest(hash, ChunkRanges.from(32)))),
      r.resume_from_chunk_32,
    )
    const missing = ChunkRanges.from(0, 16).union(ChunkRanges.from(48))
    assert.equal(hex(encodeGetRequest(getRequest(hash, missing))), r.missing_0_16_and_48_inf)
    const proof = getRequest(hash, ChunkRanges.sizeProof())
    assert.equal(hex(encodeGetRequest(proof)), r.last_chunk_size_proof)
    const back = decodeGetRequest(fromHex(r.missing_0_16_and_48_inf!))
    assert.equal(hex(back.hash), r.hash)
    assert.ok(back.ranges.get(0).equals(missing))
    assert.ok(back.ranges.get(1).isEmpty)
    assert.ok(back.ranges.isSingle)
  })
})

describe('iroh-blobs v0.34.1 postcard vectors (official)', () => {
  const P = V.iroh_blobs_v0_34_1_postcard_official
  const hash = fromHex(P.hash!)
  const spec = (s: ChunkRanges): string => hex(encodeRangeSpec(s))

  test('Request::Get(GetRequest::single / ::all)', () => {
    assert.equal(
      hex(encodeGetRequest(getRequest(hash))),
      P['Request::Get(GetRequest::single(hash))'],
    )
    const all = { hash, ranges: RangeSpecSeq.all() }
    assert.equal(hex(encodeGetRequest(all)), P['Request::Get(GetRequest::all(hash))'])
    const back = decodeGetRequest(fromHex(P['Request::Get(GetRequest::all(hash))']!))
    assert.ok(back.ranges.get(0).isAll && back.ranges.get(7).isAll)
    assert.equal(back.ranges.isSingle, false)
  })

  test('RangeSpec', () => {
    assert.equal(spec(ChunkRanges.empty()), P['RangeSpec::EMPTY'])
    assert.equal(spec(ChunkRanges.all()), P['RangeSpec::all()'])
    assert.equal(spec(ChunkRanges.from(64)), P['RangeSpec(64..)'])
    assert.equal(spec(ChunkRanges.from(10000)), P['RangeSpec(10000..)'])
    assert.equal(spec(ChunkRanges.from(0, 64)), P['RangeSpec(..64)'])
    const two = ChunkRanges.from(1, 3).union(ChunkRanges.from(9, 13))
    assert.equal(spec(two), P['RangeSpec(1..3 | 9..13)'])
    assert.ok(decodeRangeSpec(fromHex(P['RangeSpec(1..3 | 9..13)']!)).equals(two))
  })

  test('RangeSpecSeq', () => {
    assert.equal(hex(RangeSpecSeq.empty().encode()), P['RangeSpecSeq::empty()'])
    assert.equal(hex(RangeSpecSeq.all().encode()), P['RangeSpecSeq::all()'])
    const seq = RangeSpecSeq.fromRanges([ChunkRanges.from(1, 3), ChunkRanges.from(7, 13)])
    assert.equal(hex(seq.encode()), P['RangeSpecSeq::from_ranges([1..3, 7..13])'])
    const e = ChunkRanges.empty()
    const inf = RangeSpecSeq.fromRangesInfinite([e, e, e, ChunkRanges.from(7), ChunkRanges.all()])
    assert.equal(
      hex(inf.encode()),
      P['RangeSpecSeq::from_ranges_infinite([empty,empty,empty,7..,all])'],
    )
    const back = RangeSpecSeq.decode(inf.encode())
    assert.deepEqual(
      [0, 2, 3, 4, 5, 1000].map((i) => back.get(i).toString()),
      ['∅', '∅', '7..', '0..', '0..', '0..'],
    )
  })
})

// The official bao vectors (oconnor663/bao tests/test_vectors.json) at 1 KiB groups (blockLog 0):
// hash, combined encoding, outboard, slices, and every listed corruption, on both backends.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type Blake3Backend,
  ChunkRanges,
  blake3,
  createBlake3Backend,
  encodeRanges,
  jsBackend,
} from '../../src/bao/index.js'
import {
  baoInput,
  concat,
  decodeAll,
  encodeToBuffer,
  hex,
  loadVectors,
  memoryReader,
  outboardOf,
} from '../helpers/bao.js'

interface BaoVectors {
  hash: { input_len: number; bao_hash: string }[]
  encode: {
    input_len: number
    output_len: number
    bao_hash: string
    encoded_blake3: string
    corruptions: number[]
  }[]
  outboard: {
    input_len: number
    output_len: number
    bao_hash: string
    encoded_blake3: string
    outboard_corruptions: number[]
    input_corruptions: number[]
  }[]
  slice: {
    input_len: number
    bao_hash: string
    slices: {
      start: number
      len: number
      output_len: number
      output_blake3: string
      corruptions: number[]
    }[]
  }[]
}

const V = loadVectors<BaoVectors>('bao-test-vectors.json')
const B = 0 // bao has no chunk groups

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice()
  out[at]! ^= 1
  return out
}

/** bao slice → chunk ranges: a zero length counts as one byte; past the end = last chunk. */
function sliceRanges(start: number, len: number): ChunkRanges {
  return ChunkRanges.bytes(start, start + Math.max(len, 1))
}

async function rejects(p: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(p, (err: { code?: string }) => err.code === code, what)
}

const backends: [string, Blake3Backend][] = [
  ['js', jsBackend],
  ['wasm', createBlake3Backend({ prefer: 'wasm' })],
]

for (const [name, backend] of backends) {
  describe(`bao vectors, ${name} backend`, () => {
    test('hash (13 lengths)', () => {
      assert.equal(V.hash.length, 13)
      for (const c of V.hash)
        assert.equal(hex(blake3(baoInput(c.input_len), { backend })), c.bao_hash)
    })

    test('combined encoding, decoding, and every corruption detected', async () => {
      for (const c of V.encode) {
        const data = baoInput(c.input_len)
        const ob = outboardOf(data, B, backend)
        assert.equal(hex(ob.hash), c.bao_hash)
        const enc = await encodeToBuffer(data, ob, ChunkRanges.all(), B, backend)
        assert.equal(enc.length, c.output_len, `length ${c.input_len}`)
        assert.equal(hex(blake3(enc)), c.encoded_blake3, `encoding ${c.input_len}`)
        const events = await decodeAll([enc], ob.hash, ChunkRanges.all(), B, backend)
        const got = concat(events.flatMap((e) => (e.type === 'leaf' ? [e.data] : [])))
        assert.equal(hex(got), hex(data))
        for (const at of c.corruptions) {
          const bad = decodeAll([flip(enc, at)], ob.hash, ChunkRanges.all(), B, backend)
          await rejects(bad, 'BLOB_VERIFY_FAILED', `encode ${c.input_len} flip ${at}`)
        }
      }
    })

    test('outboard (8-byte size + pre-order parents), and corrupt outboard or input refused by the encoder', async () => {
      for (const c of V.outboard) {
        const data = baoInput(c.input_len)
        const ob = outboardOf(data, B, backend)
        const header = new Uint8Array(8)
        new DataView(header.buffer).setBigUint64(0, BigInt(data.length), true)
        const baoOutboard = concat([header, ob.outboard])
        assert.equal(baoOutboard.length, c.output_len)
        assert.equal(hex(blake3(baoOutboard)), c.encoded_blake3, `outboard ${c.input_len}`)
        const serve = (outboard: Uint8Array, input: Uint8Array): Promise<unknown> => {
          const size = Number(new DataView(outboard.buffer).getBigUint64(0, true))
          const src = {
            hash: ob.hash,
            size,
            outboard: outboard.subarray(8),
            readData: memoryReader(input),
          }
          return (async () => {
            for await (const _ of encodeRanges(src, ChunkRanges.all(), { blockLog: B, backend }));
          })()
        }
        await serve(baoOutboard, data)
        for (const at of c.outboard_corruptions) {
          await rejects(
            serve(flip(baoOutboard, at), data),
            'BLOB_LOCAL_CORRUPT',
            `outboard flip ${at}`,
          )
        }
        for (const at of c.input_corruptions) {
          await rejects(
            serve(baoOutboard, flip(data, at)),
            'BLOB_LOCAL_CORRUPT',
            `input flip ${at}`,
          )
        }
      }
    })

    test('slices (range responses), decoding, and every corruption detected', async () => {
      let count = 0
      for (const c of V.slice) {
        const data = baoInput(c.input_len)
        const ob = outboardOf(data, B, backend)
        for (const s of c.slices) {
          count++
          const ranges = sliceRanges(s.start, s.len)
          const enc = await encodeToBuffer(data, ob, ranges, B, backend)
          const what = `slice ${c.input_len} ${s.start}+${s.len}`
          assert.equal(enc.length, s.output_len, what)
          assert.equal(hex(blake3(enc)), s.output_blake3, what)
          const events = await decodeAll([enc], ob.hash, ranges, B, backend)
          for (const e of events) {
            if (e.type !== 'leaf') continue
            assert.equal(hex(e.data), hex(data.subarray(e.offset, e.offset + e.data.length)))
          }
          for (const at of s.corruptions) {
            const bad = decodeAll([flip(enc, at)], ob.hash, ranges, B, backend)
            await rejects(bad, 'BLOB_VERIFY_FAILED', `${what} flip ${at}`)
          }
        }
      }
      assert.ok(count > 100, `expected the full slice set, ran ${count}`)
    })
  })
}

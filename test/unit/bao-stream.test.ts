// Verified range streams end to end: random sizes, ranges and block sizes round-trip through the
// validating encoder and the verifying decoder; every flipped byte is caught; the decoder holds
// at most one group; the encoder reads whole-group spans once each and refuses bad local data.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  BaoDecoder,
  type BlobVerifyError,
  ChunkRanges,
  type DecodeEvent,
  U64_MAX,
  encodeRangePieces,
  encodeRanges,
  jsBackend,
} from '../../src/bao/index.js'
import {
  type ReadLog,
  concat,
  decodeAll,
  encodeToBuffer,
  hex,
  memoryReader,
  noise,
  outboardOf,
  pieces,
} from '../helpers/bao.js'

/** Which chunks a response must deliver: the selected ones, the last one if anything at or past it is. */
function expectedChunks(size: number, ranges: ChunkRanges): number[] {
  const n = Math.max(1, Math.ceil(size / 1024))
  const out: number[] = []
  for (let c = 0; c < n - 1; c++) if (ranges.contains(c)) out.push(c)
  if (!ranges.intersection(ChunkRanges.from(n - 1)).isEmpty) out.push(n - 1)
  return out
}

function deliveredChunks(events: DecodeEvent[]): number[] {
  const out: number[] = []
  for (const e of events) {
    if (e.type !== 'leaf') continue
    const first = Math.floor(e.offset / 1024)
    const count = Math.max(1, Math.ceil(e.data.length / 1024))
    for (let c = first; c < first + count; c++) out.push(c)
  }
  return out
}

const arbCase = fc.record({
  size: fc.oneof(
    fc.integer({ min: 0, max: 150_000 }),
    fc.constantFrom(0, 1, 1023, 1024, 1025, 16383, 16384, 16385, 32768, 65537),
  ),
  boundaries: fc.uniqueArray(fc.oneof(fc.integer({ min: 0, max: 160 }), fc.constant(U64_MAX)), {
    maxLength: 6,
  }),
  blockLog: fc.constantFrom(0, 1, 2, 4),
  cuts: fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 5 }),
})

function rangesOf(boundaries: (number | bigint)[]): ChunkRanges {
  const bs = boundaries.map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return ChunkRanges.fromBoundaries(bs)
}

const isVerifyError = (e: unknown): e is BlobVerifyError =>
  (e as { code?: string }).code === 'BLOB_VERIFY_FAILED'

describe('verified range streams (property tests)', () => {
  test('random sizes and ranges round-trip; exactly the selected chunks arrive, verified', async () => {
    await fc.assert(
      fc.asyncProperty(arbCase, async ({ size, boundaries, blockLog, cuts }) => {
        const data = noise(size, size + 11)
        const ranges = rangesOf(boundaries)
        const ob = outboardOf(data, blockLog)
        const enc = await encodeToBuffer(data, ob, ranges, blockLog)
        // the plain-TS path produces the identical response
        assert.equal(hex(await encodeToBuffer(data, ob, ranges, blockLog, jsBackend)), hex(enc))
        const events = await decodeAll(pieces(enc, cuts), ob.hash, ranges, blockLog)
        assert.deepEqual(events[0], { type: 'size', size })
        for (const e of events) {
          if (e.type === 'leaf') {
            assert.equal(hex(e.data), hex(data.subarray(e.offset, e.offset + e.data.length)))
          }
        }
        assert.deepEqual(
          deliveredChunks(events),
          ranges.isEmpty ? [] : expectedChunks(size, ranges),
        )
      }),
      { numRuns: 120 },
    )
  })

  test('any single flipped byte is detected (a size-header flip at least never yields wrong bytes)', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbCase,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (c, pos, mask) => {
          const data = noise(c.size, c.size + 17)
          const ranges = rangesOf(c.boundaries)
          const ob = outboardOf(data, c.blockLog)
          const enc = await encodeToBuffer(data, ob, ranges, c.blockLog)
          const at = pos % enc.length
          const bad = enc.slice()
          bad[at]! ^= mask
          let events: DecodeEvent[]
          try {
            events = await decodeAll(pieces(bad, c.cuts), ob.hash, ranges, c.blockLog)
          } catch (err) {
            assert.ok(isVerifyError(err), String(err))
            return
          }
          const lastChunkWanted =
            !ranges.isEmpty &&
            expectedChunks(c.size, ranges).at(-1) === Math.max(0, Math.ceil(c.size / 1024) - 1)
          assert.ok(at < 8 && !lastChunkWanted, `flip at ${at} of ${enc.length} went undetected`)
          for (const e of events) {
            if (e.type === 'leaf') {
              assert.equal(hex(e.data), hex(data.subarray(e.offset, e.offset + e.data.length)))
            }
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  test('a cut or extended stream is rejected; the decoder never holds more than one group', async () => {
    await fc.assert(
      fc.asyncProperty(arbCase, fc.nat(), async (c, pos) => {
        const data = noise(c.size, 3)
        const ranges = rangesOf(c.boundaries)
        const ob = outboardOf(data, c.blockLog)
        const enc = await encodeToBuffer(data, ob, ranges, c.blockLog)
        const cut = pos % enc.length
        await assert.rejects(
          decodeAll([enc.subarray(0, cut)], ob.hash, ranges, c.blockLog),
          (e) => {
            return isVerifyError(e) && e.reason === 'truncated'
          },
        )
        await assert.rejects(
          decodeAll([enc, new Uint8Array(1)], ob.hash, ranges, c.blockLog),
          (e) => {
            return isVerifyError(e) && e.reason === 'trailing-bytes'
          },
        )
        const dec = new BaoDecoder(ob.hash, ranges, { blockLog: c.blockLog })
        for (const piece of pieces(enc, c.cuts)) {
          dec.push(piece)
          while (dec.next() !== undefined);
          assert.ok(dec.buffered < Math.max(64, 1024 << c.blockLog), `${dec.buffered} bytes held`)
        }
        assert.ok(dec.done)
        assert.equal(dec.end().length, 0)
      }),
      { numRuns: 60 },
    )
  })
})

describe('verifying decoder', () => {
  const size = 100_000
  const data = noise(size, 42)
  const ob = outboardOf(data, 4)

  test('corruption names the stream offset and the blob offset of the rejected leaf', async () => {
    const enc = await encodeToBuffer(data, ob, ChunkRanges.all(), 4)
    const dec = new BaoDecoder(ob.hash, ChunkRanges.all())
    dec.push(enc)
    let group1At = -1
    for (let e = dec.next(); e !== undefined; e = dec.next()) {
      if (e.type === 'leaf' && e.offset === 16384) group1At = dec.consumed - e.data.length
    }
    assert.ok(dec.done && dec.sizeVerified)
    const bad = enc.slice()
    bad[group1At + 100]! ^= 0x40
    const err = await decodeAll([bad], ob.hash, ChunkRanges.all(), 4).catch((e: unknown) => e)
    assert.ok(isVerifyError(err))
    assert.equal(err.reason, 'leaf-mismatch')
    assert.equal(err.streamOffset, group1At)
    assert.equal(err.dataOffset, 16384)
    assert.match(err.message, /stream offset \d+, blob offset 16384/)
  })

  test('a wrong hash fails at the first parent; an oversized declared size fails at once', async () => {
    const enc = await encodeToBuffer(data, ob, ChunkRanges.all(), 4)
    const other = new Uint8Array(32).fill(7)
    const err = await decodeAll([enc], other, ChunkRanges.all(), 4).catch((e: unknown) => e)
    assert.ok(isVerifyError(err) && err.reason === 'parent-mismatch' && err.streamOffset === 8)
    const dec = new BaoDecoder(ob.hash, ChunkRanges.all(), { maxSize: 50_000 })
    dec.push(enc)
    assert.throws(
      () => dec.next(),
      (e) => isVerifyError(e) && e.reason === 'size-too-large',
    )
  })

  test('a size proof verifies the size; a range without the last chunk does not', async () => {
    for (const [ranges, proven] of [
      [ChunkRanges.sizeProof(), true],
      [ChunkRanges.from(0, 3), false],
    ] as const) {
      const enc = await encodeToBuffer(data, ob, ranges, 4)
      const dec = new BaoDecoder(ob.hash, ranges)
      dec.push(enc)
      while (dec.next() !== undefined);
      assert.equal(dec.done, true)
      assert.equal(dec.size, size)
      assert.equal(dec.sizeVerified, proven)
    }
  })

  test('bytes after a response are handed back for the next one', async () => {
    const enc = await encodeToBuffer(data, ob, ChunkRanges.from(0, 1), 4)
    const dec = new BaoDecoder(ob.hash, ChunkRanges.from(0, 1))
    dec.push(concat([enc, Uint8Array.of(1, 2, 3)]))
    while (dec.next() !== undefined);
    assert.deepEqual([...dec.end()], [1, 2, 3])
  })
})

describe('validating encoder', () => {
  const size = 100 * 1024 + 300 // 101 chunks, 7 groups of 16 KiB
  const data = noise(size, 9)
  const ob = outboardOf(data, 4)

  async function run(
    ranges: ChunkRanges,
    over: { data?: Uint8Array; outboard?: Uint8Array; log?: ReadLog; signal?: AbortSignal } = {},
  ): Promise<{ out: Uint8Array; error: unknown }> {
    const src = {
      hash: ob.hash,
      size,
      outboard: over.outboard ?? ob.outboard,
      readData: memoryReader(over.data ?? data, 5000, over.log),
    }
    const parts: Uint8Array[] = []
    try {
      const opts = over.signal === undefined ? {} : { signal: over.signal }
      for await (const p of encodeRanges(src, ranges, opts)) parts.push(p)
      return { out: concat(parts), error: undefined }
    } catch (error) {
      return { out: concat(parts), error }
    }
  }

  test('reads each contiguous span of selected groups once, whole groups only', async () => {
    const log: ReadLog = { calls: [] }
    const ranges = ChunkRanges.union(
      ChunkRanges.from(0, 1),
      ChunkRanges.from(40, 50),
      ChunkRanges.from(52, 60),
    )
    const { error } = await run(ranges, { log })
    assert.equal(error, undefined)
    assert.deepEqual(log.calls, [
      { offset: 0, length: 16384 },
      { offset: 32768, length: 32768 },
    ])
    const all: ReadLog = { calls: [] }
    await run(ChunkRanges.all(), { log: all })
    assert.deepEqual(all.calls, [{ offset: 0, length: size }])
    const proof: ReadLog = { calls: [] }
    await run(ChunkRanges.sizeProof(), { log: proof })
    assert.deepEqual(proof.calls, [{ offset: 6 * 16384, length: size - 6 * 16384 }])
  })

  test('emits 64 KiB chunks', async () => {
    const parts: Uint8Array[] = []
    const src = { hash: ob.hash, size, outboard: ob.outboard, readData: memoryReader(data) }
    for await (const p of encodeRanges(src, ChunkRanges.all())) parts.push(p)
    assert.ok(parts.length > 1)
    for (const p of parts.slice(0, -1)) assert.equal(p.length, 65536)
  })

  test('corrupt data or outboard stops the stream before a bad byte is sent', async () => {
    const good = await encodeToBuffer(data, ob, ChunkRanges.all(), 4)
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.boolean(), async (pos, inOutboard) => {
        const target = inOutboard ? ob.outboard : data
        const bad = target.slice()
        bad[pos % bad.length]! ^= 0x01
        const { out, error } = await run(
          ChunkRanges.all(),
          inOutboard ? { outboard: bad } : { data: bad },
        )
        assert.equal((error as { code?: string }).code, 'BLOB_LOCAL_CORRUPT')
        assert.equal(hex(out), hex(good.subarray(0, out.length)), 'only verified bytes were sent')
      }),
      { numRuns: 40 },
    )
  })

  test('pieces are views of the data read, byte-equal to encodeRanges, at most 64 KiB each', async () => {
    const reads: Uint8Array[] = []
    const readData = async function* (offset: number, length: number): AsyncGenerator<Uint8Array> {
      // pieces of two whole groups: no group straddles two reads, so none needs joining
      for (let at = offset; at < offset + length; at += 32768) {
        const piece = data.slice(at, Math.min(offset + length, at + 32768))
        reads.push(piece)
        yield piece
      }
    }
    const src = { hash: ob.hash, size, outboard: ob.outboard, readData }
    const pieceList: Uint8Array[][] = []
    for await (const p of encodeRangePieces(src, ChunkRanges.all())) pieceList.push(p)
    const good = await encodeToBuffer(data, ob, ChunkRanges.all(), 4)
    assert.equal(hex(concat(pieceList.flat())), hex(good))
    for (const p of pieceList.slice(0, -1)) {
      assert.equal(
        p.reduce((n, v) => n + v.length, 0),
        65536,
      )
    }
    // every data byte went out as a view of an array the reader yielded (no copy)
    const buffers = new Set(reads.map((r) => r.buffer))
    const dataViews = pieceList.flat().filter((v) => buffers.has(v.buffer as ArrayBuffer))
    assert.equal(
      dataViews.reduce((n, v) => n + v.length, 0),
      size,
    )
  })

  test('trusted data goes out without hashing; untrusted data is still checked', async () => {
    const bad = data.slice()
    bad[50_000]! ^= 0x01
    const encode = async (trusted: boolean): Promise<{ out: Uint8Array; error: unknown }> => {
      const src = {
        hash: ob.hash,
        size,
        outboard: ob.outboard,
        readData: memoryReader(bad),
        dataTrusted: () => trusted,
      }
      const parts: Uint8Array[] = []
      try {
        for await (const p of encodeRanges(src, ChunkRanges.all())) parts.push(p)
        return { out: concat(parts), error: undefined }
      } catch (error) {
        return { out: concat(parts), error }
      }
    }
    const checked = await encode(false)
    assert.equal((checked.error as { code?: string }).code, 'BLOB_LOCAL_CORRUPT')
    // trusted: the changed byte is not looked at (the receiver's verification catches it)
    const trusted = await encode(true)
    assert.equal(trusted.error, undefined)
    assert.equal(trusted.out.length, (await encodeToBuffer(data, ob, ChunkRanges.all(), 4)).length)
    // parents are checked even when the data is trusted
    const badOutboard = ob.outboard.slice()
    badOutboard[10]! ^= 0x01
    const src = {
      hash: ob.hash,
      size,
      outboard: badOutboard,
      readData: memoryReader(data),
      dataTrusted: () => true,
    }
    const err = await (async () => {
      for await (const _ of encodeRanges(src, ChunkRanges.all()));
    })().catch((e: unknown) => e)
    assert.equal((err as { reason?: string }).reason, 'outboard-mismatch')
  })

  test('short outboard, short and long data are typed errors', async () => {
    const reason = async (r: Promise<{ error: unknown }>): Promise<string | undefined> =>
      ((await r).error as { reason?: string } | undefined)?.reason
    assert.equal(
      await reason(run(ChunkRanges.all(), { outboard: ob.outboard.subarray(0, 100) })),
      'outboard-short',
    )
    assert.equal(
      await reason(run(ChunkRanges.all(), { data: data.subarray(0, size - 10) })),
      'data-short',
    )
    const longer = concat([data, new Uint8Array(10)])
    const long = {
      hash: ob.hash,
      size,
      outboard: ob.outboard,
      readData: async function* (offset: number, length: number): AsyncGenerator<Uint8Array> {
        yield longer.subarray(offset, offset + length + 10)
      },
    }
    const err = await (async () => {
      for await (const _ of encodeRanges(long, ChunkRanges.all()));
    })().catch((e: unknown) => e)
    assert.equal((err as { reason?: string }).reason, 'data-long')
  })

  test('aborts with the signal reason', async () => {
    const ac = new AbortController()
    ac.abort(new Error('client went away'))
    const { error } = await run(ChunkRanges.all(), { signal: ac.signal })
    assert.equal((error as Error).message, 'client went away')
  })
})

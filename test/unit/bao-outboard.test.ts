// Outboard creation: incremental builder (any piece sizes), the async computeOutboard (which
// must let the event loop run), and rebuilding from chunk-group chaining values.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  ChunkRanges,
  OutboardBuilder,
  blake3,
  computeOutboard,
  jsBackend,
  outboardFromGroupCvs,
  outboardSize,
} from '../../src/bao/index.js'
import { GroupTreeBuilder } from '../../src/bao/group-tree.js'
import {
  INTERESTING_SIZES,
  decodeAll,
  encodeToBuffer,
  hex,
  noise,
  outboardOf,
} from '../helpers/bao.js'

describe('OutboardBuilder', () => {
  test('interesting sizes: hash is BLAKE3, outboard has the documented size, both backends agree', () => {
    for (const size of INTERESTING_SIZES) {
      const data = noise(size, size + 1)
      for (const blockLog of [0, 2, 4]) {
        const a = outboardOf(data, blockLog)
        const b = outboardOf(data, blockLog, jsBackend)
        assert.equal(hex(a.hash), hex(blake3(data)), `${size}/${blockLog}`)
        assert.equal(a.size, size)
        assert.equal(a.outboard.length, outboardSize(size, blockLog))
        assert.equal(hex(a.outboard), hex(b.outboard))
      }
    }
  })

  test('any piece sizes give the same result', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200_000 }),
        fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(0, 1, 4),
        (size, cuts, blockLog) => {
          const data = noise(size, size + 3)
          const want = outboardOf(data, blockLog)
          const b = new OutboardBuilder({ blockLog })
          let off = 0
          for (let i = 0; off < size; i++) {
            const n = cuts[i % cuts.length]!
            b.update(data.subarray(off, off + n)).update(new Uint8Array(0))
            off += n
          }
          const got = b.finish()
          assert.equal(hex(got.hash), hex(want.hash))
          assert.equal(hex(got.outboard), hex(want.outboard))
        },
      ),
      { numRuns: 40 },
    )
  })

  test('exactly one group fed as a whole, then more data', () => {
    const data = noise(3 * 16384)
    const b = new OutboardBuilder()
    b.update(data.subarray(0, 16384)).update(data.subarray(16384))
    assert.equal(hex(b.finish().hash), hex(blake3(data)))
    const single = new OutboardBuilder().update(data.subarray(0, 16384)).finish()
    assert.equal(hex(single.hash), hex(blake3(data.subarray(0, 16384))))
  })

  test('finish twice or update after finish is a programming error', () => {
    const b = new OutboardBuilder()
    b.finish()
    assert.throws(() => b.finish(), RangeError)
    assert.throws(() => b.update(new Uint8Array(1)), RangeError)
  })
})

describe('computeOutboard', () => {
  async function* source(data: Uint8Array, piece: number): AsyncGenerator<Uint8Array> {
    for (let o = 0; o < data.length; o += piece) yield data.subarray(o, o + piece)
  }

  test('matches the builder, for async and sync sources', async () => {
    const data = noise(1_000_003)
    const want = outboardOf(data, 4)
    const a = await computeOutboard(source(data, 65_536))
    const b = await computeOutboard([data])
    for (const got of [a, b]) {
      assert.equal(hex(got.hash), hex(want.hash))
      assert.equal(hex(got.outboard), hex(want.outboard))
      assert.equal(got.size, data.length)
    }
  })

  test('lets the event loop run while hashing, even when fed one big buffer', async () => {
    const data = noise(32 * 1024 * 1024)
    let turns = 0
    let running = true
    const tick = (): void => {
      turns++
      if (running) setImmediate(tick)
    }
    setImmediate(tick)
    await computeOutboard([data], { yieldEvery: 1024 * 1024 })
    running = false
    // one yield per MiB: the ticker must have run at least about that many times
    assert.ok(turns >= 24, `event loop ran only ${turns} times during 32 MiB`)
  })

  test('stops with the abort reason', async () => {
    const ac = new AbortController()
    const reason = new Error('stop now')
    async function* forever(): AsyncGenerator<Uint8Array> {
      for (let i = 0; ; i++) {
        if (i === 3) ac.abort(reason)
        yield noise(2 * 1024 * 1024, i + 1)
      }
    }
    await assert.rejects(
      computeOutboard(forever(), { signal: ac.signal, yieldEvery: 1 << 20 }),
      reason,
    )
  })
})

describe('GroupTreeBuilder', () => {
  test('finishing in slices gives the same outboard as finishing at once', () => {
    const cvs = noise(1000 * 32, 77)
    const whole = new GroupTreeBuilder(jsBackend)
    const sliced = new GroupTreeBuilder(jsBackend)
    for (let i = 0; i < 1000; i++) {
      whole.push(cvs, i * 32)
      sliced.push(cvs, i * 32)
    }
    const want = whole.finish()
    const steps = sliced.finishSteps(7)
    let pauses = 0
    let r = steps.next()
    for (; r.done !== true; r = steps.next()) pauses++
    assert.equal(pauses, Math.floor(999 / 7))
    assert.equal(hex(r.value.outboard), hex(want.outboard))
    assert.equal(hex(r.value.hash), hex(want.hash))
  })
})

describe('outboardFromGroupCvs', () => {
  test('rebuilds outboard and hash from the group CVs a full download reports', async () => {
    for (const size of INTERESTING_SIZES) {
      const data = noise(size, 5)
      const ob = outboardOf(data, 4)
      const enc = await encodeToBuffer(data, ob, ChunkRanges.all(), 4)
      const events = await decodeAll([enc], ob.hash, ChunkRanges.all(), 4)
      const cvs = new Map<number, Uint8Array>()
      for (const e of events)
        if (e.type === 'leaf' && e.group !== undefined) cvs.set(e.group.index, e.group.cv)
      const rebuilt = outboardFromGroupCvs(size, (i) => cvs.get(i)!, 4)
      assert.equal(hex(rebuilt.hash), hex(ob.hash), `size ${size}`)
      assert.equal(hex(rebuilt.outboard), hex(ob.outboard), `size ${size}`)
    }
  })

  test('rejects CVs of the wrong length', () => {
    assert.throws(() => outboardFromGroupCvs(40_000, () => new Uint8Array(31)), RangeError)
  })
})

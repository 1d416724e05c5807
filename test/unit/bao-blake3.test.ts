// BLAKE3 itself: the 35 official vectors (all modes, extended output) on the plain-TS reference,
// plain hashing on both backends, and the WASM fast path cross-checked against the reference.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  type Blake3Backend,
  Blake3Hasher,
  blake3,
  blake3Parts,
  blake3Xof,
  createBlake3Backend,
  jsBackend,
} from '../../src/bao/index.js'
import { blake3Input, hex, loadVectors, noise } from '../helpers/bao.js'

interface Blake3Vectors {
  key: string
  context_string: string
  cases: { input_len: number; hash: string; keyed_hash: string; derive_key: string }[]
}

const V = loadVectors<Blake3Vectors>('blake3-test-vectors.json')
const wasm = createBlake3Backend({ prefer: 'wasm' })
const backends: [string, Blake3Backend][] = [
  ['js', jsBackend],
  ['wasm', wasm],
]

describe('official BLAKE3 vectors', () => {
  test('there are 35 cases', () => assert.equal(V.cases.length, 35))

  test('hash, keyed_hash and derive_key with 131 bytes of extended output (reference)', () => {
    const key = new TextEncoder().encode(V.key)
    for (const c of V.cases) {
      const input = blake3Input(c.input_len)
      const outLen = c.hash.length / 2
      assert.equal(hex(blake3Xof(input, { outLen })), c.hash, `hash ${c.input_len}`)
      assert.equal(hex(blake3Xof(input, { key, outLen })), c.keyed_hash, `keyed ${c.input_len}`)
      const derived = blake3Xof(input, { deriveKeyContext: V.context_string, outLen })
      assert.equal(hex(derived), c.derive_key, `derive_key ${c.input_len}`)
    }
  })

  for (const [name, backend] of backends) {
    test(`blake3() and Blake3Hasher on the ${name} backend`, () => {
      for (const c of V.cases) {
        const input = blake3Input(c.input_len)
        const want = c.hash.slice(0, 64)
        assert.equal(hex(blake3(input, { backend })), want, `one-shot ${c.input_len}`)
        const h = new Blake3Hasher({ backend })
        for (let off = 0; off < input.length; off += 997) h.update(input.subarray(off, off + 997))
        assert.equal(hex(h.digest()), want, `incremental ${c.input_len}`)
      }
    })
  }
})

describe('Blake3Hasher', () => {
  test('any split of the input gives the one-shot hash, on both backends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300_000 }),
        fc.array(fc.integer({ min: 1, max: 80_000 }), { minLength: 1, maxLength: 8 }),
        (len, cuts) => {
          const data = noise(len, len + 7)
          const want = hex(blake3(data, { backend: jsBackend }))
          for (const [, backend] of backends) {
            const h = new Blake3Hasher({ backend })
            let off = 0
            for (let i = 0; off < len; i++) {
              const n = cuts[i % cuts.length]!
              h.update(data.subarray(off, off + n)).update(new Uint8Array(0))
              off += n
            }
            assert.equal(hex(h.digest()), want)
          }
        },
      ),
      { numRuns: 25 },
    )
  })

  test('blake3Parts hashes the concatenation of its parts, on both backends and past 16 KiB', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 9000 }), { minLength: 0, maxLength: 6 }),
        fc.nat(),
        (sizes, seed) => {
          const parts = sizes.map((n, i) => noise(n, seed + i))
          const whole = new Uint8Array(sizes.reduce((a, n) => a + n, 0))
          let at = 0
          for (const p of parts) {
            whole.set(p, at)
            at += p.length
          }
          const expected = hex(blake3(whole, { backend: jsBackend }))
          for (const [, backend] of backends) {
            assert.equal(hex(blake3Parts(parts, { backend })), expected)
          }
        },
      ),
      { numRuns: 60 },
    )
  })

  test('digest does not end the hasher; reset starts over', () => {
    const h = new Blake3Hasher()
    h.update(noise(200_000))
    const first = hex(h.digest())
    assert.equal(hex(h.digest()), first)
    h.update(noise(10))
    assert.notEqual(hex(h.digest()), first)
    h.reset().update(noise(200_000))
    assert.equal(hex(h.digest()), first)
  })

  test('BLAKE3("hello") is the id iroh prints for it', () => {
    const want = 'ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f'
    assert.equal(hex(blake3(new TextEncoder().encode('hello'))), want)
  })
})

describe('WASM fast path against the reference', () => {
  test('subtree CVs at aligned chunk offsets, root and non-root', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 70_000 }),
        fc.integer({ min: 0, max: 2 ** 20 }),
        fc.boolean(),
        (len, k, isRoot) => {
          const data = noise(len, k + 3)
          const chunks = Math.max(1, Math.ceil(len / 1024))
          const span = 2 ** Math.ceil(Math.log2(chunks))
          const start = isRoot ? 0 : k * span
          const a = jsBackend.subtreeCv(data, start, isRoot)
          assert.equal(hex(wasm.subtreeCv(data, start, isRoot)), hex(a))
        },
      ),
      { numRuns: 60 },
    )
  })

  test('group CVs for every block log, including a short last group', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300_000 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 1000 }),
        (len, blockLog, g) => {
          const data = noise(len, len)
          const start = g * 2 ** blockLog
          const groups = Math.ceil(len / (1024 << blockLog))
          const a = new Uint8Array(groups * 32)
          const b = new Uint8Array(groups * 32)
          assert.equal(jsBackend.groupCvs(data, start, blockLog, a, 0), groups)
          assert.equal(wasm.groupCvs(data, start, blockLog, b, 0), groups)
          assert.equal(hex(b), hex(a))
        },
      ),
      { numRuns: 40 },
    )
  })

  test('inputs larger than the WASM buffer are split by the BLAKE3 rule', () => {
    const data = noise(3 * 1024 * 1024 + 5)
    assert.equal(hex(wasm.subtreeCv(data, 0, true)), hex(jsBackend.subtreeCv(data, 0, true)))
    const groups = Math.ceil(data.length / 16384)
    const a = new Uint8Array(groups * 32)
    const b = new Uint8Array(groups * 32)
    jsBackend.groupCvs(data, 0, 4, a, 0)
    wasm.groupCvs(data, 0, 4, b, 0)
    assert.equal(hex(b), hex(a))
  })

  test('parent CVs, root and non-root', () => {
    const pair = noise(64, 9)
    for (const isRoot of [false, true]) {
      const a = new Uint8Array(32)
      const b = new Uint8Array(32)
      jsBackend.parentCv(pair, 0, isRoot, a, 0)
      wasm.parentCv(pair, 0, isRoot, b, 0)
      assert.equal(hex(b), hex(a))
    }
  })
})

describe('backend selection', () => {
  test('a built tree loads the WASM fast path by default', () => {
    assert.equal(createBlake3Backend().kind, 'wasm-simd')
  })

  test("'auto' falls back to plain TS with a debug note when the module is missing", () => {
    const notes: string[] = []
    const missing = new URL('file:///nonexistent/blake3.wasm')
    const b = createBlake3Backend({ wasmUrl: missing, debug: (m) => notes.push(m) })
    assert.equal(b.kind, 'js')
    assert.equal(notes.length, 1)
    assert.match(notes[0]!, /WASM fast path unavailable/)
    assert.match(b.note ?? '', /unavailable/)
    assert.equal(hex(b.subtreeCv(blake3Input(5000), 0, true)), hex(blake3(blake3Input(5000))))
  })

  test("'wasm' throws when the module is missing; 'js' never loads it", () => {
    const missing = new URL('file:///nonexistent/blake3.wasm')
    assert.throws(() => createBlake3Backend({ prefer: 'wasm', wasmUrl: missing }), /ENOENT/)
    assert.equal(createBlake3Backend({ prefer: 'js', wasmUrl: missing }).kind, 'js')
  })
})

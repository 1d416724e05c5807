/**
 * Fuzzing batch verification: mutated valid batches (at the byte level, as
 * they arrive, and at the structure level: items swapped, dropped, borrowed
 * from another batch, indices and proofs edited, headers exchanged) never make
 * verifyBatch throw, and it never accepts anything whose verified content
 * differs from what the author signed.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  decodeSignedBatch,
  verifyBatch,
  type SignedBatch,
  type VerifyResult,
} from '../../src/core/batch.js'
import { Reader, equalBytes } from '../../src/core/codec.js'
import { RhioError } from '../../src/errors/index.js'
import { applyMutations, fuzzParams, mutated, mutationsArb, typedOnly } from '../helpers/fuzz.js'
import { testVerify } from '../helpers/keys.js'
import {
  FUZZ_AUTHOR,
  FUZZ_LIMITS,
  FUZZ_LOG,
  FUZZ_NETWORK,
  batchPool,
  batchWireArb,
  encodeBatchWire,
  signedBatchArb,
} from '../helpers/wire-arbitraries.js'

const OPTIONS = {
  networkId: FUZZ_NETWORK,
  author: FUZZ_AUTHOR.publicKey,
  logId: FUZZ_LOG,
  verify: testVerify,
  maxEntries: FUZZ_LIMITS.maxEntries,
  maxPayload: FUZZ_LIMITS.maxEntryBytes,
}

/** The signed full batch with these header bytes, if the author signed one. */
function signedOriginal(headerBytes: Uint8Array): SignedBatch | undefined {
  return batchPool().find((p) => equalBytes(p.batch.headerBytes, headerBytes))?.batch
}

/**
 * An accepted batch must carry a header the author signed, and every verified
 * entry must be the author's entry at that index, byte for byte.
 */
function assertAuthentic(b: SignedBatch, r: VerifyResult): void {
  if (!r.ok) {
    assert.equal(typeof r.reason, 'string')
    return
  }
  const original = signedOriginal(b.headerBytes)
  assert.ok(original, 'accepted a header the author never signed')
  assert.ok(
    equalBytes(b.signature, original.signature) ||
      testVerify(FUZZ_AUTHOR.publicKey, b.headerBytes, b.signature),
  )
  assert.equal(r.entries.length, b.items.length)
  for (const [k, e] of r.entries.entries()) {
    const it = original.items[e.index]
    assert.ok(it, `accepted an entry at index ${e.index}, beyond the batch`)
    assert.ok(equalBytes(it.bytes, b.items[k]!.bytes), `accepted altered entry ${e.index}`)
  }
}

function verifyNeverThrows(b: SignedBatch): VerifyResult {
  try {
    return verifyBatch(b, OPTIONS)
  } catch (err) {
    throw new Error(`verifyBatch threw ${String(err)}`, { cause: err })
  }
}

test('verifyBatch accepts every valid batch and subset', () => {
  fc.assert(
    fc.property(signedBatchArb, (b) => {
      const r = verifyBatch(b, OPTIONS)
      assert.ok(r.ok, r.ok ? '' : `${r.reason}: ${r.detail}`)
      assertAuthentic(b, r)
    }),
    fuzzParams(1_000),
  )
})

test('verifyBatch on byte-mutated wire batches: never throws, never accepts altered content', () => {
  fc.assert(
    fc.property(mutated(batchWireArb), ({ bytes }) => {
      const b = typedOnly(() => {
        const r = new Reader(bytes)
        const out = decodeSignedBatch(r, FUZZ_LIMITS)
        r.end()
        return out
      }, bytes)
      if (b instanceof RhioError) return
      assertAuthentic(b, verifyNeverThrows(b))
    }),
    fuzzParams(),
  )
})

/** Which part of a batch a byte mutation hits (so most cases still decode and reach verification). */
type Part = 'header' | 'signature' | 'item' | 'proof'

test('verifyBatch on batches with one mutated part: never throws, never accepts altered content', () => {
  const parts = fc.constantFrom<Part>('header', 'signature', 'item', 'item', 'proof')
  fc.assert(
    fc.property(signedBatchArb, parts, fc.nat(), mutationsArb(2), (b, part, which, specs) => {
      const target = pick(b, part, which)
      if (!target) return
      const edited = target.replace(applyMutations(target.bytes, specs).bytes)
      const wire = encodeBatchWire(edited)
      const decoded = typedOnly(() => {
        const r = new Reader(wire)
        const out = decodeSignedBatch(r, FUZZ_LIMITS)
        r.end()
        return out
      }, wire)
      if (decoded instanceof RhioError) return
      assertAuthentic(decoded, verifyNeverThrows(decoded))
    }),
    fuzzParams(),
  )
})

function pick(
  b: SignedBatch,
  part: Part,
  which: number,
): { bytes: Uint8Array; replace: (bytes: Uint8Array) => SignedBatch } | undefined {
  switch (part) {
    case 'header':
      return { bytes: b.headerBytes, replace: (headerBytes) => ({ ...b, headerBytes }) }
    case 'signature':
      // the wire has exactly 64 signature bytes: keep the length
      return {
        bytes: b.signature,
        replace: (s) => ({ ...b, signature: Uint8Array.from({ length: 64 }, (_, i) => s[i] ?? 0) }),
      }
    case 'item': {
      if (b.items.length === 0) return undefined
      const i = which % b.items.length
      return {
        bytes: b.items[i]!.bytes,
        replace: (bytes) => ({
          ...b,
          items: b.items.map((it, k) => (k === i ? { ...it, bytes } : it)),
        }),
      }
    }
    case 'proof': {
      if (b.proof.length === 0) return undefined
      const i = which % b.proof.length
      return {
        bytes: b.proof[i]!,
        replace: (p) => ({
          ...b,
          proof: b.proof.map((x, k) =>
            k === i ? Uint8Array.from({ length: 32 }, (_, j) => p[j] ?? 0) : x,
          ),
        }),
      }
    }
  }
}

type Edit =
  | { op: 'swap'; i: number; j: number }
  | { op: 'drop-item'; i: number }
  | { op: 'dup-item'; i: number }
  | { op: 'reindex'; i: number; index: number }
  | { op: 'borrow-item'; from: number; i: number }
  | { op: 'drop-proof'; i: number }
  | { op: 'dup-proof'; i: number }
  | { op: 'flip-proof'; i: number; bit: number }
  | { op: 'swap-header'; from: number }
  | { op: 'flip-item'; i: number; at: number }

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('swap' as const), i: fc.nat(), j: fc.nat() }),
  fc.record({ op: fc.constant('drop-item' as const), i: fc.nat() }),
  fc.record({ op: fc.constant('dup-item' as const), i: fc.nat() }),
  fc.record({
    op: fc.constant('reindex' as const),
    i: fc.nat(),
    index: fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(-1, 2 ** 31, 2 ** 53 - 1)),
  }),
  fc.record({ op: fc.constant('borrow-item' as const), from: fc.nat(), i: fc.nat() }),
  fc.record({ op: fc.constant('drop-proof' as const), i: fc.nat() }),
  fc.record({ op: fc.constant('dup-proof' as const), i: fc.nat() }),
  fc.record({ op: fc.constant('flip-proof' as const), i: fc.nat(), bit: fc.nat({ max: 255 }) }),
  fc.record({ op: fc.constant('swap-header' as const), from: fc.nat() }),
  fc.record({ op: fc.constant('flip-item' as const), i: fc.nat(), at: fc.nat() }),
)

function applyEdit(b: SignedBatch, e: Edit): SignedBatch {
  const items = [...b.items]
  const proof = [...b.proof]
  const pool = batchPool()
  const at = <T>(xs: T[], i: number): number => (xs.length === 0 ? -1 : i % xs.length)
  switch (e.op) {
    case 'swap': {
      const i = at(items, e.i)
      const j = at(items, e.j)
      if (i >= 0) [items[i], items[j]] = [items[j]!, items[i]!]
      break
    }
    case 'drop-item':
      if (items.length) items.splice(at(items, e.i), 1)
      break
    case 'dup-item':
      if (items.length) items.splice(at(items, e.i), 0, items[at(items, e.i)]!)
      break
    case 'reindex':
      if (items.length) items[at(items, e.i)] = { ...items[at(items, e.i)]!, index: e.index }
      break
    case 'borrow-item': {
      const other = pool[e.from % pool.length]!.batch.items
      const it = other[e.i % other.length]!
      items.splice(Math.min(items.length, it.index), 0, it)
      break
    }
    case 'drop-proof':
      if (proof.length) proof.splice(at(proof, e.i), 1)
      break
    case 'dup-proof':
      if (proof.length) proof.splice(at(proof, e.i), 0, proof[at(proof, e.i)]!)
      break
    case 'flip-proof':
      if (proof.length) {
        const p = Uint8Array.from(proof[at(proof, e.i)]!)
        p[e.bit % 32] = p[e.bit % 32]! ^ (1 << (e.bit % 8))
        proof[at(proof, e.i)] = p
      }
      break
    case 'swap-header': {
      const other = pool[e.from % pool.length]!.batch
      return {
        ...b,
        items,
        proof,
        header: other.header,
        headerBytes: other.headerBytes,
        signature: other.signature,
      }
    }
    case 'flip-item':
      if (items.length) {
        const i = at(items, e.i)
        const bytes = Uint8Array.from(items[i]!.bytes)
        if (bytes.length) bytes[e.at % bytes.length] = bytes[e.at % bytes.length]! ^ 1
        items[i] = { ...items[i]!, bytes }
      }
      break
  }
  return { ...b, items, proof }
}

test('verifyBatch on structurally edited batches: never throws, never accepts altered content', () => {
  fc.assert(
    fc.property(signedBatchArb, fc.array(edit, { minLength: 1, maxLength: 3 }), (b, edits) => {
      const edited = edits.reduce(applyEdit, b)
      assertAuthentic(edited, verifyNeverThrows(edited))
    }),
    fuzzParams(),
  )
})

test('verifyBatch refuses valid batches for another network, author or log', () => {
  fc.assert(
    fc.property(signedBatchArb, fc.constantFrom('network', 'author', 'log'), (b, what) => {
      const r = verifyBatch(b, {
        ...OPTIONS,
        ...(what === 'network' ? { networkId: new Uint8Array(32) } : {}),
        ...(what === 'author' ? { author: new Uint8Array(32).fill(1) } : {}),
        ...(what === 'log' ? { logId: 'another log' } : {}),
      })
      assert.equal(r.ok, false)
      if (!r.ok) assert.equal(r.reason, `wrong-${what}`)
    }),
    fuzzParams(1_000),
  )
})

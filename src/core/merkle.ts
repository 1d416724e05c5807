/**
 * Merkle trees over the entries of a signed batch, with multiproofs.
 *
 * Shape: left-balanced like BLAKE3 — a range of m > 1 leaves splits so the left
 * side holds the largest power of two smaller than m. The shape depends only on
 * the leaf count, which is part of the signed batch header.
 *
 * A multiproof for a sorted set of selected leaf indices lists the hashes of the
 * maximal subtrees that contain no selected leaf, in depth-first left-to-right
 * order. Selecting every leaf needs no proof at all; a single leaf needs
 * ceil(log2(count)) hashes. Any holder of a subset S (its leaves plus its proof)
 * can derive the proof for any T ⊆ S (see `partialTreeHasher`), which is what
 * lets subscribers forward filtered subsets of an author's batch.
 */
import { nodeHash } from './hash.js'

export type RangeHasher = (lo: number, hi: number) => Uint8Array

export function splitPoint(lo: number, hi: number): number {
  const m = hi - lo
  let p = 1
  while (p * 2 < m) p *= 2
  return lo + p
}

/** Hashes of arbitrary subtrees computed from all leaves (the author's view). */
export function fullTreeHasher(leaves: readonly Uint8Array[]): RangeHasher {
  const rec = (lo: number, hi: number): Uint8Array => {
    if (hi - lo === 1) return leaves[lo]!
    const mid = splitPoint(lo, hi)
    return nodeHash(rec(lo, mid), rec(mid, hi))
  }
  return rec
}

export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) throw new RangeError('merkle tree needs at least one leaf')
  return fullTreeHasher(leaves)(0, leaves.length)
}

/**
 * The multiproof for `selected` (sorted, unique, each < count), using `hash`
 * for the maximal unselected subtrees.
 */
export function buildProof(
  count: number,
  selected: readonly number[],
  hash: RangeHasher,
): Uint8Array[] {
  const proof: Uint8Array[] = []
  let cursor = 0 // index into selected
  const rec = (lo: number, hi: number): void => {
    // selected[cursor] is the first selected index >= lo (if any)
    const next = selected[cursor]
    if (next === undefined || next >= hi) {
      proof.push(hash(lo, hi))
      return
    }
    if (hi - lo === 1) {
      cursor++
      return
    }
    const mid = splitPoint(lo, hi)
    rec(lo, mid)
    rec(mid, hi)
  }
  if (selected.length > 0) rec(0, count)
  return proof
}

export type ProofResult = { ok: true; root: Uint8Array } | { ok: false; reason: string }

/**
 * Recomputes the root from selected leaves and their multiproof. `leaves[i]`
 * is the hash of leaf `indices[i]`; indices must be sorted and unique. When
 * `record` is given it receives every subtree hash seen (used to derive
 * proofs for subsets).
 */
export function rootFromProof(
  count: number,
  indices: readonly number[],
  leaves: readonly Uint8Array[],
  proof: readonly Uint8Array[],
  record?: (lo: number, hi: number, hash: Uint8Array) => void,
): ProofResult {
  if (count < 1) return { ok: false, reason: 'empty tree' }
  if (indices.length === 0) return { ok: false, reason: 'no leaves selected' }
  for (let i = 0; i < indices.length; i++) {
    const x = indices[i]!
    if (!Number.isInteger(x) || x < 0 || x >= count)
      return { ok: false, reason: `leaf index ${x} out of range` }
    if (i > 0 && x <= indices[i - 1]!)
      return { ok: false, reason: 'leaf indices not strictly increasing' }
  }
  let cursor = 0
  let p = 0
  let failed: string | undefined
  const rec = (lo: number, hi: number): Uint8Array => {
    const next = indices[cursor]
    let h: Uint8Array
    if (next === undefined || next >= hi) {
      const ph = proof[p++]
      if (ph === undefined) {
        failed = 'proof too short'
        return new Uint8Array(32)
      }
      h = ph
    } else if (hi - lo === 1) {
      h = leaves[cursor++]!
    } else {
      const mid = splitPoint(lo, hi)
      h = nodeHash(rec(lo, mid), rec(mid, hi))
    }
    record?.(lo, hi, h)
    return h
  }
  const root = rec(0, count)
  if (failed) return { ok: false, reason: failed }
  if (p !== proof.length) return { ok: false, reason: 'proof too long' }
  return { ok: true, root }
}

/**
 * Subtree hashes available to a holder of a subset: every subtree that contains
 * one of its leaves, and every maximal subtree in its proof. Sufficient to build
 * the proof for any subset of its leaves. Returns undefined when the proof does
 * not check out.
 */
export function partialTreeHasher(
  count: number,
  indices: readonly number[],
  leaves: readonly Uint8Array[],
  proof: readonly Uint8Array[],
): { root: Uint8Array; hash: RangeHasher } | undefined {
  const known = new Map<number, Uint8Array>()
  const key = (lo: number, hi: number): number => lo * (count + 1) + hi
  const r = rootFromProof(count, indices, leaves, proof, (lo, hi, h) => known.set(key(lo, hi), h))
  if (!r.ok) return undefined
  return {
    root: r.root,
    hash: (lo, hi) => {
      const h = known.get(key(lo, hi))
      if (!h) throw new RangeError(`subtree ${lo}..${hi} is not derivable from this subset`)
      return h
    },
  }
}

/**
 * Hashes of rhio's signed structures: BLAKE3 (the same function as blob ids
 * and the original's network id). Leaves and inner nodes of batch Merkle
 * trees are domain-separated (0x00 / 0x01 prefixes, as RFC 6962) so a leaf can
 * never be passed off as an inner node or the reverse.
 */
import { blake3, blake3Parts } from '../bao/index.js'

export const HASH_LEN = 32

/** BLAKE3 of the concatenation of `parts` (written straight into the hasher, not joined). */
export function digest(...parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? blake3(parts[0]!) : blake3Parts(parts)
}

const LEAF = Uint8Array.of(0)
const NODE = Uint8Array.of(1)

export function leafHash(entryContext: Uint8Array, entryBytes: Uint8Array): Uint8Array {
  return digest(LEAF, entryContext, entryBytes)
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return digest(NODE, left, right)
}

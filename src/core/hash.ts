/**
 * Hashes of rhio's signed structures. Leaves and inner nodes of batch Merkle
 * trees are domain-separated (0x00 / 0x01 prefixes, as RFC 6962) so a leaf can
 * never be passed off as an inner node or the reverse.
 */
import { createHash } from 'node:crypto'

export const HASH_LEN = 32

// Interim: SHA-256 until the BLAKE3 module lands; callers only see `digest`.
export function digest(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

const LEAF = Uint8Array.of(0)
const NODE = Uint8Array.of(1)

export function leafHash(entryContext: Uint8Array, entryBytes: Uint8Array): Uint8Array {
  return digest(LEAF, entryContext, entryBytes)
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return digest(NODE, left, right)
}

/**
 * Hashes of rhio's signed structures: BLAKE3 (the same function as blob ids
 * and the original's network id). Leaves and inner nodes of batch Merkle
 * trees are domain-separated (0x00 / 0x01 prefixes, as RFC 6962) so a leaf can
 * never be passed off as an inner node or the reverse.
 */
import { blake3, Blake3Hasher } from '../bao/index.js'

export const HASH_LEN = 32

const SMALL = 16 * 1024

/** BLAKE3 of the concatenation of `parts`. */
export function digest(...parts: Uint8Array[]): Uint8Array {
  let total = 0
  for (const p of parts) total += p.length
  if (parts.length === 1) return blake3(parts[0]!)
  if (total <= SMALL) {
    const buf = new Uint8Array(total)
    let o = 0
    for (const p of parts) {
      buf.set(p, o)
      o += p.length
    }
    return blake3(buf)
  }
  const h = new Blake3Hasher()
  for (const p of parts) h.update(p)
  return h.digest()
}

const LEAF = Uint8Array.of(0)
const NODE = Uint8Array.of(1)

export function leafHash(entryContext: Uint8Array, entryBytes: Uint8Array): Uint8Array {
  return digest(LEAF, entryContext, entryBytes)
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return digest(NODE, left, right)
}

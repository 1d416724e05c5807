/**
 * Text forms of blob hashes, as iroh prints and parses them: lowercase RFC 4648 base32 without
 * padding (52 characters) for display, JSON and rhio's meta files; 64-char hex accepted on input.
 */
import { BlobHashParseError } from './errors.js'

/** A blob id: the 32-byte BLAKE3 hash of the content. */
export type BlobHash = Uint8Array

export const HASH_LEN = 32

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
const DECODE = new Int8Array(128).fill(-1)
for (let i = 0; i < 32; i++) {
  DECODE[ALPHABET.charCodeAt(i)] = i
  DECODE[ALPHABET.toUpperCase().charCodeAt(i)] = i
}

function checkLength(hash: Uint8Array): void {
  if (hash.length !== HASH_LEN) throw new RangeError(`a blob hash has 32 bytes, got ${hash.length}`)
}

/** iroh's display form: 52 lowercase base32 characters. */
export function hashToBase32(hash: BlobHash): string {
  checkLength(hash)
  let out = ''
  let acc = 0
  let bits = 0
  for (const byte of hash) {
    acc = (acc << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += ALPHABET[(acc >>> bits) & 31]
    }
    acc &= (1 << bits) - 1
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31]
  return out
}

/** 64 lowercase hex characters. */
export function hashToHex(hash: BlobHash): string {
  checkLength(hash)
  let out = ''
  for (const byte of hash) out += byte.toString(16).padStart(2, '0')
  return out
}

function parseHex(s: string): BlobHash | undefined {
  if (!/^[0-9a-fA-F]{64}$/.test(s)) return undefined
  const out = new Uint8Array(HASH_LEN)
  for (let i = 0; i < HASH_LEN; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16)
  return out
}

function parseBase32(s: string): BlobHash | string {
  const out = new Uint8Array(HASH_LEN)
  let acc = 0
  let bits = 0
  let pos = 0
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i)
    const v = code < 128 ? DECODE[code]! : -1
    if (v < 0) return `invalid base32 character at ${i}`
    acc = ((acc << 5) | v) & 0xfff
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out[pos++] = (acc >>> bits) & 0xff
    }
  }
  // 52 characters carry 260 bits; the 4 left over must be zero (canonical form).
  if ((acc & ((1 << bits) - 1)) !== 0) return 'non-canonical base32 (trailing bits set)'
  return out
}

/**
 * Parses a blob hash from iroh's base32 form (52 chars, either case) or hex (64 chars).
 * Throws BlobHashParseError (code BLOB_HASH_INVALID) otherwise.
 */
export function parseBlobHash(text: string): BlobHash {
  if (text.length === 64) {
    const hash = parseHex(text)
    if (hash === undefined) throw new BlobHashParseError(text, 'invalid hex')
    return hash
  }
  if (text.length === 52) {
    const hash = parseBase32(text)
    if (typeof hash === 'string') throw new BlobHashParseError(text, hash)
    return hash
  }
  throw new BlobHashParseError(text, `expected 52 base32 or 64 hex characters, got ${text.length}`)
}

/** Constant-shape equality of two hashes (or any byte strings). */
export function hashEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

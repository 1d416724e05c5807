/**
 * Plain-TypeScript BLAKE3 tree primitives: chunk chaining values at any chunk counter, parent
 * merges (non-root and root), subtree chaining values at any (aligned) chunk offset, and the root
 * output including extended output, keyed hashing and key derivation.
 *
 * This is the reference path every faster backend is checked against. Pure: no I/O.
 */
import { compress } from './compress.gen.js'

export const CHUNK_LEN = 1024
export const BLOCK_LEN = 64
export const OUT_LEN = 32

export const CHUNK_START = 1
export const CHUNK_END = 2
export const PARENT = 4
export const ROOT = 8
export const KEYED_HASH = 16
export const DERIVE_KEY_CONTEXT = 32
export const DERIVE_KEY_MATERIAL = 64

export const IV = Uint32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
)

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1

// Scratch space (this module is synchronous and never re-entered, so sharing is safe).
const chunkBytes = new Uint8Array(CHUNK_LEN)
const chunkWords = new Uint32Array(chunkBytes.buffer)
const cvWords = new Uint32Array(16)

function swapWords(words: Uint32Array, start: number, count: number): void {
  for (let i = start; i < start + count; i++) {
    const w = words[i]!
    words[i] = ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24)
  }
}

/** Copies `len` (<= 1024) bytes into the aligned scratch chunk, zero-padding to a block boundary. */
function loadChunk(data: Uint8Array, off: number, len: number): void {
  chunkBytes.set(off === 0 && len === data.length ? data : data.subarray(off, off + len))
  const padded = len === 0 ? BLOCK_LEN : Math.ceil(len / BLOCK_LEN) * BLOCK_LEN
  if (padded > len) chunkBytes.fill(0, len, padded)
  if (!LITTLE_ENDIAN) swapWords(chunkWords, 0, padded >>> 2)
}

/** Writes 8 words as 32 little-endian bytes (byte stores: cheaper than a view for 32 bytes). */
function storeCv(words: Uint32Array, wo: number, out: Uint8Array, oo: number): void {
  for (let i = 0; i < 8; i++) {
    const w = words[wo + i]!
    out[oo + 4 * i] = w
    out[oo + 4 * i + 1] = w >>> 8
    out[oo + 4 * i + 2] = w >>> 16
    out[oo + 4 * i + 3] = w >>> 24
  }
}

/** Reads `count` little-endian words from bytes into words[wo..]. */
export function loadWords(
  bytes: Uint8Array,
  bo: number,
  count: number,
  words: Uint32Array,
  wo: number,
): void {
  for (let i = 0; i < count; i++) {
    const p = bo + 4 * i
    words[wo + i] = bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24)
  }
}

/**
 * The inputs of the last compression of a node. A node's chaining value is its first 8 output
 * words; the root's output bytes are its outputs with ROOT set and counter 0, 1, 2, ...
 */
export interface NodeOutput {
  readonly cv: Uint32Array
  readonly block: Uint32Array
  readonly counter: number
  readonly blockLen: number
  readonly flags: number
}

// What the last chunkPrefix call left for the chunk's last block (module state, so hashing a
// chunk allocates nothing): its first word in the scratch chunk, its length and its flags.
let lastWord = 0
let lastLen = 0
let lastFlags = 0

/**
 * Compresses all blocks but the last of the chunk `data[off..off+len]` (len <= 1024, chunk
 * index `counter`), leaving the scratch chunk loaded, the intermediate chaining value in `cv`
 * and the last block's parameters in lastWord / lastLen / lastFlags.
 */
function chunkPrefix(
  data: Uint8Array,
  off: number,
  len: number,
  counter: number,
  key: Uint32Array,
  flags: number,
  cv: Uint32Array,
): void {
  loadChunk(data, off, len)
  const blocks = len === 0 ? 1 : Math.ceil(len / BLOCK_LEN)
  cv.set(key)
  for (let b = 0; b < blocks - 1; b++) {
    compress(
      cv,
      0,
      chunkWords,
      b * 16,
      counter,
      BLOCK_LEN,
      flags | (b === 0 ? CHUNK_START : 0),
      cv,
      0,
      false,
    )
  }
  lastWord = (blocks - 1) * 16
  lastLen = len - (blocks - 1) * BLOCK_LEN
  lastFlags = flags | CHUNK_END | (blocks === 1 ? CHUNK_START : 0)
}

/**
 * Chaining value of one chunk (`len` <= 1024 bytes at `off`) with chunk index `counter`; ROOT is
 * set when `isRoot` (the chunk is the whole input), giving the 32-byte hash. Result to out[oo..].
 */
export function chunkCv(
  data: Uint8Array,
  off: number,
  len: number,
  counter: number,
  isRoot: boolean,
  out: Uint8Array,
  oo: number,
): void {
  chunkPrefix(data, off, len, counter, IV, 0, cvWords)
  const flags = lastFlags | (isRoot ? ROOT : 0)
  compress(cvWords, 0, chunkWords, lastWord, counter, lastLen, flags, cvWords, 0, false)
  storeCv(cvWords, 0, out, oo)
}

/** Parent chaining value of the pair `pair[po..po+64]` = left CV ‖ right CV. */
export function parentCv(
  pair: Uint8Array,
  po: number,
  isRoot: boolean,
  out: Uint8Array,
  oo: number,
): void {
  loadWords(pair, po, 16, chunkWords, 0)
  compress(IV, 0, chunkWords, 0, 0, BLOCK_LEN, PARENT | (isRoot ? ROOT : 0), cvWords, 0, false)
  storeCv(cvWords, 0, out, oo)
}

/** Number of chunks of a node of `len` bytes (an empty input is one empty chunk). */
export function chunkCount(len: number): number {
  return len === 0 ? 1 : Math.ceil(len / CHUNK_LEN)
}

/**
 * Chaining value of the subtree formed by `data`, whose first chunk has index `startChunk`
 * (`startChunk` must be a multiple of the subtree's power-of-two chunk span, which splitting
 * with the BLAKE3 rule guarantees). With `isRoot`, the result is the BLAKE3 hash of `data`.
 *
 * Chunks are hashed first, then merged level by level, pairing from the left and carrying an odd
 * last node up: this builds exactly BLAKE3's left-balanced tree.
 */
export function subtreeCv(data: Uint8Array, startChunk: number, isRoot: boolean): Uint8Array {
  const out = new Uint8Array(OUT_LEN)
  const n = chunkCount(data.length)
  if (n === 1) {
    chunkCv(data, 0, data.length, startChunk, isRoot, out, 0)
    return out
  }
  const words = new Uint32Array(n * 8)
  for (let i = 0; i < n; i++) {
    const off = i * CHUNK_LEN
    const len = Math.min(CHUNK_LEN, data.length - off)
    chunkPrefix(data, off, len, startChunk + i, IV, 0, cvWords)
    compress(
      cvWords,
      0,
      chunkWords,
      lastWord,
      startChunk + i,
      lastLen,
      lastFlags,
      words,
      i * 8,
      false,
    )
  }
  mergeLevels(words, n, isRoot)
  storeCv(words, 0, out, 0)
  return out
}

/** Merges `count` (>= 2) chaining values in `words` into one at words[0..8]. */
export function mergeLevels(words: Uint32Array, count: number, isRoot: boolean): void {
  let n = count
  while (n > 1) {
    const pairs = n >>> 1
    const top = n === 2
    for (let p = 0; p < pairs; p++) {
      const flags = PARENT | (top && isRoot ? ROOT : 0)
      compress(IV, 0, words, p * 16, 0, BLOCK_LEN, flags, words, p * 8, false)
    }
    if (n & 1) words.copyWithin(pairs * 8, (n - 1) * 8, n * 8)
    n = pairs + (n & 1)
  }
}

// ------------------------------------------------------------------ root output, keyed, XOF

/** Largest power of two <= n (n >= 1, n <= 2^53). */
export function pow2AtMost(n: number): number {
  let p = 2 ** Math.floor(Math.log2(n))
  while (p > n) p /= 2
  while (p * 2 <= n) p *= 2
  return p
}

/** BLAKE3's split of a node of `len` > 1024 bytes: the left side's length in bytes. */
export function leftLen(len: number): number {
  return CHUNK_LEN * pow2AtMost(Math.floor((len - 1) / CHUNK_LEN))
}

function nodeCv(
  data: Uint8Array,
  startChunk: number,
  key: Uint32Array,
  flags: number,
): Uint32Array {
  const out = nodeOutput(data, startChunk, key, flags)
  const cv = new Uint32Array(16)
  compress(out.cv, 0, out.block, 0, out.counter, out.blockLen, out.flags, cv, 0, false)
  return cv
}

/** Recursive reference: the last compression inputs of the (sub)tree of `data`. */
function nodeOutput(
  data: Uint8Array,
  startChunk: number,
  key: Uint32Array,
  flags: number,
): NodeOutput {
  if (data.length <= CHUNK_LEN) {
    const cv = new Uint32Array(8)
    chunkPrefix(data, 0, data.length, startChunk, key, flags, cv)
    const block = chunkWords.slice(lastWord, lastWord + 16)
    return { cv, block, counter: startChunk, blockLen: lastLen, flags: lastFlags }
  }
  const l = leftLen(data.length)
  const left = nodeCv(data.subarray(0, l), startChunk, key, flags)
  const right = nodeCv(data.subarray(l), startChunk + l / CHUNK_LEN, key, flags)
  const block = new Uint32Array(16)
  block.set(left.subarray(0, 8), 0)
  block.set(right.subarray(0, 8), 8)
  return { cv: key.slice(0, 8), block, counter: 0, blockLen: BLOCK_LEN, flags: flags | PARENT }
}

/** `outLen` bytes of root output of a node (BLAKE3 extended output). */
export function rootBytes(node: NodeOutput, outLen: number): Uint8Array {
  const out = new Uint8Array(outLen)
  const words = new Uint32Array(16)
  for (let i = 0, pos = 0; pos < outLen; i++, pos += 64) {
    compress(node.cv, 0, node.block, 0, i, node.blockLen, node.flags | ROOT, words, 0, true)
    if (!LITTLE_ENDIAN) swapWords(words, 0, 16)
    out.set(new Uint8Array(words.buffer).subarray(0, Math.min(64, outLen - pos)), pos)
  }
  return out
}

export interface Blake3XofOptions {
  /** 32-byte key: keyed hashing mode. */
  readonly key?: Uint8Array
  /** Context string: key derivation mode (`data` is the key material). */
  readonly deriveKeyContext?: string
  /** Output length in bytes; default 32. */
  readonly outLen?: number
}

/**
 * Reference BLAKE3 in all three modes with extended output. Slow and simple (recursive); the
 * fast paths only do plain 32-byte hashing, which is all blob ids need.
 */
export function blake3Xof(data: Uint8Array, opts: Blake3XofOptions = {}): Uint8Array {
  const outLen = opts.outLen ?? OUT_LEN
  if (opts.key !== undefined) {
    if (opts.key.length !== 32) throw new RangeError('BLAKE3 key must be 32 bytes')
    const key = new Uint32Array(8)
    loadWords(opts.key, 0, 8, key, 0)
    return rootBytes(nodeOutput(data, 0, key, KEYED_HASH), outLen)
  }
  if (opts.deriveKeyContext !== undefined) {
    const context = new TextEncoder().encode(opts.deriveKeyContext)
    const contextKey = rootBytes(nodeOutput(context, 0, IV, DERIVE_KEY_CONTEXT), 32)
    const key = new Uint32Array(8)
    loadWords(contextKey, 0, 8, key, 0)
    return rootBytes(nodeOutput(data, 0, key, DERIVE_KEY_MATERIAL), outLen)
  }
  return rootBytes(nodeOutput(data, 0, IV, 0), outLen)
}

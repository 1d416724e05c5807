// BLAKE3 tree hashing fast path (WASM SIMD). The JavaScript side copies input into the
// buffer at inputPtr() (at most capacity() bytes), calls one function, and reads the result at
// outputPtr(). Counters are passed as f64 (exact up to 2^53) to avoid BigInt conversions.
// The plain-TS path in src/bao/blake3-core.ts is the reference this is tested against.
import { compress1, hash4 } from './_blake3_kernel'

const CHUNK_START: u32 = 1
const CHUNK_END: u32 = 2
const PARENT: u32 = 4
const ROOT: u32 = 8

const CAPACITY: usize = 1 << 20
const MAX_CHUNKS: usize = CAPACITY >> 10

// Memory layout, after AssemblyScript's static data. Nothing is allocated dynamically.
const IN: usize = (__heap_base + 63) & ~(<usize>63)
const CVS: usize = IN + CAPACITY // one chaining value per chunk of the input
const OUT: usize = CVS + (MAX_CHUNKS << 5) // results: chaining values
const KEY: usize = OUT + (MAX_CHUNKS << 5) // the IV, as key words
const TMPCV: usize = KEY + 32
const BLOCK: usize = TMPCV + 32 // zero-padded last block of a short chunk
const MSG: usize = BLOCK + 64 // 256 bytes: the transposed message block of hash4
const END: usize = MSG + 256

const pagesNeeded = <i32>((END + 0xffff) >> 16)
if (memory.size() < pagesNeeded) memory.grow(pagesNeeded - memory.size())
store<u32>(KEY, 0x6a09e667, 0)
store<u32>(KEY, 0xbb67ae85, 4)
store<u32>(KEY, 0x3c6ef372, 8)
store<u32>(KEY, 0xa54ff53a, 12)
store<u32>(KEY, 0x510e527f, 16)
store<u32>(KEY, 0x9b05688c, 20)
store<u32>(KEY, 0x1f83d9ab, 24)
store<u32>(KEY, 0x5be0cd19, 28)

export function inputPtr(): usize {
  return IN
}

export function outputPtr(): usize {
  return OUT
}

export function capacity(): usize {
  return CAPACITY
}

/** Chaining value of one chunk of `len` <= 1024 bytes (scalar). */
function chunkCv(input: usize, len: usize, counter: u64, flags: u32, out: usize): void {
  memory.copy(TMPCV, KEY, 32)
  const blocks: usize = len == 0 ? 1 : (len + 63) >> 6
  for (let b: usize = 0; b + 1 < blocks; b++) {
    compress1(TMPCV, input + (b << 6), counter, 64, b == 0 ? CHUNK_START : 0, TMPCV)
  }
  const lastOff = (blocks - 1) << 6
  const lastLen = len - lastOff
  memory.fill(BLOCK, 0, 64)
  memory.copy(BLOCK, input + lastOff, lastLen)
  let f = flags | CHUNK_END
  if (blocks == 1) f |= CHUNK_START
  compress1(TMPCV, BLOCK, counter, <u32>lastLen, f, out)
}

/** Chaining values of all chunks of the input, four full chunks at a time. Returns their count. */
function chunkCvs(input: usize, len: usize, start: u64, cvs: usize): usize {
  const n: usize = len == 0 ? 1 : (len + 1023) >> 10
  const full: usize = len >> 10
  let i: usize = 0
  while (i + 4 <= full) {
    hash4(input + (i << 10), 1024, 16, start + i, 1, 0, CHUNK_START, CHUNK_END, cvs + (i << 5), MSG)
    i += 4
  }
  while (i < n) {
    const off = i << 10
    chunkCv(input + off, min<usize>(len - off, 1024), start + i, 0, cvs + (i << 5))
    i++
  }
  return n
}

/**
 * Merges `count` chaining values at `cvs` (in place) into the CV of their subtree: pairs from
 * the left, an odd last node carried up, which is BLAKE3's left-balanced tree.
 */
function merge(cvs: usize, count: usize, isRoot: bool, out: usize): void {
  if (count == 1) {
    memory.copy(out, cvs, 32)
    return
  }
  let n = count
  while (n > 2) {
    const pairs = n >> 1
    let p: usize = 0
    while (p + 4 <= pairs) {
      hash4(cvs + (p << 6), 64, 1, 0, 0, PARENT, 0, 0, cvs + (p << 5), MSG)
      p += 4
    }
    while (p < pairs) {
      compress1(KEY, cvs + (p << 6), 0, 64, PARENT, cvs + (p << 5))
      p++
    }
    if (n & 1) memory.copy(cvs + (pairs << 5), cvs + ((n - 1) << 5), 32)
    n = pairs + (n & 1)
  }
  compress1(KEY, cvs, 0, 64, isRoot ? PARENT | ROOT : PARENT, out)
}

/** CV (or, with isRoot, the hash) of the subtree formed by the `len` input bytes. */
export function subtreeCv(len: usize, startChunk: f64, isRoot: bool): void {
  const start = <u64>startChunk
  if (len <= 1024) {
    chunkCv(IN, len, start, isRoot ? ROOT : 0, OUT)
    return
  }
  merge(CVS, chunkCvs(IN, len, start, CVS), isRoot, OUT)
}

/** Non-root CVs of the consecutive groups of 2^groupLog chunks in the input. Returns the count. */
export function groupCvs(len: usize, startChunk: f64, groupLog: u32): usize {
  const n = chunkCvs(IN, len, <u64>startChunk, CVS)
  const per: usize = 1 << groupLog
  const groups = (n + per - 1) >> groupLog
  for (let g: usize = 0; g < groups; g++) {
    const first = g << groupLog
    merge(CVS + (first << 5), min<usize>(per, n - first), false, OUT + (g << 5))
  }
  return groups
}

/** Parent CV of the 64-byte pair at the input. */
export function parentCv(isRoot: bool): void {
  compress1(KEY, IN, 0, 64, isRoot ? PARENT | ROOT : PARENT, OUT)
}

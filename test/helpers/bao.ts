// Shared pieces of the bao tests: vector files, input generators, encode/decode to buffers.
import { readFileSync } from 'node:fs'
import {
  type Blake3Backend,
  type ChunkRanges,
  type DecodeEvent,
  OutboardBuilder,
  type OutboardResult,
  decodeStream,
  encodeRanges,
} from '../../src/bao/index.js'

/**
 * Sizes worth testing, once, with the reason: empty; one byte; a chunk -1/exact/+1; a 16 KiB
 * group -1/exact/+1 (the outboard starts at two groups); two groups +1 (a third, short group);
 * an odd number of groups; 64 groups +1 (the 1 MiB WASM batch boundary).
 */
export const INTERESTING_SIZES = [
  0,
  1,
  1023,
  1024,
  1025,
  16383,
  16384,
  16385,
  32769,
  5 * 16384 + 100,
  64 * 16384 + 1,
]

/** Reads a vector file from test/fixtures/vectors (the source tree, not dist). */
export function loadVectors<T>(name: string): T {
  const url = new URL(`../../../test/fixtures/vectors/${name}`, import.meta.url)
  return JSON.parse(readFileSync(url, 'utf8')) as T
}

/** bao's generate_input.py: a little-endian u32 counter starting at 1, truncated to `len`. */
export function baoInput(len: number): Uint8Array {
  const out = new Uint8Array(len)
  for (let i = 0; i < len; i++) out[i] = ((Math.floor(i / 4) + 1) >>> (8 * (i % 4))) & 0xff
  return out
}

/** BLAKE3 official vectors' input: byte i = i mod 251. */
export function blake3Input(len: number): Uint8Array {
  const out = new Uint8Array(len)
  for (let i = 0; i < len; i++) out[i] = i % 251
  return out
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function noise(len: number, seed = 1): Uint8Array {
  const out = new Uint8Array(len)
  let x = seed | 0 || 1
  for (let i = 0; i < len; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'))
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}

export function outboardOf(
  data: Uint8Array,
  blockLog: number,
  backend?: Blake3Backend,
): OutboardResult {
  const opts = backend === undefined ? { blockLog } : { blockLog, backend }
  return new OutboardBuilder(opts).update(data).finish()
}

export interface ReadLog {
  readonly calls: { offset: number; length: number }[]
}

/** A readData over an in-memory blob that serves each span in pieces of `piece` bytes. */
export function memoryReader(data: Uint8Array, piece = 7000, log?: ReadLog) {
  return async function* read(offset: number, length: number): AsyncGenerator<Uint8Array> {
    log?.calls.push({ offset, length })
    for (let o = offset; o < offset + length; o += piece) {
      yield data.subarray(o, Math.min(o + piece, offset + length))
    }
  }
}

/** The whole response for `ranges` of `data`, as one buffer. */
export async function encodeToBuffer(
  data: Uint8Array,
  ob: OutboardResult,
  ranges: ChunkRanges,
  blockLog: number,
  backend?: Blake3Backend,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  const src = {
    hash: ob.hash,
    size: data.length,
    outboard: ob.outboard,
    readData: memoryReader(data),
  }
  const opts = backend === undefined ? { blockLog } : { blockLog, backend }
  for await (const p of encodeRanges(src, ranges, opts)) parts.push(p)
  return concat(parts)
}

/** Splits a buffer into pieces of the given sizes (cycled). */
export function* pieces(bytes: Uint8Array, sizes: readonly number[]): Generator<Uint8Array> {
  let i = 0
  for (let off = 0; off < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length] ?? 1)
    yield bytes.subarray(off, off + n)
    off += n
  }
}

/** All verified events of a response. */
export async function decodeAll(
  stream: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  hash: Uint8Array,
  ranges: ChunkRanges,
  blockLog: number,
  backend?: Blake3Backend,
): Promise<DecodeEvent[]> {
  const events: DecodeEvent[] = []
  const opts = backend === undefined ? { blockLog } : { blockLog, backend }
  for await (const ev of decodeStream(stream, hash, ranges, opts)) events.push(ev)
  return events
}

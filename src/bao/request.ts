/**
 * iroh-blobs (v0.34) request encoding, byte-compatible with its postcard serialisation:
 *   Request::Get(GetRequest { hash, ranges: RangeSpecSeq })  =  00 ‖ hash (32) ‖ RangeSpecSeq
 *   RangeSpec     = varint count ‖ varint deltas of the ChunkRanges boundaries
 *   RangeSpecSeq  = varint count ‖ (varint run, RangeSpec)*; "the previous spec repeats `run`
 *                   times, then this one applies" (starting from the empty spec); the last spec
 *                   applies to every later index. Index 0 is the blob itself, 1.. the children
 *                   of a hash sequence.
 * Varints are unsigned LEB128 (postcard), u64 at most.
 */
import { BlobRequestError } from './errors.js'
import { HASH_LEN } from './hash-text.js'
import { ChunkRanges, U64_MAX } from './ranges.js'

/** Limits for decoding untrusted requests. */
export const MAX_RANGE_BOUNDARIES = 4096
export const MAX_SEQ_ENTRIES = 1024

class Writer {
  readonly bytes: number[] = []

  varint(v: bigint): void {
    let x = v
    while (x >= 0x80n) {
      this.bytes.push(Number(x & 0x7fn) | 0x80)
      x >>= 7n
    }
    this.bytes.push(Number(x))
  }

  raw(b: Uint8Array): void {
    for (const x of b) this.bytes.push(x)
  }
}

class Reader {
  #pos = 0
  readonly #b: Uint8Array

  constructor(b: Uint8Array) {
    this.#b = b
  }

  get done(): boolean {
    return this.#pos === this.#b.length
  }

  varint(what: string): bigint {
    let v = 0n
    for (let i = 0; i < 10; i++) {
      const byte = this.#b[this.#pos++]
      if (byte === undefined) throw new BlobRequestError(`truncated ${what}`)
      v |= BigInt(byte & 0x7f) << BigInt(7 * i)
      if ((byte & 0x80) === 0) {
        if (v > U64_MAX) throw new BlobRequestError(`${what} exceeds u64`)
        return v
      }
    }
    throw new BlobRequestError(`${what}: varint longer than 10 bytes`)
  }

  raw(n: number, what: string): Uint8Array {
    if (this.#pos + n > this.#b.length) throw new BlobRequestError(`truncated ${what}`)
    const out = this.#b.slice(this.#pos, this.#pos + n)
    this.#pos += n
    return out
  }
}

function writeSpec(w: Writer, ranges: ChunkRanges): void {
  const bs = ranges.boundaries
  w.varint(BigInt(bs.length))
  let prev = 0n
  for (const b of bs) {
    w.varint(b - prev)
    prev = b
  }
}

function readSpec(r: Reader): ChunkRanges {
  const count = r.varint('range spec length')
  if (count > BigInt(MAX_RANGE_BOUNDARIES)) {
    throw new BlobRequestError(`range spec has ${count} boundaries (max ${MAX_RANGE_BOUNDARIES})`)
  }
  const bs: bigint[] = []
  let acc = 0n
  for (let i = 0; i < Number(count); i++) {
    const delta = r.varint('range spec delta')
    if (i > 0 && delta === 0n) throw new BlobRequestError('range spec boundaries not increasing')
    acc += delta
    if (acc > U64_MAX) throw new BlobRequestError('range spec boundary exceeds u64')
    bs.push(acc)
  }
  return ChunkRanges.fromBoundaries(bs)
}

/** postcard bytes of a RangeSpec. */
export function encodeRangeSpec(ranges: ChunkRanges): Uint8Array {
  const w = new Writer()
  writeSpec(w, ranges)
  return Uint8Array.from(w.bytes)
}

/** Parses a RangeSpec; throws BlobRequestError (BLOB_REQUEST_INVALID). */
export function decodeRangeSpec(bytes: Uint8Array): ChunkRanges {
  const r = new Reader(bytes)
  const spec = readSpec(r)
  if (!r.done) throw new BlobRequestError('trailing bytes after range spec')
  return spec
}

export interface RangeSpecRun {
  /** How many more times the previous spec applies before this one. */
  readonly run: bigint
  readonly ranges: ChunkRanges
}

/** Ranges for a blob (index 0) and the children of a hash sequence (1, 2, ...). */
export class RangeSpecSeq {
  readonly entries: readonly RangeSpecRun[]

  private constructor(entries: readonly RangeSpecRun[]) {
    this.entries = Object.freeze(entries)
  }

  /** Nothing at all. */
  static empty(): RangeSpecSeq {
    return new RangeSpecSeq([])
  }

  /** Everything, for the blob and all children. */
  static all(): RangeSpecSeq {
    return new RangeSpecSeq([{ run: 0n, ranges: ChunkRanges.all() }])
  }

  /** The i-th ranges apply to index i; nothing after the list. */
  static fromRanges(list: readonly ChunkRanges[]): RangeSpecSeq {
    return RangeSpecSeq.fromRangesInfinite([...list, ChunkRanges.empty()])
  }

  /** The i-th ranges apply to index i; the last ones to every later index too. */
  static fromRangesInfinite(list: readonly ChunkRanges[]): RangeSpecSeq {
    const entries: RangeSpecRun[] = []
    let count = 0n
    for (const ranges of list) {
      const prev = entries[entries.length - 1]?.ranges ?? ChunkRanges.empty()
      if (ranges.equals(prev)) {
        count++
      } else {
        entries.push({ run: count, ranges })
        count = 1n
      }
    }
    return new RangeSpecSeq(entries)
  }

  /** The ranges requested for index `i` (0 = the blob itself). */
  get(index: number | bigint): ChunkRanges {
    const i = BigInt(index)
    let current = ChunkRanges.empty()
    let pos = 0n
    for (const e of this.entries) {
      pos += e.run
      if (i < pos) return current
      current = e.ranges
    }
    return current
  }

  /** True when nothing beyond index 0 is requested (a plain blob request). */
  get isSingle(): boolean {
    let start = 0n
    for (let k = 0; k < this.entries.length; k++) {
      const e = this.entries[k]!
      start += e.run
      const next = this.entries[k + 1]
      const end = next === undefined ? undefined : start + next.run
      const reachesChildren = end === undefined || (end > 1n && end > start)
      if (reachesChildren && !e.ranges.isEmpty) return false
    }
    return true
  }

  encode(): Uint8Array {
    const w = new Writer()
    writeSeq(w, this)
    return Uint8Array.from(w.bytes)
  }

  static decode(bytes: Uint8Array): RangeSpecSeq {
    const r = new Reader(bytes)
    const seq = readSeq(r)
    if (!r.done) throw new BlobRequestError('trailing bytes after range spec sequence')
    return seq
  }

  /** From runs as they appear on the wire (no normalisation). */
  static fromEntries(entries: readonly RangeSpecRun[]): RangeSpecSeq {
    return new RangeSpecSeq(entries)
  }
}

function writeSeq(w: Writer, seq: RangeSpecSeq): void {
  w.varint(BigInt(seq.entries.length))
  for (const e of seq.entries) {
    w.varint(e.run)
    writeSpec(w, e.ranges)
  }
}

function readSeq(r: Reader): RangeSpecSeq {
  const count = r.varint('range spec sequence length')
  if (count > BigInt(MAX_SEQ_ENTRIES)) {
    throw new BlobRequestError(`range spec sequence has ${count} entries (max ${MAX_SEQ_ENTRIES})`)
  }
  const entries: RangeSpecRun[] = []
  for (let i = 0; i < Number(count); i++) {
    const run = r.varint('run length')
    entries.push({ run, ranges: readSpec(r) })
  }
  return RangeSpecSeq.fromEntries(entries)
}

/** iroh-blobs `GetRequest`: a hash and the ranges wanted of it (and its children). */
export interface GetRequest {
  readonly hash: Uint8Array
  readonly ranges: RangeSpecSeq
}

/** A request for `ranges` of one blob (iroh `GetRequest::new(hash, RangeSpecSeq::from_ranges([ranges]))`). */
export function getRequest(hash: Uint8Array, ranges: ChunkRanges = ChunkRanges.all()): GetRequest {
  return { hash, ranges: RangeSpecSeq.fromRanges([ranges]) }
}

/** postcard bytes of `Request::Get(request)`. */
export function encodeGetRequest(request: GetRequest): Uint8Array {
  if (request.hash.length !== HASH_LEN) throw new RangeError('blob hash must be 32 bytes')
  const w = new Writer()
  w.varint(0n) // Request::Get
  w.raw(request.hash)
  writeSeq(w, request.ranges)
  return Uint8Array.from(w.bytes)
}

/** Parses `Request::Get`; throws BlobRequestError for anything else or malformed bytes. */
export function decodeGetRequest(bytes: Uint8Array): GetRequest {
  const r = new Reader(bytes)
  const variant = r.varint('request variant')
  if (variant !== 0n) throw new BlobRequestError(`unsupported request variant ${variant}`)
  const hash = r.raw(HASH_LEN, 'hash')
  const ranges = readSeq(r)
  if (!r.done) throw new BlobRequestError('trailing bytes after request')
  return { hash, ranges }
}

/**
 * `ChunkRanges`: a set of 1 KiB chunk numbers as sorted boundaries (bao-tree / iroh-blobs
 * `ChunkRanges`): boundaries alternate on/off starting "off" at 0, and an odd count means the
 * last range is open-ended. Chunk numbers are u64, held as bigint (a size proof asks for
 * chunk 2^64 - 1).
 */
import { CHUNK_LEN } from './blake3-core.js'

export const U64_MAX = (1n << 64n) - 1n

export type ChunkNum = bigint | number

/** One range of a set: `end` undefined means open-ended. */
export interface ChunkRange {
  readonly start: bigint
  readonly end: bigint | undefined
}

function toChunk(v: ChunkNum, what: string): bigint {
  const b = typeof v === 'bigint' ? v : Number.isSafeInteger(v) ? BigInt(v) : -1n
  if (b < 0n || b > U64_MAX) throw new RangeError(`${what} must be a u64 chunk number, got ${v}`)
  return b
}

type Op = (a: boolean, b: boolean) => boolean

/** Merge of two boundary lists under a boolean operation, minimal output. */
function combine(a: readonly bigint[], b: readonly bigint[], op: Op): bigint[] {
  const out: bigint[] = []
  let i = 0
  let j = 0
  let inA = false
  let inB = false
  let state = false
  while (i < a.length || j < b.length) {
    const x = i < a.length ? a[i]! : undefined
    const y = j < b.length ? b[j]! : undefined
    const at = x === undefined ? y! : y === undefined ? x : x < y ? x : y
    if (x === at) {
      inA = !inA
      i++
    }
    if (y === at) {
      inB = !inB
      j++
    }
    const next = op(inA, inB)
    if (next !== state) {
      out.push(at)
      state = next
    }
  }
  return out
}

export class ChunkRanges {
  /** Strictly increasing boundaries. */
  readonly boundaries: readonly bigint[]

  private constructor(boundaries: readonly bigint[]) {
    this.boundaries = Object.freeze(boundaries)
  }

  static empty(): ChunkRanges {
    return new ChunkRanges([])
  }

  static all(): ChunkRanges {
    return new ChunkRanges([0n])
  }

  /** Chunks `start..end` (end exclusive), or `start..` when `end` is omitted. */
  static from(start: ChunkNum, end?: ChunkNum): ChunkRanges {
    const s = toChunk(start, 'start')
    if (end === undefined) return new ChunkRanges([s])
    const e = toChunk(end, 'end')
    return e <= s ? ChunkRanges.empty() : new ChunkRanges([s, e])
  }

  /** The last chunk, whatever the size: requesting it proves the size (`ChunkNum(u64::MAX)..`). */
  static sizeProof(): ChunkRanges {
    return new ChunkRanges([U64_MAX])
  }

  /** The chunks covering bytes `start..end` (end exclusive; omitted: to the end). */
  static bytes(start: ChunkNum, end?: ChunkNum): ChunkRanges {
    const s = toChunk(start, 'start') / BigInt(CHUNK_LEN)
    if (end === undefined) return new ChunkRanges([s])
    const e = toChunk(end, 'end')
    const ce = (e + BigInt(CHUNK_LEN) - 1n) / BigInt(CHUNK_LEN)
    return ce <= s ? ChunkRanges.empty() : new ChunkRanges([s, ce])
  }

  /** From boundaries; throws RangeError unless strictly increasing u64 values. */
  static fromBoundaries(boundaries: readonly ChunkNum[]): ChunkRanges {
    const bs = boundaries.map((b, i) => toChunk(b, `boundary ${i}`))
    for (let i = 1; i < bs.length; i++) {
      if (bs[i]! <= bs[i - 1]!) throw new RangeError('boundaries must be strictly increasing')
    }
    return new ChunkRanges(bs)
  }

  /** Union of several sets. */
  static union(...sets: ChunkRanges[]): ChunkRanges {
    return sets.reduce((acc, s) => acc.union(s), ChunkRanges.empty())
  }

  get isEmpty(): boolean {
    return this.boundaries.length === 0
  }

  get isAll(): boolean {
    return this.boundaries.length === 1 && this.boundaries[0] === 0n
  }

  contains(chunk: ChunkNum): boolean {
    const c = toChunk(chunk, 'chunk')
    let n = 0
    for (const b of this.boundaries) {
      if (b > c) break
      n++
    }
    return (n & 1) === 1
  }

  union(other: ChunkRanges): ChunkRanges {
    return new ChunkRanges(combine(this.boundaries, other.boundaries, (a, b) => a || b))
  }

  intersection(other: ChunkRanges): ChunkRanges {
    return new ChunkRanges(combine(this.boundaries, other.boundaries, (a, b) => a && b))
  }

  difference(other: ChunkRanges): ChunkRanges {
    return new ChunkRanges(combine(this.boundaries, other.boundaries, (a, b) => a && !b))
  }

  /** Every chunk not in this set. */
  complement(): ChunkRanges {
    return ChunkRanges.all().difference(this)
  }

  equals(other: ChunkRanges): boolean {
    const a = this.boundaries
    const b = other.boundaries
    return a.length === b.length && a.every((x, i) => x === b[i])
  }

  /** The ranges in order. */
  ranges(): ChunkRange[] {
    const out: ChunkRange[] = []
    const bs = this.boundaries
    for (let i = 0; i < bs.length; i += 2) out.push({ start: bs[i]!, end: bs[i + 1] })
    return out
  }

  /** Like bao-tree's Debug form: `0..16, 48..`; `∅` when empty. */
  toString(): string {
    if (this.isEmpty) return '∅'
    return this.ranges()
      .map((r) => `${r.start}..${r.end ?? ''}`)
      .join(', ')
  }
}

/**
 * bao-tree's `truncate_ranges` for a blob of `size` bytes, as plain numbers: anything selected
 * at or beyond the last chunk becomes an open range that includes the last chunk (a request
 * past the end is a request for the size proof). Boundaries beyond the last chunk are clamped to
 * the chunk count, which keeps the meaning: such a start selects the last chunk but never fully
 * covers a node. Mirrors `rec.rs::truncated_len` case by case.
 */
export function truncateRanges(ranges: ChunkRanges, size: number): number[] {
  const chunks = Math.ceil(size / CHUNK_LEN)
  const lc = BigInt(Math.max(chunks - 1, 0))
  const bs = ranges.boundaries
  let keep: number
  const found = bs.indexOf(lc)
  if (found >= 0) {
    keep = found % 2 === 0 || bs.length === found + 1 ? found + 1 : found
  } else {
    let ip = 0
    while (ip < bs.length && bs[ip]! < lc) ip++
    keep = ip % 2 === 0 && ip < bs.length ? ip + 1 : ip
  }
  const limit = BigInt(Math.max(chunks, 1))
  return bs.slice(0, keep).map((b) => Number(b < limit ? b : limit))
}

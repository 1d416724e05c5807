/**
 * bao-tree geometry with chunk groups: which nodes a response for a set of chunk ranges
 * contains, in pre-order, and where stored parents sit in a pre-order outboard.
 *
 * The tree is BLAKE3's: 1 KiB chunks, left-balanced. A chunk group is 2^blockLog chunks
 * (iroh: blockLog 4 = 16 KiB). Parents whose subtree spans more than one group are stored in
 * the outboard (64 bytes each, pre-order) and always sent; parents inside a group are neither
 * stored nor sent when the whole group is selected (the receiver hashes the group in one go), and
 * sent bao-style when the group is selected partially. This is bao-tree's
 * `select_nodes_rec` / `encode_selected_rec` with `min_level = blockLog`.
 */
import { CHUNK_LEN, chunkCount, pow2AtMost } from './blake3-core.js'

/** iroh's chunk group: 16 chunks = 16 KiB (`IROH_BLOCK_SIZE = BlockSize::from_chunk_log(4)`). */
export const IROH_BLOCK_LOG = 4

/** A parent node of a response: its 64-byte pair (left CV ‖ right CV) is sent. */
export interface PlanParent {
  readonly kind: 'parent'
  /** First chunk of the node. */
  readonly startChunk: number
  /** Bytes the node covers. */
  readonly size: number
  /** bao-tree level: 0 for a node of two chunks; the node spans 2^(level+1) chunks. */
  readonly level: number
  readonly isRoot: boolean
  /** Whether the left / right child is part of the response. */
  readonly left: boolean
  readonly right: boolean
  /** Index of the pair in the pre-order outboard, or -1 for a parent inside a chunk group. */
  readonly outboardIndex: number
}

/** A leaf of a response: the node's raw bytes (one chunk, or a whole subtree of <= one group). */
export interface PlanLeaf {
  readonly kind: 'leaf'
  readonly startChunk: number
  /** Byte offset of the data in the blob. */
  readonly offset: number
  /** Bytes of data. */
  readonly size: number
  readonly isRoot: boolean
  /** The group index when this leaf is exactly one whole chunk group, else -1. */
  readonly group: number
}

export type PlanItem = PlanParent | PlanLeaf

/** Number of boundaries <= x. */
function upperBound(bs: readonly number[], x: number): number {
  let lo = 0
  let hi = bs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (bs[mid]! <= x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Whether the set `bs` selects any chunk of [start, end). */
export function intersects(bs: readonly number[], start: number, end: number): boolean {
  const i = upperBound(bs, start)
  return (i & 1) === 1 || (i < bs.length && bs[i]! < end)
}

/** Whether the set `bs` selects every chunk of [start, end). */
export function covers(bs: readonly number[], start: number, end: number): boolean {
  const i = upperBound(bs, start)
  return (i & 1) === 1 && (i === bs.length || bs[i]! >= end)
}

function nextPow2(n: number): number {
  const p = pow2AtMost(n)
  return p === n ? p : p * 2
}

interface Frame {
  readonly startChunk: number
  readonly size: number
  readonly isRoot: boolean
  readonly pre: number
}

/**
 * The items of a response for a blob of `size` bytes and truncated ranges `bs` (see
 * `truncateRanges`), in the order they are sent. Nodes on the right edge (containing the last
 * chunk) count as extending to infinity, as in bao-tree.
 */
export function* responsePlan(
  size: number,
  bs: readonly number[],
  blockLog: number,
): Generator<PlanItem, void, undefined> {
  if (bs.length === 0) return
  const groupChunks = 2 ** blockLog
  const stack: Frame[] = [{ startChunk: 0, size, isRoot: true, pre: 0 }]
  for (let f = stack.pop(); f !== undefined; f = stack.pop()) {
    const chunks = chunkCount(f.size)
    const rightEdge = f.startChunk * CHUNK_LEN + f.size === size
    const end = rightEdge ? Infinity : f.startChunk + chunks
    if (!intersects(bs, f.startChunk, end)) continue
    const span = nextPow2(chunks)
    const level = Math.log2(span) - 1
    if (f.size <= CHUNK_LEN || (level < blockLog && covers(bs, f.startChunk, end))) {
      const whole = f.startChunk % groupChunks === 0 && (chunks === groupChunks || rightEdge)
      yield {
        kind: 'leaf',
        startChunk: f.startChunk,
        offset: f.startChunk * CHUNK_LEN,
        size: f.size,
        isRoot: f.isRoot,
        group: whole ? f.startChunk / groupChunks : -1,
      }
      continue
    }
    const leftChunks = span / 2
    const mid = f.startChunk + leftChunks
    const stored = level >= blockLog
    const leftPre = stored ? f.pre + 1 : f.pre
    const rightPre = stored ? leftPre + leftChunks / groupChunks - 1 : f.pre
    const left = intersects(bs, f.startChunk, mid)
    const right = intersects(bs, mid, end)
    yield {
      kind: 'parent',
      startChunk: f.startChunk,
      size: f.size,
      level,
      isRoot: f.isRoot,
      left,
      right,
      outboardIndex: stored ? f.pre : -1,
    }
    const leftBytes = leftChunks * CHUNK_LEN
    if (right) {
      stack.push({ startChunk: mid, size: f.size - leftBytes, isRoot: false, pre: rightPre })
    }
    if (left) stack.push({ startChunk: f.startChunk, size: leftBytes, isRoot: false, pre: leftPre })
  }
}

/** Bytes of the pre-order outboard of a blob: 64 per stored parent, one fewer than groups. */
export function outboardSize(size: number, blockLog: number = IROH_BLOCK_LOG): number {
  const groups = size === 0 ? 1 : Math.ceil(size / (CHUNK_LEN * 2 ** blockLog))
  return 64 * (groups - 1)
}

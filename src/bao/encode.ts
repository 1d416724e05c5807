/**
 * Serving side: the response to a request for some chunk ranges of a blob, as iroh-blobs sends
 * it (8-byte little-endian size, then parents and leaves in pre-order), validated while it is
 * produced like bao-tree's `encode_ranges_validated`: every parent read from the outboard and
 * every byte read from the data is checked against the blob hash before it is emitted, and a
 * mismatch throws BlobLocalDataError instead of sending bad bytes.
 */
import { type Blake3Backend, checkBlockLog } from './backend.js'
import { CHUNK_LEN } from './blake3-core.js'
import { GroupReader, PieceOutput, type ReadData, dataSpans, joinPiece } from './encode-io.js'
import { BlobLocalDataError } from './errors.js'
import { hashEquals } from './hash-text.js'
import { type ChunkRanges, truncateRanges } from './ranges.js'
import { IROH_BLOCK_LOG, type PlanParent, responsePlan } from './tree.js'
import { defaultBlake3Backend } from './wasm-backend.js'
import { yieldToEventLoop } from './yield.js'

/** Random access to a pre-order outboard: `length` bytes from byte `offset`. */
export type ReadOutboard = (offset: number, length: number) => Uint8Array | Promise<Uint8Array>

export type { ReadData }

export interface EncodeSource {
  /** The blob hash everything is validated against. */
  readonly hash: Uint8Array
  readonly size: number
  /** The pre-order outboard (no size prefix), in memory or behind a reader. */
  readonly outboard: Uint8Array | ReadOutboard
  /** Called once per contiguous span of selected chunk groups, in increasing order. */
  readonly readData: ReadData
  /**
   * Asked before each leaf is hashed: true when the data being read is known to be the bytes the
   * outboard was computed from (e.g. the store reports the ETag the object had when it was
   * hashed), so the leaf goes out without hashing it again. Parents are checked regardless.
   */
  readonly dataTrusted?: () => boolean
}

export interface EncodeOptions {
  readonly blockLog?: number
  readonly backend?: Blake3Backend
  readonly signal?: AbortSignal
  /** Size of the emitted byte chunks (the last may be smaller); default 64 KiB. */
  readonly chunkSize?: number
  /** Yield to the event loop after validating this many bytes (default 4 MiB). */
  readonly yieldEvery?: number
}

/**
 * The response bytes for `ranges` of the blob described by `src`, validated against `src.hash`.
 * Data is read in contiguous spans of whole chunk groups (a partially selected group is read
 * whole: its inner parents are computed from it). Throws BlobLocalDataError on any mismatch.
 */
export async function* encodeRanges(
  src: EncodeSource,
  ranges: ChunkRanges,
  opts: EncodeOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const piece of encodeRangePieces(src, ranges, opts)) yield joinPiece(piece)
}

/**
 * encodeRanges without copying: each piece (at most `chunkSize` bytes) is a list of views of the
 * data as read, the outboard's parents and the size header. For a sender that frames and
 * encrypts pieces as lists (the blob provider); the views must be consumed, never changed.
 */
export async function* encodeRangePieces(
  src: EncodeSource,
  ranges: ChunkRanges,
  opts: EncodeOptions = {},
): AsyncGenerator<Uint8Array[], void, undefined> {
  const blockLog = opts.blockLog ?? IROH_BLOCK_LOG
  checkBlockLog(blockLog)
  const backend = opts.backend ?? defaultBlake3Backend()
  const out = new PieceOutput(opts.chunkSize ?? 64 * 1024)
  const trusted = src.dataTrusted ?? (() => false)
  const size = src.size
  const header = new Uint8Array(8)
  new DataView(header.buffer).setBigUint64(0, BigInt(size), true)
  out.write(header)
  const bs = truncateRanges(ranges, size)
  const reader = new GroupReader(dataSpans(size, bs, blockLog), src.readData, opts.signal)
  const groupBytes = CHUNK_LEN << blockLog
  const readOutboard: ReadOutboard =
    src.outboard instanceof Uint8Array ? inMemory(src.outboard) : src.outboard
  let group = -1
  let groupData: Uint8Array = new Uint8Array(0)
  const gc = 2 ** blockLog
  const groupRange = (g: number): [number, number] => [
    g * groupBytes,
    Math.min(size, (g + 1) * groupBytes),
  ]
  // The group holding a node, without awaiting when its bytes are already buffered (the usual case).
  const cachedGroup = (g: number): Uint8Array | undefined => {
    if (g === group) return groupData
    const data = reader.tryBytes(...groupRange(g))
    if (data === undefined) return undefined
    group = g
    groupData = data
    return data
  }
  const loadGroup = async (g: number): Promise<Uint8Array> => {
    groupData = await reader.bytes(...groupRange(g))
    group = g
    return groupData
  }
  const stack: Uint8Array[] = [src.hash]
  const cv = new Uint8Array(32)
  const step = opts.yieldEvery ?? 4 * 1024 * 1024
  let since = 0
  try {
    for (const item of responsePlan(size, bs, blockLog)) {
      opts.signal?.throwIfAborted()
      const expected = stack.pop()!
      const at = item.startChunk * CHUNK_LEN
      const g = Math.floor(item.startChunk / gc)
      if (item.kind === 'parent') {
        let pair: Uint8Array
        if (item.outboardIndex >= 0) {
          const read = readOutboard(item.outboardIndex * 64, 64)
          pair = read instanceof Uint8Array ? read : await read
          if (pair.length !== 64)
            throw new BlobLocalDataError('outboard-short', at, 'outboard too short')
        } else {
          pair = innerPair(item, cachedGroup(g) ?? (await loadGroup(g)), g * groupBytes, backend)
        }
        backend.parentCv(pair, 0, item.isRoot, cv, 0)
        if (!hashEquals(cv, expected)) {
          const reason = item.outboardIndex >= 0 ? 'outboard-mismatch' : 'data-mismatch'
          throw new BlobLocalDataError(reason, at, 'parent does not match its chaining value')
        }
        if (item.right) stack.push(pair.subarray(32, 64))
        if (item.left) stack.push(pair.subarray(0, 32))
        out.write(pair)
      } else {
        const off = at - g * groupBytes
        const data = (cachedGroup(g) ?? (await loadGroup(g))).subarray(off, off + item.size)
        const ok =
          trusted() || hashEquals(backend.subtreeCv(data, item.startChunk, item.isRoot), expected)
        if (!ok) {
          throw new BlobLocalDataError('data-mismatch', at, 'data does not match the outboard')
        }
        out.write(data)
      }
      if (out.ready.length > 0) yield* out.ready.splice(0)
      since += item.kind === 'leaf' ? item.size : 64
      if (since >= step) {
        since = 0
        await yieldToEventLoop()
      }
    }
    await reader.close()
    out.flush()
    yield* out.ready.splice(0)
  } finally {
    await reader.cancel()
  }
}

function inMemory(outboard: Uint8Array): ReadOutboard {
  return (offset, length) => outboard.subarray(offset, offset + length)
}

/** The pair of a parent inside a chunk group, hashed from the group's data. */
function innerPair(
  item: PlanParent,
  group: Uint8Array,
  groupStart: number,
  backend: Blake3Backend,
): Uint8Array {
  const off = item.startChunk * CHUNK_LEN - groupStart
  const data = group.subarray(off, off + item.size)
  const leftBytes = 2 ** item.level * CHUNK_LEN
  const pair = new Uint8Array(64)
  pair.set(backend.subtreeCv(data.subarray(0, leftBytes), item.startChunk, false), 0)
  const rightStart = item.startChunk + leftBytes / CHUNK_LEN
  pair.set(backend.subtreeCv(data.subarray(leftBytes), rightStart, false), 32)
  return pair
}

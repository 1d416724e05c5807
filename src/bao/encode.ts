/**
 * Serving side: the response to a request for some chunk ranges of a blob, as iroh-blobs sends
 * it (8-byte little-endian size, then parents and leaves in pre-order), validated while it is
 * produced like bao-tree's `encode_ranges_validated`: every parent read from the outboard and
 * every byte read from the data is checked against the blob hash before it is emitted, and a
 * mismatch throws BlobLocalDataError instead of sending bad bytes.
 */
import { type Blake3Backend, checkBlockLog } from './backend.js'
import { CHUNK_LEN } from './blake3-core.js'
import { BlobLocalDataError } from './errors.js'
import { hashEquals } from './hash-text.js'
import { type ChunkRanges, truncateRanges } from './ranges.js'
import { IROH_BLOCK_LOG, type PlanParent, responsePlan } from './tree.js'
import { defaultBlake3Backend } from './wasm-backend.js'

/** Reads `length` bytes of the blob from `offset`, as one stream (e.g. one S3 ranged GET). */
export type ReadData = (
  offset: number,
  length: number,
  opts: { readonly signal?: AbortSignal },
) => AsyncIterable<Uint8Array>

/** Random access to a pre-order outboard: `length` bytes from byte `offset`. */
export type ReadOutboard = (offset: number, length: number) => Uint8Array | Promise<Uint8Array>

export interface EncodeSource {
  /** The blob hash everything is validated against. */
  readonly hash: Uint8Array
  readonly size: number
  /** The pre-order outboard (no size prefix), in memory or behind a reader. */
  readonly outboard: Uint8Array | ReadOutboard
  /** Called once per contiguous span of selected chunk groups, in increasing order. */
  readonly readData: ReadData
}

export interface EncodeOptions {
  readonly blockLog?: number
  readonly backend?: Blake3Backend
  readonly signal?: AbortSignal
  /** Size of the emitted byte chunks (the last may be smaller); default 64 KiB. */
  readonly chunkSize?: number
}

interface Span {
  readonly start: number
  readonly end: number
}

/** Byte spans of the chunk groups a response touches, merged where adjacent. */
export function dataSpans(size: number, bs: readonly number[], blockLog: number): Span[] {
  if (size === 0 || bs.length === 0) return []
  const chunks = Math.ceil(size / CHUNK_LEN)
  const gc = 2 ** blockLog
  const groups = Math.ceil(chunks / gc)
  const out: Span[] = []
  for (let i = 0; i < bs.length; i += 2) {
    const a = bs[i]!
    const b = bs[i + 1] ?? Infinity
    const g0 = a >= chunks ? groups - 1 : Math.floor(a / gc)
    const g1 = a >= chunks ? groups : Math.ceil(Math.min(b, chunks) / gc)
    const last = out[out.length - 1]
    const start = g0 * gc * CHUNK_LEN
    const end = Math.min(size, g1 * gc * CHUNK_LEN)
    if (last !== undefined && start <= last.end) out[out.length - 1] = { start: last.start, end }
    else out.push({ start, end })
  }
  return out
}

/** Delivers the data of the selected groups in order, one readData call per span. */
class GroupReader {
  readonly #spans: Span[]
  readonly #read: ReadData
  readonly #signal: AbortSignal | undefined
  #span = -1
  #it: AsyncIterator<Uint8Array> | undefined
  #carry: Uint8Array = new Uint8Array(0)
  #pos = 0

  constructor(spans: Span[], read: ReadData, signal: AbortSignal | undefined) {
    this.#spans = spans
    this.#read = read
    this.#signal = signal
  }

  /** Bytes [start, end) of the blob; calls must go forward through the spans. */
  async bytes(start: number, end: number): Promise<Uint8Array> {
    if (start === end) return new Uint8Array(0)
    if (this.#span < 0 || start >= this.#spans[this.#span]!.end) await this.#nextSpan(start)
    if (start !== this.#pos)
      throw new RangeError(`GroupReader: expected offset ${this.#pos}, got ${start}`)
    const want = end - start
    let piece = this.#carry
    if (piece.length === 0) piece = await this.#pull(start)
    if (piece.length >= want) {
      this.#carry = piece.subarray(want)
      this.#pos = end
      return piece.subarray(0, want)
    }
    const out = new Uint8Array(want)
    let filled = 0
    for (;;) {
      const n = Math.min(piece.length, want - filled)
      out.set(piece.subarray(0, n), filled)
      filled += n
      if (filled === want) {
        this.#carry = piece.subarray(n)
        break
      }
      piece = await this.#pull(start + filled)
    }
    this.#pos = end
    return out
  }

  async #pull(at: number): Promise<Uint8Array> {
    for (;;) {
      const r = await this.#it!.next()
      if (r.done === true) throw new BlobLocalDataError('data-short', at, 'data reader ended early')
      if (r.value.length > 0) return r.value
    }
  }

  async #nextSpan(start: number): Promise<void> {
    await this.close()
    while (++this.#span < this.#spans.length && this.#spans[this.#span]!.end <= start);
    const span = this.#spans[this.#span]
    if (span === undefined || span.start > start) {
      throw new RangeError(`GroupReader: offset ${start} is outside the planned spans`)
    }
    const opts = this.#signal === undefined ? {} : { signal: this.#signal }
    this.#it = this.#read(span.start, span.end - span.start, opts)[Symbol.asyncIterator]()
    this.#pos = span.start
  }

  /** Stops reading (after an error or early return); never throws. */
  async cancel(): Promise<void> {
    const it = this.#it
    this.#it = undefined
    try {
      await it?.return?.()
    } catch {
      // the reader failing to stop adds nothing to the error being handled
    }
  }

  /** Ends the current span, checking that the reader delivered no more than asked. */
  async close(): Promise<void> {
    const it = this.#it
    if (it === undefined) return
    this.#it = undefined
    const extra = this.#carry.length > 0 ? this.#carry.length : 0
    this.#carry = new Uint8Array(0)
    if (extra > 0) {
      await it.return?.()
      throw new BlobLocalDataError('data-long', this.#pos, 'data reader returned extra bytes')
    }
    const r = await it.next()
    if (r.done !== true) {
      await it.return?.()
      if (r.value.length > 0) {
        throw new BlobLocalDataError('data-long', this.#pos, 'data reader returned extra bytes')
      }
    }
  }
}

/** Collects output into chunks of a fixed size. */
class ChunkedOutput {
  readonly #size: number
  #buf: Uint8Array
  #len = 0
  readonly ready: Uint8Array[] = []

  constructor(size: number) {
    this.#size = size
    this.#buf = new Uint8Array(size)
  }

  write(bytes: Uint8Array): void {
    let off = 0
    while (off < bytes.length) {
      const n = Math.min(this.#size - this.#len, bytes.length - off)
      this.#buf.set(bytes.subarray(off, off + n), this.#len)
      this.#len += n
      off += n
      if (this.#len === this.#size) {
        this.ready.push(this.#buf)
        this.#buf = new Uint8Array(this.#size)
        this.#len = 0
      }
    }
  }

  flush(): void {
    if (this.#len > 0) this.ready.push(this.#buf.slice(0, this.#len))
    this.#len = 0
  }
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
  const blockLog = opts.blockLog ?? IROH_BLOCK_LOG
  checkBlockLog(blockLog)
  const backend = opts.backend ?? defaultBlake3Backend()
  const out = new ChunkedOutput(opts.chunkSize ?? 64 * 1024)
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
  const loadGroup = async (g: number): Promise<Uint8Array> => {
    if (g !== group) {
      groupData = await reader.bytes(g * groupBytes, Math.min(size, (g + 1) * groupBytes))
      group = g
    }
    return groupData
  }
  const nodeData = async (startChunk: number, len: number): Promise<Uint8Array> => {
    const g = Math.floor(startChunk / 2 ** blockLog)
    const data = await loadGroup(g)
    const off = startChunk * CHUNK_LEN - g * groupBytes
    return data.subarray(off, off + len)
  }
  const stack: Uint8Array[] = [src.hash]
  const cv = new Uint8Array(32)
  try {
    for (const item of responsePlan(size, bs, blockLog)) {
      opts.signal?.throwIfAborted()
      const expected = stack.pop()!
      const at = item.startChunk * CHUNK_LEN
      if (item.kind === 'parent') {
        const pair = await parentPair(item, readOutboard, nodeData, backend)
        backend.parentCv(pair, 0, item.isRoot, cv, 0)
        if (!hashEquals(cv, expected)) {
          const reason = item.outboardIndex >= 0 ? 'outboard-mismatch' : 'data-mismatch'
          throw new BlobLocalDataError(reason, at, 'parent does not match its chaining value')
        }
        if (item.right) stack.push(pair.subarray(32, 64))
        if (item.left) stack.push(pair.subarray(0, 32))
        out.write(pair)
      } else {
        const data = await nodeData(item.startChunk, item.size)
        if (!hashEquals(backend.subtreeCv(data, item.startChunk, item.isRoot), expected)) {
          throw new BlobLocalDataError('data-mismatch', at, 'data does not match the outboard')
        }
        out.write(data)
      }
      yield* out.ready.splice(0)
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

/** The 64-byte pair of a parent: from the outboard above group level, else hashed from data. */
async function parentPair(
  item: PlanParent,
  readOutboard: ReadOutboard,
  nodeData: (startChunk: number, len: number) => Promise<Uint8Array>,
  backend: Blake3Backend,
): Promise<Uint8Array> {
  if (item.outboardIndex >= 0) {
    const pair = await readOutboard(item.outboardIndex * 64, 64)
    if (pair.length !== 64) {
      throw new BlobLocalDataError(
        'outboard-short',
        item.startChunk * CHUNK_LEN,
        'outboard too short',
      )
    }
    return pair
  }
  const data = await nodeData(item.startChunk, item.size)
  const leftChunks = 2 ** item.level
  const pair = new Uint8Array(64)
  pair.set(backend.subtreeCv(data.subarray(0, leftChunks * CHUNK_LEN), item.startChunk, false), 0)
  const right = data.subarray(leftChunks * CHUNK_LEN)
  pair.set(backend.subtreeCv(right, item.startChunk + leftChunks, false), 32)
  return pair
}

/**
 * Fetching side: a streaming decoder for an iroh-blobs response (8-byte LE size, then parents
 * and leaves in pre-order) that verifies incrementally against the blob hash and releases only
 * verified bytes. The largest unverified window is one leaf: a chunk group (16 KiB at iroh's
 * block size) or, inside a partially requested group, one 1 KiB chunk. Corruption throws
 * BlobVerifyError (code BLOB_VERIFY_FAILED) naming the stream and blob offsets.
 */
import { type Blake3Backend, checkBlockLog } from './backend.js'
import { CHUNK_LEN } from './blake3-core.js'
import { BlobVerifyError } from './errors.js'
import { hashEquals } from './hash-text.js'
import { type ChunkRanges, truncateRanges } from './ranges.js'
import { IROH_BLOCK_LOG, type PlanItem, responsePlan } from './tree.js'
import { defaultBlake3Backend } from './wasm-backend.js'
import { yieldToEventLoop } from './yield.js'

/** The declared size (verified only once the last chunk is; see `sizeVerified`). */
export interface SizeEvent {
  readonly type: 'size'
  readonly size: number
}

/** A verified parent pair; `outboardOffset` is its place in a pre-order outboard, if stored. */
export interface ParentEvent {
  readonly type: 'parent'
  readonly startChunk: number
  readonly level: number
  readonly outboardOffset: number | undefined
  /** Left CV ‖ right CV (64 bytes). */
  readonly pair: Uint8Array
}

/** Verified data at blob byte `offset`; `group` when it is exactly one whole chunk group. */
export interface LeafEvent {
  readonly type: 'leaf'
  readonly offset: number
  readonly data: Uint8Array
  /** The group and its chaining value (for a blob of one group: the root hash). */
  readonly group: { readonly index: number; readonly cv: Uint8Array } | undefined
}

export type DecodeEvent = SizeEvent | ParentEvent | LeafEvent

export interface DecoderOptions {
  /** Chunk group log the sender uses; default 4 (iroh). */
  readonly blockLog?: number
  readonly backend?: Blake3Backend
  /** Reject a declared size above this (default 2^53 - 1). */
  readonly maxSize?: number
}

/**
 * Push-style verifying decoder: `push(bytes)` queues input (kept by reference: don't modify it
 * afterwards), `next()` returns the next verified event or undefined when it needs more input
 * (or is `done`). Memory: the queued input plus at most one leaf being assembled.
 */
export class BaoDecoder {
  readonly #hash: Uint8Array
  readonly #ranges: ChunkRanges
  readonly #blockLog: number
  readonly #backend: Blake3Backend
  readonly #maxSize: number
  readonly #queue: Uint8Array[] = []
  #headOff = 0
  #available = 0
  #consumed = 0
  #size: number | undefined
  #sizeVerified = false
  #plan: Generator<PlanItem, void, undefined> | undefined
  #item: PlanItem | undefined
  #done = false
  #failed: BlobVerifyError | undefined
  readonly #stack: Uint8Array[] = []
  readonly #cv = new Uint8Array(32)

  constructor(hash: Uint8Array, ranges: ChunkRanges, opts: DecoderOptions = {}) {
    if (hash.length !== 32) throw new RangeError('blob hash must be 32 bytes')
    this.#hash = hash
    this.#ranges = ranges
    this.#blockLog = opts.blockLog ?? IROH_BLOCK_LOG
    checkBlockLog(this.#blockLog)
    this.#backend = opts.backend ?? defaultBlake3Backend()
    this.#maxSize = opts.maxSize ?? Number.MAX_SAFE_INTEGER
  }

  /** True once every selected node has been verified. */
  get done(): boolean {
    return this.#done
  }

  /** The declared size, once the header has been read. */
  get size(): number | undefined {
    return this.#size
  }

  /** True once the last chunk has been verified, which proves the declared size. */
  get sizeVerified(): boolean {
    return this.#sizeVerified
  }

  /** Stream bytes consumed (verified) so far. */
  get consumed(): number {
    return this.#consumed
  }

  /** Queued bytes not consumed yet. */
  get buffered(): number {
    return this.#available
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return
    this.#queue.push(bytes)
    this.#available += bytes.length
  }

  /** The next verified event; after a verification error, that error again. */
  next(): DecodeEvent | undefined {
    if (this.#failed !== undefined) throw this.#failed
    try {
      return this.#next()
    } catch (err) {
      if (err instanceof BlobVerifyError) this.#failed = err
      throw err
    }
  }

  #next(): DecodeEvent | undefined {
    if (this.#done) return undefined
    if (this.#plan === undefined) return this.#readHeader()
    this.#item ??= this.#nextItem()
    const item = this.#item
    if (item === undefined) return undefined
    const start = this.#consumed
    const bytes = this.#take(item.kind === 'parent' ? 64 : item.size)
    if (bytes === undefined) return undefined
    this.#item = undefined
    const expected = this.#stack.pop()!
    if (item.kind === 'parent') {
      this.#backend.parentCv(bytes, 0, item.isRoot, this.#cv, 0)
      if (!hashEquals(this.#cv, expected)) {
        throw new BlobVerifyError(
          'parent-mismatch',
          start,
          item.startChunk * CHUNK_LEN,
          'pair does not hash to its parent',
        )
      }
      if (item.right) this.#stack.push(bytes.subarray(32, 64))
      if (item.left) this.#stack.push(bytes.subarray(0, 32))
      const outboardOffset = item.outboardIndex >= 0 ? item.outboardIndex * 64 : undefined
      return {
        type: 'parent',
        startChunk: item.startChunk,
        level: item.level,
        outboardOffset,
        pair: bytes,
      }
    }
    const cv = this.#backend.subtreeCv(bytes, item.startChunk, item.isRoot)
    if (!hashEquals(cv, expected)) {
      throw new BlobVerifyError(
        'leaf-mismatch',
        start,
        item.offset,
        `${item.size} bytes do not hash to their node`,
      )
    }
    if (item.offset + item.size === this.#size) this.#sizeVerified = true
    const group = item.group >= 0 ? { index: item.group, cv } : undefined
    return { type: 'leaf', offset: item.offset, data: bytes, group }
  }

  /**
   * Declares the end of input. Throws BlobVerifyError('truncated') unless done; returns the bytes
   * pushed after the response (another response may follow in the same stream).
   */
  end(): Uint8Array {
    if (!this.#done) {
      const what = this.#plan === undefined ? 'the size header' : 'all selected nodes'
      throw new BlobVerifyError(
        'truncated',
        this.#consumed,
        undefined,
        `stream ended before ${what}`,
      )
    }
    return this.#take(this.#available) ?? new Uint8Array(0)
  }

  #nextItem(): PlanItem | undefined {
    const r = this.#plan!.next()
    if (r.done === true) {
      this.#done = true
      return undefined
    }
    return r.value
  }

  #readHeader(): SizeEvent | undefined {
    const header = this.#take(8)
    if (header === undefined) return undefined
    const declared = new DataView(header.buffer, header.byteOffset, 8).getBigUint64(0, true)
    if (declared > BigInt(this.#maxSize)) {
      throw new BlobVerifyError(
        'size-too-large',
        0,
        undefined,
        `declared size ${declared} exceeds ${this.#maxSize}`,
      )
    }
    const size = Number(declared)
    this.#size = size
    this.#stack.push(this.#hash)
    this.#plan = responsePlan(size, truncateRanges(this.#ranges, size), this.#blockLog)
    return { type: 'size', size }
  }

  /** `n` bytes from the queue (a view when contiguous, else a copy), or undefined if short. */
  #take(n: number): Uint8Array | undefined {
    if (this.#available < n) return undefined
    this.#available -= n
    this.#consumed += n
    const head = this.#queue[0]
    if (head !== undefined && head.length - this.#headOff >= n) {
      const out = head.subarray(this.#headOff, this.#headOff + n)
      this.#advance(n)
      return out
    }
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const seg = this.#queue[0]!
      const k = Math.min(seg.length - this.#headOff, n - filled)
      out.set(seg.subarray(this.#headOff, this.#headOff + k), filled)
      filled += k
      this.#advance(k)
    }
    return out
  }

  #advance(n: number): void {
    this.#headOff += n
    if (this.#headOff === this.#queue[0]!.length) {
      this.#queue.shift()
      this.#headOff = 0
    }
  }
}

export interface DecodeStreamOptions extends DecoderOptions {
  readonly signal?: AbortSignal
  /** Yield to the event loop after verifying this many bytes (default 4 MiB). */
  readonly yieldEvery?: number
}

/**
 * Verified events from a response stream that holds exactly one response: throws
 * BlobVerifyError on corruption, on a short stream ('truncated') and on bytes after the response
 * ('trailing-bytes').
 */
export async function* decodeStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  hash: Uint8Array,
  ranges: ChunkRanges,
  opts: DecodeStreamOptions = {},
): AsyncGenerator<DecodeEvent, void, undefined> {
  const decoder = new BaoDecoder(hash, ranges, opts)
  const step = opts.yieldEvery ?? 4 * 1024 * 1024
  let since = 0
  opts.signal?.throwIfAborted()
  for await (const chunk of source) {
    decoder.push(chunk)
    since += chunk.length
    for (let ev = decoder.next(); ev !== undefined; ev = decoder.next()) yield ev
    if (decoder.done && decoder.buffered > 0) {
      throw new BlobVerifyError(
        'trailing-bytes',
        decoder.consumed,
        undefined,
        'bytes after the response',
      )
    }
    if (since >= step) {
      since = 0
      await yieldToEventLoop()
      opts.signal?.throwIfAborted()
    }
  }
  decoder.end()
}

/**
 * Outboard creation: from data fed in order in pieces of any size (OutboardBuilder), from an
 * async byte source without blocking the event loop (computeOutboard), or from the chaining
 * values of all chunk groups (outboardFromGroupCvs).
 */
import { type Blake3Backend, checkBlockLog, groupCount } from './backend.js'
import { CHUNK_LEN, OUT_LEN } from './blake3-core.js'
import { GroupTreeBuilder } from './group-tree.js'
import { IROH_BLOCK_LOG } from './tree.js'
import { defaultBlake3Backend } from './wasm-backend.js'
import { yieldToEventLoop } from './yield.js'

export interface OutboardResult {
  /** BLAKE3 hash of the data: the blob id. */
  readonly hash: Uint8Array
  /** Bytes of data. */
  readonly size: number
  /** Pre-order outboard, no size prefix (rhio's `.rhio.bao4`); 64 bytes per group - 1. */
  readonly outboard: Uint8Array
}

export interface OutboardOptions {
  /** Chunk group log; default 4 (16 KiB groups, iroh). */
  readonly blockLog?: number
  readonly backend?: Blake3Backend
}

/** Group CVs computed per backend call at most (16 MiB of data at 16 KiB groups). */
const MAX_GROUPS_PER_CALL = 1024

/**
 * Incremental outboard creation. Feed the data in order with `update` (any piece sizes), then
 * `finish`. Memory: one group of data, plus 64 bytes per group for the tree (0.4 % of the size at
 * 16 KiB groups).
 */
export class OutboardBuilder {
  readonly #backend: Blake3Backend
  readonly #blockLog: number
  readonly #groupBytes: number
  readonly #pending: Uint8Array
  #pendingLen = 0
  #groupsDone = 0
  #size = 0
  #finished = false
  readonly #tree: GroupTreeBuilder
  readonly #cvs = new Uint8Array(MAX_GROUPS_PER_CALL * OUT_LEN)

  constructor(opts: OutboardOptions = {}) {
    this.#blockLog = opts.blockLog ?? IROH_BLOCK_LOG
    checkBlockLog(this.#blockLog)
    this.#backend = opts.backend ?? defaultBlake3Backend()
    this.#groupBytes = CHUNK_LEN << this.#blockLog
    this.#pending = new Uint8Array(this.#groupBytes)
    this.#tree = new GroupTreeBuilder(this.#backend)
  }

  /** Bytes fed so far. */
  get size(): number {
    return this.#size
  }

  update(data: Uint8Array): this {
    if (this.#finished) throw new RangeError('OutboardBuilder.update after finish')
    this.#size += data.length
    const gb = this.#groupBytes
    let off = 0
    if (this.#pendingLen > 0) {
      const n = Math.min(gb - this.#pendingLen, data.length)
      this.#pending.set(data.subarray(0, n), this.#pendingLen)
      this.#pendingLen += n
      off = n
      if (this.#pendingLen < gb || off === data.length) return this
      this.#hashGroups(this.#pending)
      this.#pendingLen = 0
    }
    const rest = data.length - off
    let whole = Math.floor(rest / gb)
    // A lone first group with nothing after it may be the whole blob: its hash needs the ROOT
    // flag, so keep it until more data or finish() says which.
    if (this.#groupsDone === 0 && whole === 1 && rest === gb) whole = 0
    if (whole > 0) this.#hashGroups(data.subarray(off, off + whole * gb))
    off += whole * gb
    this.#pending.set(data.subarray(off), 0)
    this.#pendingLen = data.length - off
    return this
  }

  /** The hash, size and pre-order outboard. The builder cannot be fed afterwards. */
  finish(): OutboardResult {
    const steps = this.finishSteps()
    for (;;) {
      const r = steps.next()
      if (r.done === true) return r.value
    }
  }

  /** `finish()` in slices of a few ms, pausing in between (for async callers, see GroupTreeBuilder). */
  *finishSteps(): Generator<void, OutboardResult, undefined> {
    if (this.#finished) throw new RangeError('OutboardBuilder.finish called twice')
    this.#finished = true
    const tail = this.#pending.subarray(0, this.#pendingLen)
    if (this.#groupsDone === 0) {
      const hash = this.#backend.subtreeCv(tail, 0, true)
      return { hash, size: this.#size, outboard: new Uint8Array(0) }
    }
    if (this.#pendingLen > 0) this.#hashGroups(tail)
    const { hash, outboard } = yield* this.#tree.finishSteps()
    return { hash, size: this.#size, outboard }
  }

  #hashGroups(data: Uint8Array): void {
    const step = MAX_GROUPS_PER_CALL * this.#groupBytes
    for (let off = 0; off < data.length; off += step) {
      const part = data.subarray(off, off + step)
      const start = this.#groupsDone * 2 ** this.#blockLog
      const n = this.#backend.groupCvs(part, start, this.#blockLog, this.#cvs, 0)
      for (let i = 0; i < n; i++) this.#tree.push(this.#cvs, i * OUT_LEN)
      this.#groupsDone += n
    }
  }
}

export interface ComputeOutboardOptions extends OutboardOptions {
  readonly signal?: AbortSignal
  /** Yield to the event loop after this many bytes (default 4 MiB, a few ms of hashing). */
  readonly yieldEvery?: number
}

/**
 * Hash and outboard of everything `source` yields, in bounded memory (one group of data plus the
 * outboard). Hashing runs in slices of `yieldEvery` bytes with a macrotask yield between them,
 * so a multi-GiB object never blocks the event loop for long. Aborts with `signal.reason`.
 */
export async function computeOutboard(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: ComputeOutboardOptions = {},
): Promise<OutboardResult> {
  const builder = new OutboardBuilder(opts)
  const step = opts.yieldEvery ?? 4 * 1024 * 1024
  let since = 0
  opts.signal?.throwIfAborted()
  for await (const chunk of source) {
    for (let off = 0; off < chunk.length; off += step) {
      const part = chunk.subarray(off, off + step)
      builder.update(part)
      since += part.length
      if (since >= step) {
        since = 0
        await yieldToEventLoop()
        opts.signal?.throwIfAborted()
      }
    }
  }
  const steps = builder.finishSteps()
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done === true) return r.value
    await yieldToEventLoop()
    opts.signal?.throwIfAborted()
  }
}

/**
 * Rebuilds the pre-order outboard and root hash of a blob of `size` bytes from the chaining
 * values of all its chunk groups (`groupCv(i)`, i = 0 .. groups-1, non-root; for a blob of a
 * single group, its root hash, as the decoder reports it). The downloader persists group CVs so
 * it can produce the outboard after a crash without reading the data again.
 */
export function outboardFromGroupCvs(
  size: number,
  groupCv: (groupIndex: number) => Uint8Array,
  blockLog: number = IROH_BLOCK_LOG,
  opts: { readonly backend?: Blake3Backend } = {},
): OutboardResult {
  checkBlockLog(blockLog)
  const builder = new GroupTreeBuilder(opts.backend ?? defaultBlake3Backend())
  const groups = groupCount(size, blockLog)
  for (let i = 0; i < groups; i++) {
    const cv = groupCv(i)
    if (cv.length !== OUT_LEN) throw new RangeError(`group ${i}: chaining value must be 32 bytes`)
    builder.push(cv)
  }
  const { hash, outboard } = builder.finish()
  return { hash, size, outboard }
}

/**
 * Frame stores hold the signed batches of one (author, log) that a node can
 * serve: its own entries (as author) or what it received (as forwarder).
 * Batches are appended in order; their sequence ranges cover the log without
 * gaps from `low` to `head` (ranges may overlap when a forwarder stores a batch
 * that partly extends what it had).
 */
import type { SignedBatch } from '../core/batch.js'
import { leafHash } from '../core/hash.js'
import { entryContext } from '../core/entry.js'
import type { LogKind } from '../core/selector.js'
import { WaitQueue } from '../util/wait-queue.js'

export interface LogInfo {
  author: Uint8Array
  logId: string
  kind: LogKind
}

/** A stored batch plus the leaf hashes of its items (for subset proofs). */
export interface StoredBatch {
  batch: SignedBatch
  leaves: Uint8Array[]
}

export interface FrameStore {
  readonly info: LogInfo
  /** Lowest seq this store can serve from (1 when it holds the whole log). */
  readonly low: number
  /** Highest seq covered (0 when empty). */
  readonly head: number
  /**
   * Appends a verified batch that extends the head (lastSeq > head). A batch
   * that starts after head + 1 cannot be chained to what is stored: the store
   * then restarts at that batch (low = its firstSeq), dropping older batches.
   */
  append(stored: StoredBatch): Promise<void>
  /** Moves the head forward without entries (the source asserted there are none). */
  advance(through: number): Promise<void>
  /** Batches with lastSeq >= fromSeq, in order, as of now. */
  read(fromSeq: number): AsyncIterable<StoredBatch>
  /** Resolves once head > seq, or when the signal aborts. */
  waitForHead(seq: number, signal: AbortSignal): Promise<void>
  close(): Promise<void>
}

export function leavesOf(batch: SignedBatch): Uint8Array[] {
  const ctx = entryContext(batch.header.author, batch.header.logId)
  return batch.items.map((it) => leafHash(ctx, it.bytes))
}

/** Notifies waiters when the head moves. Shared by store implementations. */
export class HeadSignal {
  /** Waiters by the seq the head must pass. */
  private readonly waiters = new WaitQueue<number>()

  notify(head: number): void {
    this.waiters.releaseWhere((seq) => head > seq)
  }

  /** Resolves once the head passes `seq`, or when `signal` aborts (never rejects). */
  async wait(seq: number, head: number, signal: AbortSignal): Promise<void> {
    if (head > seq || signal.aborted) return
    await this.waiters.wait(seq, signal).catch(() => undefined)
  }

  releaseAll(): void {
    this.waiters.releaseWhere()
  }
}

/** Keeps batches in memory, optionally bounded by total entry bytes (oldest dropped). */
export class MemoryFrameStore implements FrameStore {
  private batches: StoredBatch[] = []
  private bytes = 0
  private _low = 1
  private _head = 0
  private readonly signal = new HeadSignal()

  constructor(
    readonly info: LogInfo,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {}

  get low(): number {
    return this._low
  }

  get head(): number {
    return this._head
  }

  async append(stored: StoredBatch): Promise<void> {
    const h = stored.batch.header
    if (h.lastSeq <= this._head) return
    if (h.firstSeq > this._head + 1) {
      // cannot chain to what is stored: restart the store at this batch
      this.batches = []
      this.bytes = 0
      this._low = h.firstSeq
    }
    this.batches.push(stored)
    for (const it of stored.batch.items) this.bytes += it.bytes.length
    this._head = h.lastSeq
    let drop = 0
    while (this.bytes > this.maxBytes && drop < this.batches.length - 1) {
      const old = this.batches[drop++]!
      for (const it of old.batch.items) this.bytes -= it.bytes.length
      this._low = old.batch.header.lastSeq + 1
    }
    // a new array, so readers iterating the old one are not disturbed
    if (drop > 0) this.batches = this.batches.slice(drop)
    this.signal.notify(this._head)
  }

  async advance(through: number): Promise<void> {
    if (through <= this._head) return
    this._head = through
    this.signal.notify(this._head)
  }

  async *read(fromSeq: number): AsyncIterable<StoredBatch> {
    // binary search the first batch with lastSeq >= fromSeq
    let lo = 0
    let hi = this.batches.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.batches[mid]!.batch.header.lastSeq < fromSeq) lo = mid + 1
      else hi = mid
    }
    const snapshot = this.batches
    for (let i = lo; i < snapshot.length; i++) yield snapshot[i]!
  }

  waitForHead(seq: number, signal: AbortSignal): Promise<void> {
    return this.signal.wait(seq, this._head, signal)
  }

  async close(): Promise<void> {
    this.signal.releaseAll()
  }
}

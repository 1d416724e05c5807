/**
 * The author's side of a log: entries appended by the application are cut
 * into batches, signed once per batch and appended to the log's frame store,
 * from where sessions push them to subscribers.
 *
 * Batching adapts to load without a timer: appends made in the same tick are
 * signed together when the tick ends, so a lone message leaves at once and a
 * burst costs one signature per up to `maxBatchEntries` entries.
 */
import { signBatch, type Signer } from '../core/batch.js'
import { entrySize, type Entry } from '../core/entry.js'
import { RhioError } from '../errors/index.js'
import { leavesOf, type FrameStore } from './frame-store.js'

export interface AuthorLogOptions {
  store: FrameStore
  networkId: Uint8Array
  author: Uint8Array
  sign: Signer
  maxBatchEntries: number
  /** Soft cap on the encoded entry bytes of one batch. */
  maxBatchBytes: number
  maxEntryBytes: number
  /** Called after each signed batch is stored (metrics). */
  onBatch?: () => void
}

export class EntryTooLargeError extends RhioError {
  constructor(size: number, limit: number) {
    super('ENTRY_TOO_LARGE', `entry of ${size} bytes exceeds limits.max_entry_bytes (${limit})`)
    this.name = 'EntryTooLargeError'
  }
}

export class AuthorLog {
  private pending: Entry[] = []
  private pendingBytes = 0
  private lastSeq: number
  private advanceTo = 0
  private scheduled = false
  private flushing: Promise<void> = Promise.resolve()
  private failure: unknown
  /** Batches signed so far (for metrics). */
  batchesSigned = 0

  constructor(private readonly o: AuthorLogOptions) {
    this.lastSeq = o.store.head
  }

  get store(): FrameStore {
    return this.o.store
  }

  /** Highest seq appended (pending or stored). */
  get head(): number {
    return Math.max(this.lastSeq, this.advanceTo)
  }

  /**
   * Queues an entry. Its seq must exceed every earlier one. Throws
   * EntryTooLargeError for oversized entries (refused here, at the author,
   * rather than by a peer). Returns false when the caller should await
   * `drained()` before appending more.
   */
  append(entry: Entry): boolean {
    if (this.failure) throw this.failure
    if (entry.seq <= this.head)
      throw new RangeError(`seq ${entry.seq} does not extend the log (head ${this.head})`)
    const size = encodedSize(entry)
    if (size > this.o.maxEntryBytes) throw new EntryTooLargeError(size, this.o.maxEntryBytes)
    this.pending.push(entry)
    this.pendingBytes += size
    this.lastSeq = entry.seq
    this.schedule()
    return this.pending.length < this.o.maxBatchEntries * 4
  }

  /**
   * Records that no entries exist up to `seq` (e.g. skipped source messages);
   * the coverage is signed with the next batch.
   */
  advance(seq: number): void {
    if (seq <= this.head) return
    this.advanceTo = seq
    this.schedule()
  }

  /** Resolves when everything appended so far is signed and stored. */
  async drained(): Promise<void> {
    while (this.pending.length > 0 || this.scheduled) {
      await this.flushing
      if (this.pending.length > 0 && !this.scheduled) this.schedule()
      await new Promise((r) => setImmediate(r))
    }
    await this.flushing
    if (this.failure) throw this.failure
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.flushing = this.flushing
        .then(() => this.flush())
        .catch((err: unknown) => {
          this.failure = err
        })
    })
  }

  private async flush(): Promise<void> {
    // Everything this log covers is signed, including sequence numbers without
    // entries (skipped source messages): a coverage-only batch (count 0), or the
    // last batch of the flush extended to cover them. Subscribers never have
    // to trust an unsigned claim that nothing lies in a range.
    while (this.pending.length > 0 || this.advanceTo > this.o.store.head) {
      let n = 0
      let bytes = 0
      while (n < this.pending.length && n < this.o.maxBatchEntries) {
        bytes += encodedSize(this.pending[n]!)
        n++
        if (bytes >= this.o.maxBatchBytes) break
      }
      const entries = this.pending.splice(0, n)
      this.pendingBytes -= bytes
      const lastEntry = entries[entries.length - 1]?.seq ?? 0
      const lastSeq = this.pending.length === 0 ? Math.max(lastEntry, this.advanceTo) : lastEntry
      const batch = signBatch({
        networkId: this.o.networkId,
        author: this.o.author,
        logId: this.o.store.info.logId,
        firstSeq: this.o.store.head + 1,
        entries,
        lastSeq,
        sign: this.o.sign,
      })
      this.batchesSigned++
      await this.o.store.append({ batch, leaves: leavesOf(batch) })
      this.o.onBatch?.()
    }
  }
}

function encodedSize(e: Entry): number {
  return entrySize(e)
}

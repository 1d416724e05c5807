/**
 * The author's side of a log: entries appended by the application are cut
 * into batches, signed once per batch and appended to the log's frame store,
 * from where sessions push them to subscribers.
 *
 * Batching adapts to load: appends made in the same tick are signed together
 * when the tick ends, so a lone message leaves at once. Under load (the last
 * batch held at least LOAD_BATCH_ENTRIES entries) the next batch is cut no
 * sooner than LOAD_INTERVAL_MS after the last one, so a burst costs one
 * signature (and one verification at every subscriber) per up to
 * `maxBatchEntries` entries instead of one per event-loop turn.
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
  /** Under load, batches are cut at most this often (default LOAD_INTERVAL_MS). */
  loadIntervalMs?: number
  /** Called after each signed batch is stored (metrics). */
  onBatch?: () => void
}

/** A batch at least this large means the log is under load. */
export const LOAD_BATCH_ENTRIES = 16
/** Under load, batches are cut at most this often. */
export const LOAD_INTERVAL_MS = 4

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
  /** When the last flush began (ms, performance.now()) and how many entries it signed. */
  private lastFlushAt = 0
  private lastFlushEntries = 0
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
    const run = (): void => {
      this.scheduled = false
      this.flushing = this.flushing
        .then(() => this.flush())
        .catch((err: unknown) => {
          this.failure = err
        })
    }
    const wait =
      this.lastFlushEntries >= LOAD_BATCH_ENTRIES
        ? this.lastFlushAt + (this.o.loadIntervalMs ?? LOAD_INTERVAL_MS) - performance.now()
        : 0
    if (wait > 0) setTimeout(run, wait)
    else setImmediate(run)
  }

  private async flush(): Promise<void> {
    this.lastFlushAt = performance.now()
    this.lastFlushEntries = this.pending.length
    // Entries appended while this flush runs wait for the flush they scheduled
    // (so batching under load is not undone by picking them up at once).
    let remaining = this.pending.length
    // Everything this log covers is signed, including sequence numbers without
    // entries (skipped source messages): a coverage-only batch (count 0), or the
    // last batch of the flush extended to cover them. Subscribers never have
    // to trust an unsigned claim that nothing lies in a range.
    while (remaining > 0 || (this.pending.length === 0 && this.advanceTo > this.o.store.head)) {
      let n = 0
      let bytes = 0
      while (n < remaining && n < this.o.maxBatchEntries) {
        bytes += encodedSize(this.pending[n]!)
        n++
        if (bytes >= this.o.maxBatchBytes) break
      }
      const entries = this.pending.splice(0, n)
      remaining -= n
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

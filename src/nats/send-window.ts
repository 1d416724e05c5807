/**
 * The sink's ordered window: every message written gets the next index and
 * stays in the window until it and everything before it is acknowledged. The
 * acknowledged prefix is the cursor callers persist progress by (`ackedIndex`).
 * The window holds at most `maxInFlight` messages and `maxInFlightBytes`
 * bytes; writers wait for room in arrival order (backpressure). Pure state:
 * no I/O, so it is tested without a server.
 */
import { WaitQueue } from '../util/wait-queue.js'

export interface WindowEntry {
  /** 1, 2, … in write order. */
  index: number
  /** Bytes it occupies (headers + payload). */
  bytes: number
  state: 'queued' | 'inflight' | 'acked'
}

export interface SendWindowLimits {
  maxInFlight: number
  maxInFlightBytes: number
}

export class SendWindow<E extends WindowEntry> {
  private entries: E[] = []
  /** Position of the first unacknowledged entry in `entries`. */
  private head = 0
  private unackedBytes = 0
  /** Room reserved for writers released from the queue but not yet pushed. */
  private reservedCount = 0
  private reservedBytes = 0
  private last = 0
  private ackedUpTo = 0
  /** Writers waiting for room, by message size, in arrival order. */
  private readonly roomWaiters = new WaitQueue<number>()
  /** Callers waiting until the acked cursor reaches an index. */
  private readonly ackWaiters = new WaitQueue<number>()

  constructor(private readonly limits: SendWindowLimits) {}

  /** Index of the last entry of the acknowledged prefix (0 before the first ack). */
  get ackedIndex(): number {
    return this.ackedUpTo
  }

  /** Index of the last entry pushed. */
  get lastIndex(): number {
    return this.last
  }

  /** Entries pushed and not yet in the acknowledged prefix. */
  get unacked(): number {
    return this.last - this.ackedUpTo
  }

  /**
   * Waits until an entry of `bytes` fits (in arrival order behind earlier
   * writers); its room is then reserved until `push`. Rejects with the
   * signal's reason, or with what `rejectWriters` is given.
   */
  async reserve(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.tryReserve(bytes)) return
    await this.roomWaiters.wait(bytes, signal, () => this.wakeWriters())
  }

  /** Reserves room for `bytes` now if it fits and nobody waits; false otherwise. */
  tryReserve(bytes: number): boolean {
    if (this.roomWaiters.length > 0 || !this.hasRoom(bytes)) return false
    this.reservedCount++
    this.reservedBytes += bytes
    return true
  }

  /** Adds an entry whose room was reserved; gives it the next index. */
  push(entry: E): number {
    this.reservedCount--
    this.reservedBytes -= entry.bytes
    entry.index = ++this.last
    this.entries.push(entry)
    this.unackedBytes += entry.bytes
    return entry.index
  }

  /** Gives a reservation back (the writer failed after reserving). */
  release(bytes: number): void {
    this.reservedCount--
    this.reservedBytes -= bytes
    this.wakeWriters()
  }

  rejectWriters(err: unknown): void {
    this.roomWaiters.rejectAll(err)
  }

  /** The first entry not yet acknowledged. */
  firstUnacked(): E | undefined {
    return this.head < this.entries.length ? this.entries[this.head] : undefined
  }

  /** Every entry after the acknowledged prefix, in order. */
  *unackedEntries(): Iterable<E> {
    for (let i = this.head; i < this.entries.length; i++) yield this.entries[i] as E
  }

  /**
   * Moves the cursor over the acknowledged prefix and returns the entries it
   * passed (in order); wakes ack waiters and writers.
   */
  advance(): E[] {
    const passed: E[] = []
    while (this.head < this.entries.length) {
      const e = this.entries[this.head] as E
      if (e.state !== 'acked') break
      this.head++
      this.unackedBytes -= e.bytes
      this.ackedUpTo = e.index
      passed.push(e)
    }
    if (passed.length === 0) return passed
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head)
      this.head = 0
    }
    this.ackWaiters.releaseWhere((index) => index <= this.ackedUpTo)
    this.wakeWriters()
    return passed
  }

  /** Resolves once entries 1..index are acknowledged. */
  waitForAck(index: number, signal?: AbortSignal): Promise<void> {
    if (this.ackedUpTo >= index) return Promise.resolve()
    return this.ackWaiters.wait(index, signal)
  }

  private hasRoom(bytes: number): boolean {
    const count = this.entries.length - this.head + this.reservedCount
    if (count >= this.limits.maxInFlight) return false
    return (
      count === 0 || this.unackedBytes + this.reservedBytes + bytes <= this.limits.maxInFlightBytes
    )
  }

  private wakeWriters(): void {
    this.roomWaiters.releaseFront((bytes) => {
      if (!this.hasRoom(bytes)) return false
      // Reserve the room now: the writer runs later, after other wake-ups.
      this.reservedCount++
      this.reservedBytes += bytes
      return true
    })
  }
}

/**
 * The most recent batches of a log, in memory, so that live sessions (which
 * read right behind the head) never touch the disk. Bounded by record bytes;
 * the oldest batches are evicted first.
 *
 * Invariant: every stored batch with lastSeq >= `from` is held here.
 */
import type { StoredBatch } from './frame-store.js'

interface Cached {
  stored: StoredBatch
  lastSeq: number
  bytes: number
}

export class TailCache {
  private items: Cached[] = []
  private first = 0
  private bytes = 0

  constructor(
    private readonly capacity: number,
    /** Every batch with lastSeq >= from is held. */
    public from: number,
  ) {}

  get size(): number {
    return this.items.length - this.first
  }

  push(stored: StoredBatch, bytes: number): void {
    this.items.push({ stored, lastSeq: stored.batch.header.lastSeq, bytes })
    this.bytes += bytes
    while (this.bytes > this.capacity && this.first < this.items.length) {
      const old = this.items[this.first++]!
      this.bytes -= old.bytes
      this.from = old.lastSeq + 1
    }
    this.compact()
  }

  /** Forgets batches ending before `seq` (they were dropped from the store). */
  dropBelow(seq: number): void {
    while (this.first < this.items.length && this.items[this.first]!.lastSeq < seq) {
      this.bytes -= this.items[this.first++]!.bytes
    }
    this.compact()
  }

  /** Empties the cache; afterwards it holds every batch with lastSeq >= from. */
  clear(from: number): void {
    this.items = []
    this.first = 0
    this.bytes = 0
    this.from = from
  }

  /** Batches with lastSeq >= seq, or undefined when some of them are not held. */
  slice(seq: number): StoredBatch[] | undefined {
    if (seq < this.from) return undefined
    let lo = this.first
    let hi = this.items.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.items[mid]!.lastSeq < seq) lo = mid + 1
      else hi = mid
    }
    const out: StoredBatch[] = []
    for (let i = lo; i < this.items.length; i++) out.push(this.items[i]!.stored)
    return out
  }

  private compact(): void {
    if (this.first > 1024 && this.first * 2 > this.items.length) {
      this.items = this.items.slice(this.first)
      this.first = 0
    }
  }
}

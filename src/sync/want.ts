/**
 * The requester's side of one subscription to an author's logs (a `Want`):
 * verifies what sessions deliver, drops what it already has (an entry that
 * arrives by push and by sync, or from two peers, is delivered once), hands new
 * entries to the application in order with backpressure, forwards them into
 * this node's frame stores so it can serve them on, and persists the heights
 * the application has durably acknowledged.
 *
 * Heights are per (author, log): everything up to `height` that matches the
 * want's filters has been delivered. After a restart sync resumes from the
 * durable height, so at most the entries between the last persisted height and
 * the crash are received again (bounded by `persistEvery`).
 */
import type { Logger } from 'pino'
import {
  subsetBatch,
  verifyBatch,
  type SignatureVerifier,
  type SignatureCache,
  type VerifiedEntry,
} from '../core/batch.js'
import { toHex } from '../core/codec.js'
import { digest } from '../core/hash.js'
import { filterContains, filtersCovered } from '../core/subject.js'
import type { Selector, SyncMessage } from './wire.js'
import type { PenaltyReason } from '../p2p/penalty-box.js'
import type { SyncMetrics } from './metrics.js'
import type { StateStore } from '../state/state-store.js'
import { timeLimit } from '../util/abort.js'
import { SerialQueue } from '../util/lock.js'
import { WaitQueue } from '../util/wait-queue.js'
import { parseLogId, selectorMatchesEntry, selectorMatchesLog } from '../core/selector.js'
import type { LogRegistry } from '../log/registry.js'

export interface Delivery {
  author: Uint8Array
  logId: string
  entries: VerifiedEntry[]
  /** Highest seq of the log this delivery covers. */
  through: number
  /** 64-hex key of the peer it came from. */
  peer: string
  /** The author's signature of the batch the entries came in (absent for progress). */
  signature?: Uint8Array
  /** Call once every entry is durably stored. */
  ack(): void
}

export interface LogConsumer {
  /** Resolves when the delivery is accepted (this is the backpressure point). */
  deliver(d: Delivery): Promise<void>
}

export type HandleResult =
  /** `verified`: the message was a batch whose signature checked out. */
  | { ok: true; verified?: { logId: string; lastSeq: number } }
  | { ok: false; reason: PenaltyReason; detail: string }

interface LogState {
  logId: string
  /** Delivered (accepted by the consumer). */
  height: number
  /** Acknowledged as durably stored. */
  durable: number
  /** Durable height last written to the state store. */
  persisted: number
  pending: Array<{ through: number; acked: boolean }>
  /** Best head any holder reported. */
  head: number
  lastPeer?: string
  lastUpdate?: number
}

export interface WantStatus {
  logId: string
  height: number
  durable: number
  head: number
  lag: number
  lastPeer?: string
  lastUpdate?: number
}

/** Durable heights are written at most this long after they move (default of `persistDelayMs`). */
export const PERSIST_DELAY_MS = 250

export interface WantOptions {
  selector: Selector
  consumer: LogConsumer
  state: StateStore
  registry: LogRegistry
  networkId: Uint8Array
  verify: SignatureVerifier
  sigCache: SignatureCache
  maxEntries: number
  maxEntryBytes: number
  /** Persist heights at least every this many delivered entries. */
  persistEvery: number
  persistDelayMs?: number
  logger: Logger
  metrics?: SyncMetrics
}

/** Unsigned head claims kept for logs this want has no state of yet (bounded: ids are free). */
export const MAX_HINTS = 64

export class Want {
  readonly selector: Selector
  readonly authorHex: string
  /** State of the logs this want has received signed data of (and those loaded from the state store). */
  private readonly logs = new Map<string, LogState>()
  /**
   * Heads the author claimed (unsigned `log`/`progress`) for logs without state, oldest
   * first: a log id costs nothing to invent, so claims never create state, metrics or
   * entries in later requests; a verified batch does.
   */
  private readonly hints = new Map<string, number>()
  /** When a verified batch last arrived, from anyone. */
  lastVerifiedAt = 0
  /** Messages of all sessions of this want are processed one at a time. */
  private readonly queue = new SerialQueue()
  private persistTimer: NodeJS.Timeout | undefined
  private unpersistedEntries = 0
  private persisting: Promise<void> = Promise.resolve()
  /** waitDurable() callers, by (log, seq). */
  private readonly waiters = new WaitQueue<{ logId: string; seq: number }>()
  private abandoned = false

  constructor(private readonly o: WantOptions) {
    this.selector = o.selector
    this.authorHex = toHex(o.selector.author)
  }

  private stateKey(logId: string): string {
    return `heights.${this.authorHex}.${this.selector.kind}.${toHex(digest(new TextEncoder().encode(logId))).slice(0, 32)}`
  }

  /** Loads durable heights; resets logs whose stored filters do not cover the current ones. */
  async load(): Promise<void> {
    const prefix = `heights.${this.authorHex}.${this.selector.kind}.`
    for (const key of await this.o.state.keys(prefix)) {
      const v = await this.o.state.get<{ logId: string; height: number; filters: string[] }>(key)
      if (!v || typeof v.logId !== 'string' || typeof v.height !== 'number') continue
      const covered =
        this.selector.kind === 'nats'
          ? filtersCovered(v.filters, this.selector.filters)
          : this.selector.filters.every((f) => v.filters.includes(f))
      const height = covered ? v.height : 0
      if (!covered) {
        this.o.logger.info(
          { author: this.authorHex, log: v.logId },
          'subscription filters widened: re-syncing this log from the start',
        )
      }
      this.logs.set(v.logId, {
        logId: v.logId,
        height,
        durable: height,
        persisted: height,
        pending: [],
        head: height,
      })
    }
  }

  /** Heights to send in a sync request, the most recently active logs first. */
  known(): Array<{ logId: string; height: number }> {
    return [...this.logs.values()]
      .sort((a, b) => (b.lastUpdate ?? 0) - (a.lastUpdate ?? 0))
      .map((l) => ({ logId: l.logId, height: l.height }))
  }

  /** Height of a log (0 when this want has no state of it). */
  height(logId: string): number {
    return this.logs.get(logId)?.height ?? 0
  }

  /** Every log with signed data, and its height. */
  heights(): Array<{ logId: string; height: number }> {
    return [...this.logs.values()].map((l) => ({ logId: l.logId, height: l.height }))
  }

  status(): WantStatus[] {
    return [...this.logs.values()].map((l) => {
      const s: WantStatus = {
        logId: l.logId,
        height: l.height,
        durable: l.durable,
        head: l.head,
        lag: Math.max(0, l.head - l.durable),
      }
      if (l.lastPeer !== undefined) s.lastPeer = l.lastPeer
      if (l.lastUpdate !== undefined) s.lastUpdate = l.lastUpdate
      return s
    })
  }

  /** Resolves once every log's durable height has reached the given heads (tests, status). */
  durableHeight(logId: string): number {
    return this.logs.get(logId)?.durable ?? 0
  }

  /** Processes one message from a session, serialised with all other sessions of this want. */
  handle(peer: string, msg: SyncMessage): Promise<HandleResult> {
    return this.queue.run(() => this.process(peer, msg))
  }

  /** The state of a log with signed data (created on its first verified batch). */
  private log(logId: string): LogState {
    let l = this.logs.get(logId)
    if (!l) {
      const hint = this.hints.get(logId) ?? 0
      this.hints.delete(logId)
      l = { logId, height: 0, durable: 0, persisted: 0, pending: [], head: hint }
      this.logs.set(logId, l)
    }
    return l
  }

  /**
   * An unsigned head claim (`log`, `progress`). Informational: heights move only
   * on signed batch headers. Only the author's claims count towards the lag (a
   * forwarder could otherwise show any lag it likes); for a log without state a
   * claim is only remembered, in a bounded map.
   */
  private claim(peer: string, logId: string, head: number): HandleResult {
    if (!selectorMatchesLog(this.selector, logId))
      return { ok: false, reason: 'unwanted-log', detail: logId }
    if (peer !== this.authorHex) return { ok: true }
    const l = this.logs.get(logId)
    if (l) {
      l.head = Math.max(l.head, head)
      this.updateLag(l)
      return { ok: true }
    }
    this.hints.delete(logId)
    this.hints.set(logId, Math.max(head, this.hints.get(logId) ?? 0))
    if (this.hints.size > MAX_HINTS) this.hints.delete(this.hints.keys().next().value!)
    return { ok: true }
  }

  private async process(peer: string, msg: SyncMessage): Promise<HandleResult> {
    switch (msg.type) {
      case 'log':
        return this.claim(peer, msg.logId, msg.head)
      case 'progress':
        return this.claim(peer, msg.logId, Math.max(msg.head, msg.through))
      case 'batch':
        return this.onBatch(peer, msg.batch)
      default:
        return { ok: true }
    }
  }

  private async onBatch(
    peer: string,
    batch: Extract<SyncMessage, { type: 'batch' }>['batch'],
  ): Promise<HandleResult> {
    const h = batch.header
    if (!selectorMatchesLog(this.selector, h.logId))
      return { ok: false, reason: 'unwanted-log', detail: h.logId }
    const v = verifyBatch(batch, {
      networkId: this.o.networkId,
      author: this.selector.author,
      verify: this.o.verify,
      cache: this.o.sigCache,
      maxEntries: this.o.maxEntries,
      maxPayload: this.o.maxEntryBytes,
    })
    if (!v.ok) return { ok: false, reason: v.reason, detail: v.detail }
    this.lastVerifiedAt = Date.now()
    const l = this.log(h.logId)
    l.head = Math.max(l.head, h.lastSeq)
    const verified = { logId: h.logId, lastSeq: h.lastSeq }
    if (h.lastSeq <= l.height) {
      this.o.metrics?.entriesDuplicate.inc({ kind: this.selector.kind }, v.entries.length)
      return { ok: true, verified }
    }
    if (h.firstSeq > l.height + 1) {
      return { ok: false, reason: 'gap', detail: `batch starts at ${h.firstSeq}, have ${l.height}` }
    }
    // A subscriber of a whole log gets whole batches: a holder that left
    // entries out of one could make this node skip them for good.
    if (this.wantsWholeLog(h.logId) && batch.items.length !== h.count) {
      return {
        ok: false,
        reason: 'incomplete',
        detail: `${batch.items.length} of ${h.count} entries`,
      }
    }
    const keep: number[] = [] // what this node holds (and serves on)
    const fresh: VerifiedEntry[] = [] // what is new for the application
    let dup = 0
    v.entries.forEach((e, i) => {
      if (!selectorMatchesEntry(this.selector, e)) return
      keep.push(i)
      if (e.seq <= l.height) dup++
      else fresh.push(e)
    })
    if (dup) this.o.metrics?.entriesDuplicate.inc({ kind: this.selector.kind }, dup)
    this.o.metrics?.entriesReceived.inc({ kind: this.selector.kind }, fresh.length)
    // keep a copy to serve to others (this node is a forwarder for what it wants)
    const store = await this.o.registry.open({
      author: h.author,
      logId: h.logId,
      kind: this.selector.kind,
    })
    if (h.lastSeq > store.head) {
      const sub = subsetBatch(batch, v.leaves, keep)
      await store.append({ batch: sub, leaves: keep.map((i) => v.leaves[i]!) })
    }
    await this.deliver(l, peer, fresh, h.lastSeq, batch.signature)
    this.updateLag(l)
    return { ok: true, verified }
  }

  /** Whether this want covers everything the log can hold (then batches must be whole). */
  private wantsWholeLog(logId: string): boolean {
    const scope = parseLogId(logId)
    if (!scope) return false
    if (scope.kind === 'blobs') return true
    return this.selector.filters.some((f) => filterContains(f, scope.subject))
  }

  private async deliver(
    l: LogState,
    peer: string,
    entries: VerifiedEntry[],
    through: number,
    signature?: Uint8Array,
  ): Promise<void> {
    const mark = { through, acked: false }
    const before = l.height
    l.pending.push(mark)
    l.height = through
    l.lastPeer = peer
    l.lastUpdate = Date.now()
    try {
      await this.o.consumer.deliver({
        author: this.selector.author,
        logId: l.logId,
        entries,
        through,
        peer,
        ...(signature ? { signature } : {}),
        ack: () => this.ack(l, mark),
      })
    } catch (err) {
      // Not accepted: the entries must come again (the session fails and is
      // retried from this height), and the mark must not hold `durable` back.
      if (!mark.acked) {
        l.pending.splice(l.pending.indexOf(mark), 1)
        l.height = before
      }
      throw err
    }
    this.unpersistedEntries += entries.length
  }

  private ack(l: LogState, mark: { through: number; acked: boolean }): void {
    mark.acked = true
    let moved = false
    while (l.pending.length > 0 && l.pending[0]!.acked) {
      l.durable = Math.max(l.durable, l.pending.shift()!.through)
      moved = true
    }
    if (!moved) return
    this.o.metrics?.logHeight.set({ author: this.authorHex, log: l.logId }, l.durable)
    this.updateLag(l)
    this.waiters.releaseWhere((w) => (this.logs.get(w.logId)?.durable ?? 0) >= w.seq)
    if (this.abandoned) return
    if (this.unpersistedEntries >= this.o.persistEvery) void this.persist()
    else
      this.persistTimer ??= setTimeout(
        () => void this.persist(),
        this.o.persistDelayMs ?? PERSIST_DELAY_MS,
      )
  }

  private updateLag(l: LogState): void {
    this.o.metrics?.logLag.set(
      { author: this.authorHex, log: l.logId },
      Math.max(0, l.head - l.durable),
    )
  }

  /** Writes changed durable heights to the state store. */
  persist(): Promise<void> {
    if (this.persistTimer) clearTimeout(this.persistTimer)
    this.persistTimer = undefined
    this.unpersistedEntries = 0
    this.persisting = this.persisting.then(async () => {
      if (this.abandoned) return
      for (const l of this.logs.values()) {
        if (l.durable <= l.persisted) continue
        const height = l.durable
        try {
          await this.o.state.put(this.stateKey(l.logId), {
            logId: l.logId,
            height,
            filters: this.selector.filters,
          })
          l.persisted = Math.max(l.persisted, height)
        } catch (err) {
          this.o.logger.warn(
            { err: (err as Error).message, log: l.logId },
            'could not persist sync height; will retry',
          )
          this.persistTimer ??= setTimeout(() => void this.persist(), 1000)
        }
      }
    })
    return this.persisting
  }

  /** Resolves when `logId` is durable through `seq`, or rejects on timeout. */
  async waitDurable(logId: string, seq: number, timeoutMs: number): Promise<void> {
    if ((this.logs.get(logId)?.durable ?? 0) >= seq) return
    const deadline = new AbortController()
    await timeLimit(this.waiters.wait({ logId, seq }, deadline.signal), timeoutMs, () => {
      deadline.abort()
      throw new Error(`log ${logId} not durable through ${seq} within ${timeoutMs} ms`)
    })
  }

  /** Stops persisting (crash simulation): nothing more is written. */
  abandon(): void {
    if (this.persistTimer) clearTimeout(this.persistTimer)
    this.persistTimer = undefined
    this.abandoned = true
  }

  async close(): Promise<void> {
    await this.queue.idle()
    await this.persist()
    if (this.persistTimer) clearTimeout(this.persistTimer)
    this.persistTimer = undefined
  }
}

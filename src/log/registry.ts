/**
 * The logs this node can serve, by author and kind: its own (as author) and
 * those it received for its subscriptions (as forwarder). Also what it
 * advertises in hello messages.
 */
import { equalBytes, toHex } from '../core/codec.js'
import type { LogKind, Selector } from '../core/selector.js'
import { Listeners } from '../util/listeners.js'
import type { FrameStore, LogInfo } from './frame-store.js'
import { selectorCovers, selectorMatchesLog } from '../core/selector.js'

export type FrameStoreFactory = (info: LogInfo) => Promise<FrameStore>

export class LogRegistry {
  private readonly stores = new Map<string, Map<string, FrameStore>>()
  private readonly pendingCreates = new Map<string, Promise<FrameStore>>()
  private readonly holdings: Selector[] = []
  private readonly listeners = new Listeners<FrameStore>()

  constructor(
    readonly localAuthor: Uint8Array,
    private readonly factory: FrameStoreFactory,
  ) {}

  private static key(author: Uint8Array, kind: LogKind): string {
    return `${toHex(author)}/${kind}`
  }

  /** Declares that this node can serve `sel` (own publications or subscriptions). */
  addHolding(sel: Selector): void {
    const same = this.holdings.some(
      (h) =>
        equalBytes(h.author, sel.author) &&
        h.kind === sel.kind &&
        h.filters.length === sel.filters.length &&
        h.filters.every((f, i) => f === sel.filters[i]),
    )
    if (!same) this.holdings.push(sel)
  }

  holds(): Selector[] {
    return [...this.holdings]
  }

  isLocalAuthor(author: Uint8Array): boolean {
    return equalBytes(author, this.localAuthor)
  }

  /** Whether this node can serve everything `want` asks for. */
  covers(want: Selector): boolean {
    if (this.isLocalAuthor(want.author))
      return this.holdings.some((h) => equalBytes(h.author, want.author) && h.kind === want.kind)
    return this.holdings.some((h) => equalBytes(h.author, want.author) && selectorCovers(h, want))
  }

  /** Stores of (author, kind) whose log may hold entries for `sel`. */
  matching(sel: Selector): FrameStore[] {
    const m = this.stores.get(LogRegistry.key(sel.author, sel.kind))
    return m ? [...m.values()].filter((s) => selectorMatchesLog(sel, s.info.logId)) : []
  }

  get(author: Uint8Array, kind: LogKind, logId: string): FrameStore | undefined {
    return this.stores.get(LogRegistry.key(author, kind))?.get(logId)
  }

  all(): FrameStore[] {
    return [...this.stores.values()].flatMap((m) => [...m.values()])
  }

  async open(info: LogInfo): Promise<FrameStore> {
    const k = LogRegistry.key(info.author, info.kind)
    const existing = this.stores.get(k)?.get(info.logId)
    if (existing) return existing
    const pk = `${k}/${info.logId}`
    let p = this.pendingCreates.get(pk)
    if (!p) {
      p = this.factory(info).then((store) => {
        let m = this.stores.get(k)
        if (!m) this.stores.set(k, (m = new Map()))
        m.set(info.logId, store)
        this.pendingCreates.delete(pk)
        this.listeners.emit(store)
        return store
      })
      this.pendingCreates.set(pk, p)
    }
    return p
  }

  onNewLog(fn: (store: FrameStore) => void): () => void {
    return this.listeners.add(fn)
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((s) => s.close()))
  }
}

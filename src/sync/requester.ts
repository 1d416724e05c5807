/**
 * The requesting side of the sync protocol: for every want (a subscription to
 * one author's logs) it keeps one session to each peer that can serve it, up
 * to `maxUpstreams` (the author first). A session sends the want's heights,
 * then reads what the holder streams — catch-up first, then live batches as
 * the author signs them — and hands every message to the want, which verifies
 * it and drops what it already has. Failed sessions retry with backoff; every
 * resync interval, and whenever a peer says hello or goes away, the set of
 * sessions is reconciled.
 */
import type { Libp2p } from '@libp2p/interface'
import type { Logger } from 'pino'
import { equalBytes } from '../core/codec.js'
import { selectorCovers } from '../core/selector.js'
import { describeError, RhioError } from '../errors/index.js'
import { FramedStream } from '../p2p/framing.js'
import { protocolId } from '../p2p/host.js'
import { penalizeFrameError, type PenaltyBox } from '../p2p/penalty-box.js'
import type { PeerTable, PeerView } from '../p2p/peer-table.js'
import { pause, untilAborted, withDeadline } from '../util/abort.js'
import { Backoff } from '../util/backoff.js'
import type { HelloService, PeerHello } from './hello.js'
import type { SyncMetrics } from './metrics.js'
import type { Want } from './want.js'
import { decodeSync, DEFAULT_HEARTBEAT_MS, encodeSync, type SyncMessage } from './wire.js'

/**
 * Sessions per want run to every peer that can serve it, up to this many (the
 * author first). Redundant upstreams cost bandwidth but guarantee progress in
 * any connected topology: a subscriber that picked only other stuck
 * subscribers would otherwise never reach the data. Duplicates are dropped by
 * the want.
 */
export const DEFAULT_MAX_UPSTREAMS = 8
/** A failed session is retried after 0.5 s, doubling to 30 s (progress starts over). */
export const SESSION_RETRY = { minMs: 500, maxMs: 30_000 }
/** Opening a sync stream to a peer. */
const OPEN_TIMEOUT_MS = 10_000

export interface SyncRequesterComponents {
  host: Libp2p
  peers: PeerTable
  hello: HelloService
  penalties: PenaltyBox
  logger: Logger
  metrics?: SyncMetrics
}

export interface SyncRequesterInit {
  networkId: Uint8Array
  /** Largest frame accepted from a holder. */
  maxFrameBytes: number
  maxEntries: number
  maxEntryBytes: number
  /** A live session hears from its holder at least this often (default 5 s). */
  heartbeatMs?: number
  resyncIntervalMs: number
  maxUpstreams?: number
}

interface Session {
  want: Want
  peer: string
  abort: AbortController
  done: Promise<void>
  state: 'connecting' | 'open' | 'backoff'
  since: number
  lastError?: string
  messages: number
}

export interface SessionStatus {
  author: string
  kind: string
  peer: string
  state: string
  since: number
  messages: number
  lastError?: string
}

export class SyncRequester {
  private readonly proto: string
  private readonly wants: Want[] = []
  private readonly sessions = new Map<string, Session>()
  private readonly abort = new AbortController()
  private timer: NodeJS.Timeout | undefined
  private started = false
  private readonly unsubscribe: Array<() => void> = []
  private readonly heartbeatMs: number
  /** (want, peer) pairs not to use until the given time (the peer lacked history). */
  private readonly cooldown = new Map<string, number>()

  constructor(
    private readonly components: SyncRequesterComponents,
    private readonly init: SyncRequesterInit,
  ) {
    this.proto = protocolId(init.networkId, 'sync')
    this.heartbeatMs = init.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
  }

  addWant(want: Want): void {
    this.wants.push(want)
    if (this.started) this.reconcile()
  }

  start(): void {
    if (this.started) return
    this.started = true
    const { hello } = this.components
    this.unsubscribe.push(
      hello.onHello(() => this.reconcile()),
      hello.onGone(() => this.reconcile()),
    )
    this.timer = setInterval(() => this.reconcile(), this.init.resyncIntervalMs)
    this.reconcile()
  }

  /** Ends every session; nothing more is taken from the network. */
  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    if (this.timer) clearInterval(this.timer)
    for (const u of this.unsubscribe.splice(0)) u()
    this.abort.abort()
    const all = [...this.sessions.values()]
    for (const s of all) s.abort.abort()
    await Promise.allSettled(all.map((s) => s.done))
    this.sessions.clear()
  }

  status(): SessionStatus[] {
    return [...this.sessions.values()].map((s) => {
      const v: SessionStatus = {
        author: s.want.authorHex,
        kind: s.want.selector.kind,
        peer: s.peer,
        state: s.state,
        since: s.since,
        messages: s.messages,
      }
      if (s.lastError !== undefined) v.lastError = s.lastError
      return v
    })
  }

  private key(want: Want, peer: string): string {
    return `${want.authorHex}/${want.selector.kind}/${peer}`
  }

  /** Peers that can serve `want`, best first (the author, then others). */
  private upstreams(want: Want): PeerView[] {
    const out: PeerHello[] = []
    for (const p of this.components.hello.list()) {
      if ((this.cooldown.get(this.key(want, p.peer.id)) ?? 0) > Date.now()) continue
      const isAuthor = equalBytes(p.peer.publicKey, want.selector.author)
      const holds = p.hello.holds.some(
        (h) =>
          equalBytes(h.author, want.selector.author) &&
          (isAuthor ? h.kind === want.selector.kind : selectorCovers(h, want.selector)),
      )
      if (holds) out.push(p)
    }
    const rank = (p: PeerHello): number =>
      equalBytes(p.peer.publicKey, want.selector.author) ? 1 : 0
    return out
      .sort((a, b) => rank(b) - rank(a) || a.peer.id.localeCompare(b.peer.id))
      .slice(0, this.init.maxUpstreams ?? DEFAULT_MAX_UPSTREAMS)
      .map((p) => p.peer)
  }

  /** Starts sessions that should run and stops those that should not. */
  private reconcile(): void {
    if (!this.started) return
    const desired = new Set<string>()
    for (const want of this.wants) {
      for (const p of this.upstreams(want)) {
        const key = this.key(want, p.id)
        desired.add(key)
        if (!this.sessions.has(key)) this.startSession(key, want, p)
      }
    }
    for (const [key, s] of this.sessions) {
      if (!desired.has(key)) s.abort.abort()
    }
  }

  private startSession(key: string, want: Want, peer: PeerView): void {
    const s: Session = {
      want,
      peer: peer.id,
      abort: new AbortController(),
      state: 'connecting',
      since: Date.now(),
      messages: 0,
      done: Promise.resolve(),
    }
    this.sessions.set(key, s)
    this.components.metrics?.sessions.inc({ role: 'requester' })
    s.done = this.runSession(s, peer).finally(() => {
      this.components.metrics?.sessions.dec({ role: 'requester' })
      if (this.sessions.get(key) === s) this.sessions.delete(key)
    })
  }

  private async runSession(s: Session, peer: PeerView): Promise<void> {
    const { host, logger } = this.components
    const backoff = new Backoff(SESSION_RETRY)
    const signal = s.abort.signal
    while (!signal.aborted && !this.abort.signal.aborted) {
      if (!this.components.peers.get(s.peer)?.connected) return
      s.state = 'connecting'
      const messagesAtStart = s.messages
      let framed: FramedStream | undefined
      try {
        const stream = await withDeadline(signal, OPEN_TIMEOUT_MS, (sig) =>
          host.dialProtocol(peer.peerId, this.proto, { signal: sig }),
        )
        stream.inactivityTimeout = Number.POSITIVE_INFINITY
        framed = new FramedStream(stream, { maxFrameBytes: this.init.maxFrameBytes })
        await framed.write(
          encodeSync({ type: 'request', selector: s.want.selector, known: s.want.known() }),
          signal,
        )
        s.state = 'open'
        s.since = Date.now()
        const outcome = await this.readSession(s, framed, signal)
        if (outcome === 'unavailable') {
          setImmediate(() => this.reconcile()) // once this session is gone
          return
        }
        if (outcome === 'rejected') {
          await pause(this.init.resyncIntervalMs, signal)
          continue
        }
        backoff.reset()
      } catch (err) {
        if (signal.aborted) break
        penalizeFrameError(this.components.penalties, s.peer, err)
        s.lastError = describeError(err)
        logger.debug(
          { peer: s.peer, author: s.want.authorHex, err: s.lastError },
          'sync session failed',
        )
      } finally {
        framed?.abort(new Error('session closed'))
      }
      if (signal.aborted) break
      // A session that made progress before it failed starts the backoff over.
      if (s.messages > messagesAtStart) backoff.reset()
      s.state = 'backoff'
      await pause(backoff.next(), signal)
    }
  }

  private async readSession(
    s: Session,
    framed: FramedStream,
    signal: AbortSignal,
  ): Promise<'ended' | 'rejected' | 'unavailable'> {
    const limits = { maxEntries: this.init.maxEntries, maxEntryBytes: this.init.maxEntryBytes }
    const { penalties, metrics } = this.components
    for (;;) {
      // A live session hears at least a heartbeat every heartbeatMs.
      const frame = await withDeadline(signal, this.heartbeatMs * 3, (sig) => framed.read(sig))
      if (!frame) return 'ended'
      metrics?.syncBytes.inc({ direction: 'in' }, frame.length)
      let msg: SyncMessage
      try {
        msg = decodeSync(frame, limits)
      } catch (err) {
        penalties.penalize(s.peer, 'malformed')
        throw err
      }
      s.messages++
      if (msg.type === 'reject') {
        s.lastError = `${msg.code}: ${msg.message}`
        return 'rejected'
      }
      if (msg.type === 'ping') continue
      if (msg.type === 'unavailable') {
        // This holder lacks history we need: use other holders for a while.
        s.lastError = `history of ${msg.logId} below ${msg.low} is not available from this peer`
        this.cooldown.set(this.key(s.want, s.peer), Date.now() + this.init.resyncIntervalMs)
        return 'unavailable'
      }
      // A consumer blocked on its sink must not keep the session from stopping.
      const r = await untilAborted(s.want.handle(s.peer, msg), signal)
      if (!r.ok) {
        penalties.penalize(s.peer, r.reason)
        throw new RhioError(
          'SYNC_REJECTED',
          `rejected ${msg.type} from ${s.peer}: ${r.reason} (${r.detail})`,
        )
      }
    }
  }
}

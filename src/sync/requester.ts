/**
 * The requesting side of the sync protocol: for every want (a subscription to
 * one author's logs) it keeps one session to each peer that can serve it, up
 * to `maxUpstreams`. A session sends the want's heights, then reads what the
 * holder streams — catch-up first, then live batches as the author signs them
 * — and hands every message to the want, which verifies it and drops what it
 * already has. Failed sessions retry with backoff; every resync interval, and
 * whenever a peer says hello or goes away, the set of sessions is reconciled.
 *
 * Which peers get the slots (a hello's "holds" claim is not authenticated, and
 * keys are free): the author, then configured `nodes`, then peers that
 * recently delivered verified batches for this want, then the rest in a random
 * order — never an order an attacker can choose (such as sorting by key). A
 * session that delivers no signed data while other sessions move the want's
 * heights past it is dropped and its peer set aside for a while, so peers that
 * only answer pings cannot hold slots.
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
import { openStream } from '../p2p/streams.js'
import { pause, untilAborted, withDeadline } from '../util/abort.js'
import { Backoff } from '../util/backoff.js'
import type { HelloService, PeerHello } from './hello.js'
import type { SyncMetrics } from './metrics.js'
import type { Want } from './want.js'
import {
  decodeSync,
  DEFAULT_HEARTBEAT_MS,
  encodeSync,
  fitRequest,
  type SyncMessage,
} from './wire.js'

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
/** A peer that delivered a verified batch for a want within this long keeps its slot. */
export const RECENT_DELIVERY_MS = 5 * 60_000
/** A session behind the want's heights for this many heartbeats is dropped (stalled). */
export const STALL_HEARTBEATS = 3
/** How long a stalled session's peer is not used for that want. */
export const STALL_COOLDOWN_MS = 5 * 60_000
/** Reconciliations run at most this often (hellos may arrive by the thousand). */
const RECONCILE_MIN_INTERVAL_MS = 100
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
  /** Largest request a holder accepts (its `limits.max_request_bytes`; ours is assumed). */
  maxRequestBytes: number
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
  /** The peer is the author or a configured node: never dropped as stalled. */
  trusted: boolean
  abort: AbortController
  done: Promise<void>
  state: 'connecting' | 'open' | 'backoff'
  since: number
  lastError?: string
  messages: number
  /** Per log, the height this session has brought us to: what we asked from, then signed batches. */
  frontier: Map<string, number>
  /** Since when the want's heights have been past this session's frontier. */
  behindSince?: number
  /** Verified batches this session delivered since it opened. */
  verified: number
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
  private stallTimer: NodeJS.Timeout | undefined
  private reconcileTimer: NodeJS.Timeout | undefined
  private lastReconcile = 0
  /** (want, peer) → when the peer last delivered a verified batch for the want. */
  private readonly recent = new Map<string, number>()
  /** (want, peer) → a random rank among peers with no other claim to a slot. */
  private readonly ranks = new Map<string, number>()
  /** Wants with more peers that could serve them than slots (at the last reconcile). */
  private readonly crowded = new Set<Want>()
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
      hello.onHello(() => this.requestReconcile()),
      hello.onGone(() => this.requestReconcile()),
    )
    this.timer = setInterval(() => this.reconcile(), this.init.resyncIntervalMs)
    this.stallTimer = setInterval(() => this.dropStalled(), this.heartbeatMs)
    this.reconcile()
  }

  /** Ends every session; nothing more is taken from the network. */
  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    if (this.timer) clearInterval(this.timer)
    if (this.stallTimer) clearInterval(this.stallTimer)
    clearTimeout(this.reconcileTimer)
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

  /** Peers that can serve `want`, best first (see the file comment). */
  private upstreams(want: Want, hellos: PeerHello[]): PeerView[] {
    const now = Date.now()
    const out: Array<{ peer: PeerView; tier: number; order: number }> = []
    let candidates = 0
    for (const p of hellos) {
      const key = this.key(want, p.peer.id)
      if ((this.cooldown.get(key) ?? 0) > now) continue
      const isAuthor = equalBytes(p.peer.publicKey, want.selector.author)
      const holds = p.hello.holds.some(
        (h) =>
          equalBytes(h.author, want.selector.author) &&
          (isAuthor ? h.kind === want.selector.kind : selectorCovers(h, want.selector)),
      )
      if (!holds) continue
      candidates++
      const delivered = this.recent.get(key) ?? 0
      if (isAuthor) out.push({ peer: p.peer, tier: 0, order: 0 })
      else if (p.peer.configured) out.push({ peer: p.peer, tier: 1, order: 0 })
      else if (now - delivered < RECENT_DELIVERY_MS)
        out.push({ peer: p.peer, tier: 2, order: -delivered })
      else {
        let rank = this.ranks.get(key)
        if (rank === undefined) this.ranks.set(key, (rank = Math.random()))
        out.push({ peer: p.peer, tier: 3, order: rank })
      }
    }
    const slots = this.init.maxUpstreams ?? DEFAULT_MAX_UPSTREAMS
    if (candidates > slots) this.crowded.add(want)
    else this.crowded.delete(want)
    return out
      .sort((a, b) => a.tier - b.tier || a.order - b.order)
      .slice(0, slots)
      .map((c) => c.peer)
  }

  /** Reconciles soon, at most every RECONCILE_MIN_INTERVAL_MS. */
  private requestReconcile(): void {
    if (!this.started || this.reconcileTimer !== undefined) return
    const wait = Math.max(0, this.lastReconcile + RECONCILE_MIN_INTERVAL_MS - Date.now())
    this.reconcileTimer = setTimeout(() => {
      this.reconcileTimer = undefined
      this.reconcile()
    }, wait)
  }

  /** Forgets ranks of peers that are gone and deliveries too old to count. */
  private prune(hellos: PeerHello[]): void {
    const connected = new Set(hellos.map((p) => p.peer.id))
    const now = Date.now()
    for (const key of this.ranks.keys())
      if (!connected.has(key.slice(key.lastIndexOf('/') + 1))) this.ranks.delete(key)
    for (const [key, at] of this.recent) if (now - at >= RECENT_DELIVERY_MS) this.recent.delete(key)
    for (const [key, until] of this.cooldown) if (until <= now) this.cooldown.delete(key)
  }

  /**
   * Drops sessions that bring nothing signed while the want's heights move past
   * them (another session delivered what they should have), and — while more
   * peers could serve the want than there are slots — sessions that delivered no
   * verified batch at all since they opened, so a waiting peer gets their slot.
   * Their peers are not used for the want for STALL_COOLDOWN_MS. The author and
   * configured nodes are never dropped.
   */
  private dropStalled(): void {
    const now = Date.now()
    const grace = this.heartbeatMs * STALL_HEARTBEATS
    for (const [key, s] of this.sessions) {
      if (s.trusted || s.state !== 'open') continue
      const behind = s.want.heights().some((l) => l.height > (s.frontier.get(l.logId) ?? 0))
      const idle = this.crowded.has(s.want) && s.verified === 0 && now - s.since >= grace
      if (!behind && !idle) {
        delete s.behindSince
        continue
      }
      s.behindSince ??= now
      if (behind && !idle && now - s.behindSince < grace) continue
      s.lastError = behind
        ? 'delivered nothing signed while other peers did'
        : 'delivered nothing signed while other peers wait for a slot'
      this.cooldown.set(key, now + STALL_COOLDOWN_MS)
      this.components.metrics?.sessionsDropped.inc({ reason: 'stalled' })
      this.components.logger.info(
        { peer: s.peer, author: s.want.authorHex },
        'dropping a sync session that delivers nothing signed while others do',
      )
      s.abort.abort()
      this.requestReconcile()
    }
  }

  /** Starts sessions that should run and stops those that should not. */
  private reconcile(): void {
    if (!this.started) return
    this.lastReconcile = Date.now()
    const hellos = this.components.hello.list()
    this.prune(hellos)
    const desired = new Set<string>()
    for (const want of this.wants) {
      for (const p of this.upstreams(want, hellos)) {
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
      trusted: peer.configured || equalBytes(peer.publicKey, want.selector.author),
      frontier: new Map(),
      verified: 0,
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
          openStream(host, peer.peerId, this.proto, { signal: sig }),
        )
        stream.inactivityTimeout = Number.POSITIVE_INFINITY
        framed = new FramedStream(stream, { maxFrameBytes: this.init.maxFrameBytes })
        const request = fitRequest(s.want.selector, s.want.known(), this.init.maxRequestBytes)
        s.frontier = new Map(request.known.map((k) => [k.logId, k.height]))
        s.verified = 0
        delete s.behindSince
        await framed.write(encodeSync(request), signal)
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
      if (msg.type === 'log' && !s.frontier.has(msg.logId)) {
        // a log we did not ask about: the holder serves it from its start
        s.frontier.set(msg.logId, 0)
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
      if (r.verified) {
        s.verified++
        const { logId, lastSeq } = r.verified
        s.frontier.set(logId, Math.max(s.frontier.get(logId) ?? 0, lastSeq))
        this.recent.set(this.key(s.want, s.peer), Date.now())
      }
    }
  }
}

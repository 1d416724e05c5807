/**
 * The sync protocol over libp2p: one stream per (requester, holder, want).
 * The requester sends its heights; the holder streams what is missing and
 * then keeps pushing new batches (live replication is the tail of the sync
 * stream). Sessions to every covering peer (up to `maxUpstreams`, the author
 * first) run concurrently; the want drops duplicates. Failed sessions retry
 * with backoff; every resync interval the set of sessions is re-checked.
 */
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { equalBytes, toHex } from '../core/codec.js'
import { describeError } from '../errors.js'
import { serve } from '../log/serve.js'
import type { LogRegistry } from '../log/registry.js'
import { selectorCovers } from '../log/kinds.js'
import type { Want } from '../log/want.js'
import { FrameError, FramedStream } from './framing.js'
import { peerPublicKey, protocolId } from './host.js'
import { decodeSync, encodeSync, type SyncMessage } from './messages.js'
import type { P2PMetrics } from './metrics.js'
import type { PeerManager, PeerView } from './peers.js'
import { pause, untilAborted, withDeadline } from '../util/abort.js'

export interface SyncServiceOptions {
  host: Libp2p
  peers: PeerManager
  registry: LogRegistry
  networkId: Uint8Array
  maxFrameBytes: number
  /** Largest sync request frame accepted (default 256 KiB). */
  maxRequestBytes?: number
  /** The request must arrive within this many ms of the stream opening (default 10 s). */
  requestTimeoutMs?: number
  maxEntries: number
  maxEntryBytes: number
  /** Concurrent sessions served (and inbound sync streams per connection). */
  maxSessions: number
  /** Concurrent sessions served to one peer (default: maxSessions). */
  maxSessionsPerPeer?: number
  heartbeatMs?: number
  resyncIntervalMs: number
  maxUpstreams?: number
  logger: Logger
  metrics?: P2PMetrics
}

/**
 * Sessions per want run to every peer that can serve it, up to this many (the
 * author first). Redundant upstreams cost bandwidth but guarantee progress in
 * any connected topology: a subscriber that picked only other stuck
 * subscribers would otherwise never reach the data. Duplicates are dropped by
 * the want.
 */
export const DEFAULT_MAX_UPSTREAMS = 8

/** Inbound sync streams per connection beyond the per-peer session limit (answered "busy"). */
const BUSY_STREAMS = 8

/** How much each kind of bad input counts towards a ban (docs/SECURITY.md lists them). */
export const PENALTY: Readonly<Record<string, number>> = {
  'bad-signature': 5,
  'bad-proof': 5,
  'wrong-author': 5,
  'wrong-network': 5,
  malformed: 2,
  oversized: 2,
  gap: 2,
  incomplete: 5,
  'unwanted-log': 1,
  'bad-seq': 5,
  'wrong-log': 2,
  truncated: 2,
  slow: 2,
  timeout: 1,
  busy: 0,
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

export class SyncService {
  private readonly proto: string
  private readonly wants: Want[] = []
  private readonly sessions = new Map<string, Session>()
  private serving = 0
  private readonly servingByPeer = new Map<string, number>()
  private readonly abort = new AbortController()
  private timer: NodeJS.Timeout | undefined
  private started = false
  private readonly unsubs: Array<() => void> = []
  private readonly heartbeatMs: number
  /** (want, peer) pairs not to use until the given time (the peer lacked history). */
  private readonly cooldown = new Map<string, number>()

  constructor(private readonly o: SyncServiceOptions) {
    this.proto = protocolId(o.networkId, 'sync')
    this.heartbeatMs = o.heartbeatMs ?? 5_000
  }

  addWant(want: Want): void {
    this.wants.push(want)
    if (this.started) this.reconcile()
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    // Room for a "busy" answer beyond the sessions one peer may have; libp2p
    // resets streams above that.
    const perPeer = Math.min(this.o.maxSessionsPerPeer ?? this.o.maxSessions, this.o.maxSessions)
    await this.o.host.handle(this.proto, (stream, conn) => this.onInbound(stream, conn), {
      maxInboundStreams: perPeer + BUSY_STREAMS,
      maxOutboundStreams: this.o.maxSessions,
    })
    this.unsubs.push(this.o.peers.onHello(() => this.reconcile()))
    this.unsubs.push(this.o.peers.onGone(() => this.reconcile()))
    this.timer = setInterval(() => this.reconcile(), this.o.resyncIntervalMs)
    this.reconcile()
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    if (this.timer) clearInterval(this.timer)
    for (const u of this.unsubs) u()
    this.abort.abort()
    const all = [...this.sessions.values()]
    for (const s of all) s.abort.abort()
    await Promise.allSettled(all.map((s) => s.done))
    this.sessions.clear()
    await this.o.host.unhandle(this.proto).catch(() => {})
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

  get servingCount(): number {
    return this.serving
  }

  /** Peers that can serve `want`, best first (the author, then others). */
  private upstreams(want: Want): PeerView[] {
    const out: PeerView[] = []
    for (const p of this.o.peers.list()) {
      if (!p.connected || !p.hello) continue
      if ((this.cooldown.get(`${want.authorHex}/${want.selector.kind}/${p.id}`) ?? 0) > Date.now())
        continue
      const isAuthor = equalBytes(p.publicKey, want.selector.author)
      const holds = p.hello.holds.some(
        (h) =>
          equalBytes(h.author, want.selector.author) &&
          (isAuthor ? h.kind === want.selector.kind : selectorCovers(h, want.selector)),
      )
      if (holds) out.push(p)
    }
    return out
      .sort((a, b) => rank(b, want) - rank(a, want) || a.id.localeCompare(b.id))
      .slice(0, this.o.maxUpstreams ?? DEFAULT_MAX_UPSTREAMS)
  }

  /** Starts sessions that should run and stops those that should not. */
  private reconcile(): void {
    if (!this.started) return
    const desired = new Set<string>()
    for (const want of this.wants) {
      for (const p of this.upstreams(want)) {
        const key = `${want.authorHex}/${want.selector.kind}/${p.id}`
        desired.add(key)
        if (!this.sessions.has(key)) this.startSession(key, want, p.id)
      }
    }
    for (const [key, s] of this.sessions) {
      if (!desired.has(key)) s.abort.abort()
    }
  }

  private startSession(key: string, want: Want, peer: string): void {
    const abort = new AbortController()
    const s: Session = {
      want,
      peer,
      abort,
      state: 'connecting',
      since: Date.now(),
      messages: 0,
      done: Promise.resolve(),
    }
    this.sessions.set(key, s)
    this.o.metrics?.sessions.inc({ role: 'requester' })
    s.done = this.runSession(s).finally(() => {
      this.o.metrics?.sessions.dec({ role: 'requester' })
      if (this.sessions.get(key) === s) this.sessions.delete(key)
    })
  }

  private async runSession(s: Session): Promise<void> {
    let failures = 0
    const signal = s.abort.signal
    while (!signal.aborted && !this.abort.signal.aborted) {
      const peer = this.o.peers.get(s.peer)
      if (!peer?.connected) return
      s.state = 'connecting'
      const messagesAtStart = s.messages
      let framed: FramedStream | undefined
      try {
        const stream = await this.o.host.dialProtocol(peer.peerId, this.proto, {
          signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
        })
        stream.inactivityTimeout = Number.POSITIVE_INFINITY
        framed = new FramedStream(stream, { maxFrameBytes: this.o.maxFrameBytes })
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
          await pause(this.o.resyncIntervalMs, signal)
          continue
        }
        failures = 0
      } catch (err) {
        if (signal.aborted) break
        if (err instanceof FrameError && err.reason !== 'closed') {
          this.o.peers.penalize(s.peer, err.reason, PENALTY[err.reason] ?? 1)
        }
        s.lastError = describeError(err)
        this.o.logger.debug(
          { peer: s.peer, author: s.want.authorHex, err: s.lastError },
          'sync session failed',
        )
      } finally {
        framed?.abort(new Error('session closed'))
      }
      if (signal.aborted) break
      // A session that made progress before it failed starts the backoff over.
      failures = s.messages > messagesAtStart ? 1 : failures + 1
      s.state = 'backoff'
      await pause(
        Math.min(30_000, 250 * 2 ** Math.min(failures, 7)) * (0.8 + Math.random() * 0.4),
        signal,
      )
    }
  }

  private async readSession(
    s: Session,
    framed: FramedStream,
    signal: AbortSignal,
  ): Promise<'ended' | 'rejected' | 'unavailable'> {
    const limits = { maxEntries: this.o.maxEntries, maxEntryBytes: this.o.maxEntryBytes }
    for (;;) {
      // A live session hears at least a heartbeat every heartbeatMs.
      const frame = await withDeadline(signal, this.heartbeatMs * 3, (s) => framed.read(s))
      if (!frame) return 'ended'
      this.o.metrics?.syncBytes.inc({ direction: 'in' }, frame.length)
      let msg: SyncMessage
      try {
        msg = decodeSync(frame, limits)
      } catch (err) {
        this.o.peers.penalize(s.peer, 'malformed', PENALTY.malformed)
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
        this.cooldown.set(
          `${s.want.authorHex}/${s.want.selector.kind}/${s.peer}`,
          Date.now() + this.o.resyncIntervalMs,
        )
        return 'unavailable'
      }
      // A consumer blocked on its sink must not keep the session from stopping.
      const r = await untilAborted(s.want.handle(s.peer, msg), signal)
      if (!r.ok) {
        this.o.peers.penalize(s.peer, r.reason, PENALTY[r.reason] ?? 1)
        throw new Error(`rejected ${msg.type} from ${s.peer}: ${r.reason} (${r.detail})`)
      }
    }
  }

  private async onInbound(stream: Stream, conn: Connection): Promise<void> {
    const pk = peerPublicKey(conn.remotePeer)
    const peer = pk ? toHex(pk) : conn.remotePeer.toString()
    // The requester sends one small frame (its request) and nothing else; we send batches.
    const framed = new FramedStream(stream, {
      maxFrameBytes: this.o.maxRequestBytes ?? 256 * 1024,
      highWaterBytes: this.o.maxRequestBytes ?? 256 * 1024,
      maxWriteBytes: this.o.maxFrameBytes,
    })
    const ac = new AbortController()
    const signal = AbortSignal.any([ac.signal, this.abort.signal])
    stream.inactivityTimeout = Number.POSITIVE_INFINITY
    const send = async (m: SyncMessage): Promise<void> => {
      const bytes = encodeSync(m)
      this.o.metrics?.syncBytes.inc({ direction: 'out' }, bytes.length)
      await framed.write(bytes, signal)
    }
    const perPeer = this.servingByPeer.get(peer) ?? 0
    const busy =
      this.serving >= this.o.maxSessions
        ? 'too many sync sessions'
        : perPeer >= (this.o.maxSessionsPerPeer ?? this.o.maxSessions)
          ? 'too many sync sessions from this peer'
          : undefined
    if (busy !== undefined) {
      this.o.metrics?.rejected.inc({ reason: 'busy' })
      await send({ type: 'reject', code: 'busy', message: busy }).catch(() => {})
      await framed.closeWrite()
      framed.abort(new Error('busy'))
      return
    }
    this.serving++
    this.servingByPeer.set(peer, perPeer + 1)
    this.o.metrics?.sessions.inc({ role: 'holder' })
    const deadline = AbortSignal.timeout(this.o.requestTimeoutMs ?? 10_000)
    try {
      let first: Uint8Array | undefined
      try {
        first = await framed.read(AbortSignal.any([signal, deadline]))
      } catch (err) {
        if (!deadline.aborted || signal.aborted) throw err
        this.o.peers.penalize(peer, 'timeout', PENALTY.timeout)
        throw new Error('no sync request in time', { cause: err })
      }
      if (!first) return
      let msg: SyncMessage
      try {
        msg = decodeSync(first, {
          maxEntries: this.o.maxEntries,
          maxEntryBytes: this.o.maxEntryBytes,
        })
      } catch {
        this.o.peers.penalize(peer, 'malformed', PENALTY.malformed)
        return
      }
      if (msg.type !== 'request') {
        this.o.peers.penalize(peer, 'malformed', PENALTY.malformed)
        return
      }
      // The requester sends nothing more; its closing or resetting ends the
      // session, and so does anything else it sends (counted as bad input).
      void framed
        .read(signal)
        .then((extra) => {
          if (extra !== undefined) this.o.peers.penalize(peer, 'malformed', PENALTY.malformed)
          ac.abort()
        })
        .catch((err: unknown) => {
          if (err instanceof FrameError && err.reason !== 'closed' && !signal.aborted)
            this.o.peers.penalize(peer, err.reason, PENALTY[err.reason] ?? 1)
          ac.abort()
        })
      const known = new Map(msg.known.map((k) => [k.logId, k.height]))
      await serve({
        registry: this.o.registry,
        selector: msg.selector,
        known,
        send,
        signal,
        heartbeatMs: this.heartbeatMs,
        maxEntryBytes: this.o.maxEntryBytes,
      })
    } catch (err) {
      if (err instanceof FrameError && err.reason !== 'closed' && !signal.aborted) {
        this.o.peers.penalize(peer, err.reason, PENALTY[err.reason] ?? 1)
      }
      if (!signal.aborted)
        this.o.logger.debug({ peer, err: describeError(err) }, 'serving sync session failed')
    } finally {
      ac.abort()
      this.serving--
      const n = (this.servingByPeer.get(peer) ?? 1) - 1
      if (n > 0) this.servingByPeer.set(peer, n)
      else this.servingByPeer.delete(peer)
      this.o.metrics?.sessions.dec({ role: 'holder' })
      framed.abort(new Error('session closed'))
    }
  }
}

function rank(p: PeerView, want: Want): number {
  return equalBytes(p.publicKey, want.selector.author) ? 1 : 0
}

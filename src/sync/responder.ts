/**
 * The serving side of the sync protocol: accepts sync streams from peers
 * within the session limits (others are answered `busy`), reads the one
 * request a requester sends within the request timeout, and then serves the
 * matching logs from this node's frame stores (serve.ts) until the requester
 * goes away. Anything the requester sends after its request is bad input.
 */
import { parseLogId } from '../core/selector.js'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { toHex } from '../core/codec.js'
import { describeError, RhioError } from '../errors/index.js'
import type { LogRegistry } from '../log/registry.js'
import { FramedStream } from '../p2p/framing.js'
import { peerPublicKey, protocolId } from '../p2p/host.js'
import { penalizeFrameError, type PenaltyBox } from '../p2p/penalty-box.js'
import { ON_LIMITED } from '../p2p/streams.js'
import { AbortGroup, withDeadline } from '../util/abort.js'
import type { SyncMetrics } from './metrics.js'
import { serve } from './serve.js'
import { decodeSync, DEFAULT_HEARTBEAT_MS, encodeSync, type SyncMessage } from './wire.js'

/** Inbound sync streams per connection beyond the per-peer session limit (answered "busy"). */
const BUSY_STREAMS = 8
/** Default of `maxRequestBytes` and `requestTimeoutMs`. */
const DEFAULT_MAX_REQUEST_BYTES = 256 * 1024
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

export interface SyncResponderComponents {
  host: Libp2p
  registry: LogRegistry
  penalties: PenaltyBox
  logger: Logger
  metrics?: SyncMetrics
}

export interface SyncResponderInit {
  networkId: Uint8Array
  /** Largest frame this node sends. */
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
  /** A served session sends at least this often (default 5 s). */
  heartbeatMs?: number
}

export class SyncResponder {
  private readonly proto: string
  private serving = 0
  private readonly servingByPeer = new Map<string, number>()
  /** Sessions being served, ended together on stop. */
  private readonly sessions = new AbortGroup()
  private started = false

  constructor(
    private readonly components: SyncResponderComponents,
    private readonly init: SyncResponderInit,
  ) {
    this.proto = protocolId(init.networkId, 'sync')
  }

  get servingCount(): number {
    return this.serving
  }

  private get perPeerLimit(): number {
    return Math.min(this.init.maxSessionsPerPeer ?? this.init.maxSessions, this.init.maxSessions)
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    // Room for a "busy" answer beyond the sessions one peer may have; libp2p
    // resets streams above that.
    await this.components.host.handle(this.proto, (stream, conn) => this.onStream(stream, conn), {
      maxInboundStreams: this.perPeerLimit + BUSY_STREAMS,
      maxOutboundStreams: this.init.maxSessions,
      ...ON_LIMITED,
    })
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    this.sessions.abortAll()
    await this.components.host.unhandle(this.proto).catch(() => {})
  }

  private async onStream(stream: Stream, conn: Connection): Promise<void> {
    const { penalties, metrics, logger } = this.components
    const pk = peerPublicKey(conn.remotePeer)
    const peer = pk ? toHex(pk) : conn.remotePeer.toString()
    const maxRequest = this.init.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES
    // The requester sends one small frame (its request) and nothing else; we send batches.
    const framed = new FramedStream(stream, {
      maxFrameBytes: maxRequest,
      highWaterBytes: maxRequest,
      maxWriteBytes: this.init.maxFrameBytes,
    })
    const session = this.sessions.add()
    const signal = session.signal
    stream.inactivityTimeout = Number.POSITIVE_INFINITY
    const send = async (m: SyncMessage): Promise<void> => {
      const bytes = encodeSync(m)
      metrics?.syncBytes.inc({ direction: 'out' }, bytes.length)
      if (m.type === 'batch') {
        const kind = parseLogId(m.batch.header.logId)?.kind
        if (kind) metrics?.entriesSent.inc({ kind }, m.batch.items.length)
      }
      await framed.write(bytes, signal)
    }
    const perPeer = this.servingByPeer.get(peer) ?? 0
    const busy =
      this.serving >= this.init.maxSessions
        ? 'too many sync sessions'
        : perPeer >= (this.init.maxSessionsPerPeer ?? this.init.maxSessions)
          ? 'too many sync sessions from this peer'
          : undefined
    if (busy !== undefined) {
      penalties.penalize(peer, 'busy')
      await send({ type: 'reject', code: 'busy', message: busy }).catch(() => {})
      await framed.closeWrite()
      framed.abort(new Error('busy'))
      session.dispose()
      return
    }
    this.serving++
    this.servingByPeer.set(peer, perPeer + 1)
    metrics?.sessions.inc({ role: 'holder' })
    try {
      const request = await this.readRequest(peer, framed, signal)
      if (!request) return
      // The requester sends nothing more; its closing or resetting ends the
      // session, and so does anything else it sends (counted as bad input).
      void framed
        .read(signal)
        .then((extra) => {
          if (extra !== undefined) penalties.penalize(peer, 'malformed')
          session.abort()
        })
        .catch((err: unknown) => {
          if (!signal.aborted) penalizeFrameError(penalties, peer, err)
          session.abort()
        })
      await serve({
        registry: this.components.registry,
        selector: request.selector,
        known: new Map(request.known.map((k) => [k.logId, k.height])),
        send,
        signal,
        heartbeatMs: this.init.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
        maxEntryBytes: this.init.maxEntryBytes,
      })
    } catch (err) {
      if (!signal.aborted) {
        penalizeFrameError(penalties, peer, err)
        logger.debug({ peer, err: describeError(err) }, 'serving sync session failed')
      }
    } finally {
      session.abort()
      session.dispose()
      this.serving--
      const n = (this.servingByPeer.get(peer) ?? 1) - 1
      if (n > 0) this.servingByPeer.set(peer, n)
      else this.servingByPeer.delete(peer)
      metrics?.sessions.dec({ role: 'holder' })
      framed.abort(new Error('session closed'))
    }
  }

  /** The session's request, or undefined when the stream ended or held something else. */
  private async readRequest(
    peer: string,
    framed: FramedStream,
    signal: AbortSignal,
  ): Promise<Extract<SyncMessage, { type: 'request' }> | undefined> {
    const { penalties } = this.components
    const timeoutMs = this.init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    let first: Uint8Array | undefined
    try {
      first = await withDeadline(signal, timeoutMs, (s) => framed.read(s))
    } catch (err) {
      if (signal.aborted || !(err instanceof DOMException && err.name === 'TimeoutError')) throw err
      penalties.penalize(peer, 'timeout')
      throw new RhioError('SYNC_REQUEST_TIMEOUT', 'no sync request in time', { cause: err })
    }
    if (!first) return undefined
    let msg: SyncMessage
    try {
      msg = decodeSync(first, {
        maxEntries: this.init.maxEntries,
        maxEntryBytes: this.init.maxEntryBytes,
      })
    } catch {
      penalties.penalize(peer, 'malformed')
      return undefined
    }
    if (msg.type !== 'request') {
      penalties.penalize(peer, 'malformed')
      return undefined
    }
    return msg
  }
}

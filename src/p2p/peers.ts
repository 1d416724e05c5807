/**
 * Peer management: who is connected, what they hold and want (hello
 * protocol), dialling the configured `nodes` with backoff and DNS
 * re-resolution, and the penalty box for peers that send bad input.
 */
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { toHex } from '../core/codec.js'
import { describeError } from '../errors.js'
import { resolveEndpoints, systemResolver, type Resolver } from './endpoints.js'
import { FrameError, FramedStream } from './framing.js'
import { peerIdFromRhioKey, peerPublicKey, protocolId } from './host.js'
import { decodeHello, encodeHello, type Hello } from './messages.js'
import type { P2PMetrics } from './metrics.js'

/** Hello streams per connection and direction. */
export const HELLO_STREAMS = 2
/** Penalty score at which a peer is disconnected and banned (default of `banThreshold`). */
export const BAN_THRESHOLD = 20
/** How long a ban lasts (default of `banMs`). */
export const BAN_MS = 5 * 60_000
/** Time constant of the exponential decay of a peer's penalty score. */
export const SCORE_DECAY_MS = 60_000

export interface StaticNode {
  publicKey: string
  endpoints: string[]
}

export interface PeerView {
  /** 64-hex public key. */
  id: string
  publicKey: Uint8Array
  peerId: PeerId
  connected: boolean
  configured: boolean
  addresses: string[]
  connectedSince?: number
  lastSeen?: number
  hello?: Hello
  lastError?: string
  bannedUntil?: number
}

export interface PeerManagerOptions {
  host: Libp2p
  networkId: Uint8Array
  staticNodes: StaticNode[]
  /** DNS re-resolution period for `nodes` endpoints. */
  queryIntervalMs: number
  /** Largest hello frame accepted. */
  maxFrameBytes: number
  /**
   * A connected peer must send its first hello within this many ms, and each
   * hello frame, once begun, must complete within it (default 10 s).
   */
  helloTimeoutMs?: number
  logger: Logger
  metrics?: P2PMetrics
  resolver?: Resolver
  /** Penalty score at which a peer is disconnected and banned. */
  banThreshold?: number
  banMs?: number
}

interface PeerState extends PeerView {
  helloOut?: FramedStream
  helloTimer?: NodeJS.Timeout
  score: number
  scoreAt: number
  dialAttempts: number
  wake?: () => void
}

export class PeerManager {
  private readonly peers = new Map<string, PeerState>()
  private local: Hello = { version: 1, holds: [], wants: [] }
  private readonly helloProto: string
  private readonly abort = new AbortController()
  private readonly helloListeners = new Set<(peer: PeerView) => void>()
  private readonly goneListeners = new Set<(peer: PeerView) => void>()
  private started = false
  private readonly loops: Promise<void>[] = []
  private readonly resolver: Resolver

  constructor(private readonly o: PeerManagerOptions) {
    this.helloProto = protocolId(o.networkId, 'hello')
    this.resolver = o.resolver ?? systemResolver
    for (const n of o.staticNodes) {
      const publicKey = Uint8Array.from(Buffer.from(n.publicKey, 'hex'))
      this.peers.set(n.publicKey, {
        id: n.publicKey,
        publicKey,
        peerId: peerIdFromRhioKey(publicKey),
        connected: false,
        configured: true,
        addresses: [],
        score: 0,
        scoreAt: Date.now(),
        dialAttempts: 0,
      })
    }
  }

  /** Whether the connection gater should refuse this peer right now. */
  isBanned(peer: PeerId): boolean {
    const pk = peerPublicKey(peer)
    const st = pk ? this.peers.get(toHex(pk)) : undefined
    return st?.bannedUntil !== undefined && st.bannedUntil > Date.now()
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    const { host } = this.o
    await host.handle(
      this.helloProto,
      (stream, connection) => this.onHelloStream(stream, connection),
      {
        // one hello stream per direction is all a peer needs (two while one is replaced)
        maxInboundStreams: HELLO_STREAMS,
        maxOutboundStreams: HELLO_STREAMS,
      },
    )
    host.addEventListener('peer:connect', (evt) => this.onConnect(evt.detail))
    host.addEventListener('peer:disconnect', (evt) => this.onDisconnect(evt.detail))
    for (const p of this.peers.values()) if (p.configured) this.loops.push(this.dialLoop(p))
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    this.abort.abort()
    for (const p of this.peers.values()) {
      p.wake?.()
      clearTimeout(p.helloTimer)
    }
    await Promise.allSettled(this.loops)
    await this.o.host.unhandle(this.helloProto).catch(() => {})
  }

  onHello(fn: (peer: PeerView) => void): () => void {
    this.helloListeners.add(fn)
    return () => this.helloListeners.delete(fn)
  }

  onGone(fn: (peer: PeerView) => void): () => void {
    this.goneListeners.add(fn)
    return () => this.goneListeners.delete(fn)
  }

  list(): PeerView[] {
    return [...this.peers.values()].map((p) => this.view(p))
  }

  get(id: string): PeerView | undefined {
    const p = this.peers.get(id)
    return p ? this.view(p) : undefined
  }

  /** Replaces what this node advertises and pushes it to every connected peer. */
  setHello(h: Hello): void {
    this.local = h
    for (const p of this.peers.values()) if (p.helloOut) void this.sendHello(p)
  }

  /** Counts a rejection by reason; repeated abuse disconnects and bans the peer. */
  penalize(peer: string, reason: string, weight = 1): void {
    this.o.metrics?.rejected.inc({ reason })
    const p = this.peers.get(peer)
    if (!p) return
    const now = Date.now()
    p.score = p.score * Math.exp(-(now - p.scoreAt) / SCORE_DECAY_MS) + weight
    p.scoreAt = now
    p.lastError = reason
    if (p.score >= (this.o.banThreshold ?? BAN_THRESHOLD)) {
      p.bannedUntil = now + (this.o.banMs ?? BAN_MS)
      p.score = 0
      this.o.metrics?.bans.inc()
      this.o.logger.warn({ peer, reason }, 'peer banned for repeated bad input')
      void this.o.host.hangUp(p.peerId).catch(() => {})
    }
  }

  private view(p: PeerState): PeerView {
    const v: PeerView = {
      id: p.id,
      publicKey: p.publicKey,
      peerId: p.peerId,
      connected: p.connected,
      configured: p.configured,
      addresses: p.addresses,
    }
    if (p.connectedSince !== undefined) v.connectedSince = p.connectedSince
    if (p.lastSeen !== undefined) v.lastSeen = p.lastSeen
    if (p.hello) v.hello = p.hello
    if (p.lastError !== undefined) v.lastError = p.lastError
    if (p.bannedUntil !== undefined && p.bannedUntil > Date.now()) v.bannedUntil = p.bannedUntil
    return v
  }

  private state(peerId: PeerId): PeerState | undefined {
    const pk = peerPublicKey(peerId)
    if (!pk) return undefined
    const id = toHex(pk)
    let p = this.peers.get(id)
    if (!p) {
      p = {
        id,
        publicKey: pk,
        peerId,
        connected: false,
        configured: false,
        addresses: [],
        score: 0,
        scoreAt: Date.now(),
        dialAttempts: 0,
      }
      this.peers.set(id, p)
    }
    return p
  }

  private onConnect(peerId: PeerId): void {
    const p = this.state(peerId)
    if (!p) {
      // not an Ed25519 identity: cannot be a rhio node
      void this.o.host.hangUp(peerId).catch(() => {})
      return
    }
    p.connected = true
    p.connectedSince = Date.now()
    p.lastSeen = Date.now()
    p.addresses = this.o.host.getConnections(peerId).map((c) => c.remoteAddr.toString())
    this.o.metrics?.peersConnected.set(this.connectedCount())
    this.o.logger.info({ peer: p.id, addresses: p.addresses }, 'peer connected')
    // Every rhio node says hello at once; a connection that does not is
    // holding a connection slot for nothing.
    const since = p.connectedSince
    clearTimeout(p.helloTimer)
    p.helloTimer = setTimeout(() => {
      if (!this.started || !p.connected || p.hello || p.connectedSince !== since) return
      this.penalize(p.id, 'timeout')
      this.o.logger.info({ peer: p.id }, 'no hello from the peer in time; closing the connection')
      void this.o.host.hangUp(p.peerId).catch(() => {})
    }, this.helloTimeoutMs)
    void this.openHello(p)
  }

  private get helloTimeoutMs(): number {
    return this.o.helloTimeoutMs ?? 10_000
  }

  private onDisconnect(peerId: PeerId): void {
    const p = this.state(peerId)
    if (!p) return
    p.connected = false
    delete p.connectedSince
    delete p.helloOut
    clearTimeout(p.helloTimer)
    const hadHello = p.hello !== undefined
    delete p.hello
    this.o.metrics?.peersConnected.set(this.connectedCount())
    this.o.logger.info({ peer: p.id }, 'peer disconnected')
    p.wake?.()
    if (hadHello) for (const l of this.goneListeners) l(this.view(p))
  }

  private connectedCount(): number {
    let n = 0
    for (const p of this.peers.values()) if (p.connected) n++
    return n
  }

  private async openHello(p: PeerState): Promise<void> {
    try {
      const stream = await this.o.host.dialProtocol(p.peerId, this.helloProto, {
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(10_000)]),
      })
      stream.inactivityTimeout = Number.POSITIVE_INFINITY
      const out = new FramedStream(stream, {
        maxFrameBytes: this.o.maxFrameBytes,
        highWaterBytes: this.o.maxFrameBytes,
        frameTimeoutMs: this.helloTimeoutMs,
      })
      p.helloOut = out
      void this.refuseInput(p, out)
      await this.sendHello(p)
    } catch (err) {
      if (this.abort.signal.aborted) return
      const msg = describeError(err)
      p.lastError = msg
      if (/protocol selection failed|not supported|UnsupportedProtocol/i.test(msg)) {
        this.o.logger.warn(
          { peer: p.id },
          'peer does not speak this network id; closing the connection',
        )
        void this.o.host.hangUp(p.peerId).catch(() => {})
      } else {
        this.o.logger.debug({ peer: p.id, err: msg }, 'hello stream failed')
      }
    }
  }

  /** Our hello stream only sends: anything the peer writes to it is bad input. */
  private async refuseInput(p: PeerState, out: FramedStream): Promise<void> {
    try {
      const frame = await out.read(this.abort.signal)
      if (frame === undefined) return
      this.penalize(p.id, 'malformed')
      out.abort(new Error('unexpected data on the hello stream'))
    } catch (err) {
      if (err instanceof FrameError && err.reason !== 'closed') this.penalize(p.id, err.reason, 2)
    }
  }

  private async sendHello(p: PeerState): Promise<void> {
    const out = p.helloOut
    if (!out) return
    try {
      await out.write(encodeHello(this.local))
    } catch (err) {
      this.o.logger.debug({ peer: p.id, err: describeError(err) }, 'hello send failed')
    }
  }

  private async onHelloStream(stream: Stream, connection: Connection): Promise<void> {
    const p = this.state(connection.remotePeer)
    if (!p) {
      stream.abort(new Error('not an Ed25519 peer'))
      return
    }
    stream.inactivityTimeout = Number.POSITIVE_INFINITY
    const framed = new FramedStream(stream, {
      maxFrameBytes: this.o.maxFrameBytes,
      highWaterBytes: this.o.maxFrameBytes,
      frameTimeoutMs: this.helloTimeoutMs,
    })
    try {
      for (;;) {
        const frame = await framed.read(this.abort.signal)
        if (!frame) {
          // the peer closed its side: close ours too, so the stream goes away
          await framed.closeWrite()
          return
        }
        let hello: Hello
        try {
          hello = decodeHello(frame)
        } catch (err) {
          this.penalize(p.id, 'malformed')
          throw err
        }
        p.hello = hello
        p.lastSeen = Date.now()
        for (const l of this.helloListeners) l(this.view(p))
      }
    } catch (err) {
      if (err instanceof FrameError && err.reason !== 'closed') this.penalize(p.id, err.reason, 2)
      if (!this.abort.signal.aborted)
        this.o.logger.debug({ peer: p.id, err: describeError(err) }, 'hello stream ended')
      framed.abort(err as Error)
    }
  }

  private async dialLoop(p: PeerState): Promise<void> {
    const signal = this.abort.signal
    const endpoints = this.o.staticNodes.find((n) => n.publicKey === p.id)?.endpoints ?? []
    while (!signal.aborted) {
      if (p.connected || (p.bannedUntil ?? 0) > Date.now()) {
        await this.sleep(p, this.o.queryIntervalMs)
        continue
      }
      const { addrs, errors } = await resolveEndpoints(endpoints, p.peerId, this.resolver)
      if (errors.length) p.lastError = errors.join('; ')
      let connected = false
      for (const addr of addrs) {
        if (signal.aborted) return
        try {
          await this.o.host.dial(addr, {
            signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
          })
          connected = true
          break
        } catch (err) {
          p.lastError = `${addr.toString()}: ${describeError(err)}`
        }
      }
      if (connected) {
        p.dialAttempts = 0
        continue
      }
      p.dialAttempts++
      const base = Math.min(30_000, 500 * 2 ** Math.min(p.dialAttempts - 1, 6))
      const delay = Math.min(base * (0.8 + Math.random() * 0.4), this.o.queryIntervalMs)
      this.o.logger.debug(
        { peer: p.id, attempt: p.dialAttempts, delay, err: p.lastError },
        'dial failed, retrying',
      )
      await this.sleep(p, delay)
    }
  }

  private sleep(p: PeerState, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms)
      function done(): void {
        clearTimeout(t)
        resolve()
      }
      p.wake = done
    })
  }
}

/**
 * The peer table: the peers this node knows — configured `nodes` always,
 * connected peers while they are connected, and the last MAX_GONE_PEERS that
 * disconnected (so their last error stays visible); keys are free, so nothing
 * else is kept. For each: whether it is connected, from where, since when,
 * and its last error. It follows libp2p's connection events, records
 * penalties and closes the connections of a peer the penalty box bans. What a
 * peer holds and wants is the hello protocol's business (sync/hello.ts).
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { fromHex, toHex } from '../core/codec.js'
import { backoffDelay } from '../util/backoff.js'
import { Listeners } from '../util/listeners.js'
import { peerIdFromRhioKey, peerPublicKey } from './host.js'
import type { PeerMetrics } from './metrics.js'
import type { PenaltyBox } from './penalty-box.js'

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
  lastError?: string
  bannedUntil?: number
  /** Set while the peer cannot work with this node (e.g. another network id): no dial before. */
  retryAt?: number
}

type PeerState = Omit<PeerView, 'bannedUntil' | 'retryAt'> & {
  mismatch?: Mismatch
  /** When the peer last started working with this node (its first hello of a connection). */
  workedAt?: number
}

interface Mismatch {
  reason: string
  /** Times it was seen since the peer last worked. */
  count: number
  retryAt: number
}

/**
 * How long a peer that connects but cannot work with this node (another
 * network id, another protocol version) is left alone: 2 s, doubling to 5 min.
 * Reconnecting at once made two misconfigured sites log hundreds of lines a
 * minute; a fixed config is picked up at the latest 5 min later, at once when
 * the fixed peer dials this node.
 */
export const MISMATCH_RETRY = { minMs: 2_000, maxMs: 5 * 60_000 }

/** Disconnected peers that are not configured, kept for /health (the oldest goes first). */
export const MAX_GONE_PEERS = 64

export interface PeerTableComponents {
  host: Libp2p
  penalties: PenaltyBox
  logger: Logger
  metrics?: PeerMetrics
}

export interface PeerTableInit {
  staticNodes: StaticNode[]
}

export class PeerTable {
  private readonly peers = new Map<string, PeerState>()
  /** Unconfigured peers that disconnected, oldest first. */
  private readonly gone = new Set<string>()
  private readonly connects = new Listeners<PeerView>()
  private readonly disconnects = new Listeners<PeerView>()
  private readonly unsubscribe: Array<() => void> = []
  private started = false

  constructor(
    private readonly components: PeerTableComponents,
    init: PeerTableInit,
  ) {
    for (const n of init.staticNodes) {
      const publicKey = fromHex(n.publicKey)
      this.peers.set(n.publicKey, {
        id: n.publicKey,
        publicKey,
        peerId: peerIdFromRhioKey(publicKey),
        connected: false,
        configured: true,
        addresses: [],
      })
    }
  }

  start(): void {
    if (this.started) return
    this.started = true
    const { host, penalties } = this.components
    const onConnect = (evt: CustomEvent<PeerId>): void => this.connected(evt.detail)
    const onDisconnect = (evt: CustomEvent<PeerId>): void => this.disconnected(evt.detail)
    host.addEventListener('peer:connect', onConnect)
    host.addEventListener('peer:disconnect', onDisconnect)
    this.unsubscribe.push(
      () => host.removeEventListener('peer:connect', onConnect),
      () => host.removeEventListener('peer:disconnect', onDisconnect),
      penalties.onPenalty((e) => {
        const p = this.peers.get(e.peer)
        if (p) p.lastError = e.reason
        if (e.bannedUntil !== undefined) this.hangUp(e.peer)
      }),
    )
  }

  stop(): void {
    if (!this.started) return
    this.started = false
    for (const u of this.unsubscribe.splice(0)) u()
  }

  get(id: string): PeerView | undefined {
    const p = this.peers.get(id)
    return p ? this.view(p) : undefined
  }

  list(): PeerView[] {
    return [...this.peers.values()].map((p) => this.view(p))
  }

  connectedCount(): number {
    let n = 0
    for (const p of this.peers.values()) if (p.connected) n++
    return n
  }

  /** Called with a peer's view when it connects (the table is updated first). */
  onConnect(fn: (peer: PeerView) => void): () => void {
    return this.connects.add(fn)
  }

  onDisconnect(fn: (peer: PeerView) => void): () => void {
    return this.disconnects.add(fn)
  }

  /** Records that the peer showed a sign of life. */
  touch(id: string): void {
    const p = this.peers.get(id)
    if (p) p.lastSeen = Date.now()
  }

  /** Records the last thing that went wrong with the peer (a dial, a stream). */
  setError(id: string, error: string): void {
    const p = this.peers.get(id)
    if (p) p.lastError = error
  }

  /**
   * Records that the peer connected but cannot work with this node, and why.
   * Returns how often this reason was seen in a row since the peer last
   * worked (1: the first time; log it then, not at every reconnect). The
   * dialer waits until `retryAt` before dialling it again.
   */
  mismatch(id: string, reason: string): number {
    const p = this.peers.get(id)
    if (!p) return 0
    const first = p.mismatch?.reason !== reason
    const count = first ? 0 : (p.mismatch?.count ?? 0)
    p.mismatch = {
      reason,
      count: count + 1,
      retryAt: Date.now() + backoffDelay(MISMATCH_RETRY, count),
    }
    p.lastError = reason
    return count + 1
  }

  /**
   * The peer works with this node (it said a hello this node understands):
   * forget an earlier mismatch and the error left from before it connected.
   */
  working(id: string): void {
    const p = this.peers.get(id)
    if (!p) return
    delete p.mismatch
    delete p.lastError
    p.lastSeen = Date.now()
    p.workedAt = p.lastSeen
  }

  /** Whether the peer worked with this node (said hello) at or after `since`. */
  workedSince(id: string, since: number): boolean {
    return (this.peers.get(id)?.workedAt ?? -1) >= since
  }

  /** Closes every connection to the peer. */
  hangUp(id: string | PeerId): void {
    const peerId = typeof id === 'string' ? this.peers.get(id)?.peerId : id
    if (peerId) void this.components.host.hangUp(peerId).catch(() => {})
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
    // a connected peer answers libp2p's keep-alive: it is seen now
    const seen = p.connected ? Date.now() : p.lastSeen
    if (seen !== undefined) v.lastSeen = seen
    if (p.lastError !== undefined) v.lastError = p.lastError
    const banned = this.components.penalties.bannedUntil(p.id)
    if (banned !== undefined) v.bannedUntil = banned
    if (p.mismatch && p.mismatch.retryAt > Date.now()) v.retryAt = p.mismatch.retryAt
    return v
  }

  /** The state of an Ed25519 peer (created on first sight), or undefined for other identities. */
  private state(peerId: PeerId): PeerState | undefined {
    const pk = peerPublicKey(peerId)
    if (!pk) return undefined
    const id = toHex(pk)
    let p = this.peers.get(id)
    if (!p) {
      p = { id, publicKey: pk, peerId, connected: false, configured: false, addresses: [] }
      this.peers.set(id, p)
    }
    this.gone.delete(id)
    return p
  }

  private connected(peerId: PeerId): void {
    const p = this.state(peerId)
    if (!p) {
      // not an Ed25519 identity: cannot be a rhio node
      this.hangUp(peerId)
      return
    }
    p.connected = true
    p.connectedSince = Date.now()
    p.lastSeen = Date.now()
    p.addresses = this.components.host.getConnections(peerId).map((c) => c.remoteAddr.toString())
    this.components.metrics?.peersConnected.set(this.connectedCount())
    this.components.logger.info({ peer: p.id, addresses: p.addresses }, 'peer connected')
    this.connects.emit(this.view(p))
  }

  private disconnected(peerId: PeerId): void {
    const p = this.state(peerId)
    if (!p) return
    p.connected = false
    delete p.connectedSince
    this.components.metrics?.peersConnected.set(this.connectedCount())
    this.components.logger.info({ peer: p.id }, 'peer disconnected')
    this.disconnects.emit(this.view(p))
    if (p.configured || p.connected) return
    this.gone.add(p.id)
    for (const id of this.gone) {
      if (this.gone.size <= MAX_GONE_PEERS) break
      this.gone.delete(id)
      this.peers.delete(id)
    }
  }
}

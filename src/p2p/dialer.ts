/**
 * Keeps this node connected to its configured `nodes`: dials each one's
 * endpoints (host names resolved through DNS at every attempt, so Kubernetes
 * service names that resolve only once the peer is up work), backs off while
 * it fails, and checks again every `queryIntervalMs` (at once when the peer
 * disconnects). Banned peers are not dialled until their ban ends. With
 * `throughRelays`, a node whose endpoints all fail (or that has none) is
 * dialled through every connected relay (a peer that speaks circuit relay
 * v2's hop protocol): `<relay address>/p2p-circuit/p2p/<node>`, which works
 * while the node holds a reservation on that relay.
 */
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { describeError } from '../errors/index.js'
import { Wakeup, withDeadline } from '../util/abort.js'
import { Backoff } from '../util/backoff.js'
import { resolveEndpoints, systemResolver, type Resolver } from './endpoints.js'
import type { PenaltyBox } from './penalty-box.js'
import type { PeerTable, StaticNode } from './peer-table.js'

/** Retries of a configured node that cannot be reached: 0.5 s, doubling to 30 s. */
export const DIAL_RETRY = { minMs: 500, maxMs: 30_000 }
/** One dial attempt (TCP connect, Noise and Yamux handshakes). */
export const DIAL_TIMEOUT_MS = 10_000

export interface StaticDialerComponents {
  host: Libp2p
  peers: PeerTable
  penalties: PenaltyBox
  logger: Logger
  resolver?: Resolver
}

export interface StaticDialerInit {
  nodes: StaticNode[]
  /** DNS re-resolution period for `nodes` endpoints. */
  queryIntervalMs: number
  /** Also dial through connected relays when the endpoints fail. */
  throughRelays?: boolean
}

/** Addresses of `peer` through every relay `host` is connected to directly. */
export async function relayedAddresses(host: Libp2p, peer: PeerId): Promise<Multiaddr[]> {
  const out: Multiaddr[] = []
  const seen = new Set<string>()
  for (const conn of host.getConnections()) {
    const relay = conn.remotePeer
    if (relay.equals(peer) || conn.status !== 'open' || seen.has(relay.toString())) continue
    if (conn.remoteAddr.toString().includes('/p2p-circuit')) continue
    const protocols = await host.peerStore
      .get(relay)
      .then((p) => p.protocols)
      .catch(() => [] as string[])
    if (!protocols.includes(RELAY_V2_HOP_CODEC)) continue
    seen.add(relay.toString())
    const base = conn.remoteAddr.toString().replace(/\/p2p\/.*$/, '')
    out.push(multiaddr(`${base}/p2p/${relay.toString()}/p2p-circuit/p2p/${peer.toString()}`))
  }
  return out
}

export class StaticDialer {
  private readonly abort = new AbortController()
  private readonly loops: Promise<void>[] = []
  private readonly wakeups = new Map<string, Wakeup>()
  private unsubscribe: (() => void) | undefined
  private started = false

  constructor(
    private readonly components: StaticDialerComponents,
    private readonly init: StaticDialerInit,
  ) {}

  start(): void {
    if (this.started) return
    this.started = true
    this.unsubscribe = this.components.peers.onDisconnect((p) => this.wakeups.get(p.id)?.wake())
    for (const n of this.init.nodes) {
      const wakeup = new Wakeup()
      this.wakeups.set(n.publicKey, wakeup)
      this.loops.push(this.dialLoop(n, wakeup))
    }
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    this.unsubscribe?.()
    this.abort.abort()
    await Promise.allSettled(this.loops)
  }

  private async dialLoop(node: StaticNode, wakeup: Wakeup): Promise<void> {
    const { host, peers, penalties, logger } = this.components
    const resolver = this.components.resolver ?? systemResolver
    const signal = this.abort.signal
    const backoff = new Backoff(DIAL_RETRY)
    const id = node.publicKey
    /** When this loop's last dial connected (undefined: not connected by it since). */
    let dialedAt: number | undefined
    while (!signal.aborted) {
      const peer = peers.get(id)
      if (!peer) return
      if (!peer.connected && dialedAt !== undefined) {
        // a connection that ended before the peer said hello is a failed attempt, so a
        // peer that accepts and then hangs up is not redialled in a tight loop
        const worked = peers.workedSince(id, dialedAt)
        dialedAt = undefined
        if (worked) backoff.reset()
        else await wakeup.sleep(backoff.next(), signal).catch(() => {})
        continue
      }
      if (peer.connected || penalties.isBanned(id)) {
        await wakeup.sleep(this.init.queryIntervalMs, signal).catch(() => {})
        continue
      }
      if (peer.retryAt !== undefined) {
        // it connected but cannot work with this node (another network id): leave it alone a while
        await wakeup.sleep(peer.retryAt - Date.now(), signal).catch(() => {})
        if (peers.get(id)?.retryAt !== undefined) continue
      }
      const { addrs, errors } = await resolveEndpoints(node.endpoints, peer.peerId, resolver)
      if (errors.length) peers.setError(id, errors.join('; '))
      if (this.init.throughRelays) addrs.push(...(await relayedAddresses(host, peer.peerId)))
      let connected = false
      const attemptAt = Date.now()
      for (const addr of addrs) {
        if (signal.aborted) return
        try {
          await withDeadline(signal, DIAL_TIMEOUT_MS, (s) => host.dial(addr, { signal: s }))
          connected = true
          break
        } catch (err) {
          peers.setError(id, `${addr.toString()}: ${describeError(err)}`)
        }
      }
      if (connected) {
        dialedAt = attemptAt
        continue
      }
      const delay = Math.min(backoff.next(), this.init.queryIntervalMs)
      logger.debug(
        { peer: id, attempt: backoff.attempts, delay, err: peers.get(id)?.lastError },
        'dial failed, retrying',
      )
      await wakeup.sleep(delay, signal).catch(() => {})
    }
  }
}

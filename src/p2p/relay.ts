/**
 * Circuit relay v2 (js-libp2p's @libp2p/circuit-relay-v2) for rhio: the
 * options a node's `relay` block turns into, and the guard a serving relay
 * puts in front of every reservation and circuit. The guard lets only peers
 * of this node's network id use the relay (identify must show they speak its
 * hello protocol) and bounds how often one peer may ask: each request beyond
 * `maxRequestsPerMinute` is refused and penalised (`relay-flood`), so a peer
 * that keeps asking ends up banned like any other abuser.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { toHex } from '../core/codec.js'
import { peerPublicKey } from './host.js'
import type { PenaltyBox } from './penalty-box.js'

/** How a node uses relays (config `relay.reserve`). */
export type ReserveMode = 'never' | 'auto' | 'always'

/** Limits of a serving relay (config `relay.*`). */
export interface RelayServeLimits {
  maxReservations: number
  reservationTtlMs: number
  maxCircuitsPerConnection: number
  circuitDurationMs: number
  circuitBytes: number
  maxRequestsPerMinute: number
}

export interface RelayOptions {
  /** Serve as a relay with these limits; undefined: do not serve. */
  serve?: RelayServeLimits
  reserve: ReserveMode
}

/** The relay options of a configuration's `relay` block. */
export function relayOptions(r: {
  readonly serve: boolean
  readonly reserve: ReserveMode
  readonly max_reservations: number
  readonly reservation_ttl_seconds: number
  readonly max_circuits_per_connection: number
  readonly circuit_duration_seconds: number
  readonly circuit_bytes: number
  readonly max_requests_per_minute: number
}): RelayOptions {
  return {
    reserve: r.reserve,
    ...(r.serve
      ? {
          serve: {
            maxReservations: r.max_reservations,
            reservationTtlMs: r.reservation_ttl_seconds * 1000,
            maxCircuitsPerConnection: r.max_circuits_per_connection,
            circuitDurationMs: r.circuit_duration_seconds * 1000,
            circuitBytes: r.circuit_bytes,
            maxRequestsPerMinute: r.max_requests_per_minute,
          },
        }
      : {}),
  }
}

/** How long the guard waits for identify to tell which protocols a new peer speaks. */
export const IDENTIFY_WAIT_MS = 5_000
const WINDOW_MS = 60_000
/** Request counters kept before old windows are dropped. */
const MAX_COUNTERS = 4096

export interface RelayGuardComponents {
  penalties: PenaltyBox
  logger: Logger
}

export interface RelayGuardInit {
  /** A protocol every node of this network speaks (its hello protocol). */
  networkProtocol: string
  maxRequestsPerMinute: number
}

export interface RelayGuardStats {
  /** Requests refused because the peer is not of this network. */
  refusedOutsiders: number
  /** Requests refused because the peer asked too often. */
  refusedFlood: number
}

/** Decides, for a serving relay, which reservations and circuits it grants. */
export class RelayGuard {
  private host: Libp2p | undefined
  private readonly counters = new Map<string, { start: number; count: number }>()
  readonly stats: RelayGuardStats = { refusedOutsiders: 0, refusedFlood: 0 }

  constructor(
    private readonly components: RelayGuardComponents,
    private readonly init: RelayGuardInit,
  ) {}

  /** The host whose peer store tells which protocols peers speak (the gater exists before it). */
  attach(host: Libp2p): void {
    this.host = host
  }

  /** Gater hook: whether to refuse `peer` a reservation. */
  async denyReservation(peer: PeerId): Promise<boolean> {
    return this.deny(peer, 'reservation')
  }

  /** Gater hook: whether to refuse relaying from `source` to `destination`. */
  async denyCircuit(source: PeerId, destination: PeerId): Promise<boolean> {
    if (await this.deny(source, 'circuit')) return true
    // the destination holds a reservation, so it passed as a member when it reserved
    return !(await this.isMember(destination))
  }

  private async deny(peer: PeerId, what: string): Promise<boolean> {
    const pk = peerPublicKey(peer)
    if (pk === undefined) return true
    const id = toHex(pk)
    if (!this.withinRate(id)) {
      this.stats.refusedFlood++
      this.components.logger.warn({ peer: id, request: what }, 'relay request beyond the rate')
      this.components.penalties.penalize(id, 'relay-flood')
      return true
    }
    if (!(await this.isMember(peer))) {
      this.stats.refusedOutsiders++
      this.components.logger.info(
        { peer: id, request: what },
        'relay refused a peer of another network',
      )
      this.components.penalties.penalize(id, 'wrong-network')
      return true
    }
    return false
  }

  private withinRate(id: string): boolean {
    const now = Date.now()
    let c = this.counters.get(id)
    if (!c || now - c.start >= WINDOW_MS) {
      if (this.counters.size >= MAX_COUNTERS) this.dropOld(now)
      c = { start: now, count: 0 }
      this.counters.set(id, c)
    }
    c.count++
    return c.count <= this.init.maxRequestsPerMinute
  }

  private dropOld(now: number): void {
    for (const [k, c] of this.counters) if (now - c.start >= WINDOW_MS) this.counters.delete(k)
    // all fresh: forget the oldest rather than grow
    for (const k of this.counters.keys()) {
      if (this.counters.size < MAX_COUNTERS) break
      this.counters.delete(k)
    }
  }

  /** Whether identify shows the peer speaks this network's hello protocol (waits for identify). */
  private async isMember(peer: PeerId): Promise<boolean> {
    const host = this.host
    if (!host) return false
    const speaks = async (): Promise<boolean> => {
      try {
        return (await host.peerStore.get(peer)).protocols.includes(this.init.networkProtocol)
      } catch {
        return false // not in the peer store yet
      }
    }
    if (await speaks()) return true
    // identify may still be running on a connection that just opened
    return new Promise<boolean>((resolve) => {
      const done = (v: boolean): void => {
        clearTimeout(timer)
        host.removeEventListener('peer:identify', onIdentify)
        resolve(v)
      }
      const onIdentify = (evt: CustomEvent<{ peerId: PeerId; protocols: string[] }>): void => {
        if (evt.detail.peerId.equals(peer))
          done(evt.detail.protocols.includes(this.init.networkProtocol))
      }
      const timer = setTimeout(() => void speaks().then(done), IDENTIFY_WAIT_MS)
      host.addEventListener('peer:identify', onIdentify)
    })
  }
}

/**
 * Whether this node can be reached from outside, from what its peers tell it:
 *
 * - `public`: a peer connected to it directly (not through a relay) from
 *   another machine — someone reached it;
 * - `private`: a peer saw it (identify's observed address) at an IP address
 *   that is none of its own — it is behind a NAT — and nobody reached it;
 * - `unknown`: neither yet.
 *
 * libp2p's AutoNAT asks peers to dial back only public addresses, so it says
 * nothing about private and benchmarking ranges (10/8, 198.18/15, …); this
 * tracker works on any addresses. With `relay.reserve: auto` the node starts
 * reserving a slot on a relay the first time it finds itself `private`.
 */
import { networkInterfaces } from 'node:os'
import type { Connection, IdentifyResult, Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { Listeners } from '../util/listeners.js'
import type { RelayGuardStats, RelayOptions } from './relay.js'
import { isRelayed } from './streams.js'

export type Reachability = 'public' | 'private' | 'unknown'

export interface ReachabilityComponents {
  host: Libp2p
  logger: Logger
  /** This machine's IP addresses (default: its network interfaces'). */
  localAddresses?: () => Set<string>
}

export interface ReachabilityStatus {
  reachability: Reachability
  /** Addresses peers saw this node at that are not its own (the NAT's). */
  observed: string[]
  /** When a peer last reached this node directly. */
  lastInboundDirect?: number
}

/** How a peer is connected (`relay`: only through a relay, bounded by its limits). */
export interface PeerPath {
  via: 'direct' | 'relay' | 'none'
  /** Bytes the relayed connection may still carry (both ways together), as the relay said. */
  limitBytes?: number
}

/** What /health says about how this node is reached (see docs/OPERATIONS.md). */
export interface ReachStatus extends ReachabilityStatus {
  /** Addresses peers learn for this node (relayed ones included). */
  announced: string[]
  /** Relays this node holds a reservation on (their peer ids). */
  reservations: string[]
  reserve: RelayOptions['reserve']
  /** Set on a serving relay. */
  relay?: {
    reservations: number
    maxReservations: number
    circuitBytes: number
    circuitDurationMs: number
  } & RelayGuardStats
}

/** Observed addresses kept (newest first). */
const MAX_OBSERVED = 8

function localInterfaceAddresses(): Set<string> {
  const out = new Set<string>()
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.add(a.address)
  }
  return out
}

/** The IP address of a multiaddr starting with /ip4 or /ip6. */
export function ipOf(ma: Multiaddr): string | undefined {
  const c = ma.getComponents()[0]
  return c && (c.name === 'ip4' || c.name === 'ip6') ? c.value : undefined
}

export class ReachabilityTracker {
  private readonly observed: string[] = []
  private natSeen = false
  private lastInboundDirect: number | undefined
  private readonly changes = new Listeners<Reachability>()
  private unsubscribe: Array<() => void> = []

  constructor(private readonly components: ReachabilityComponents) {}

  start(): void {
    const { host } = this.components
    const onIdentify = (evt: CustomEvent<IdentifyResult>): void => this.onIdentify(evt.detail)
    const onOpen = (evt: CustomEvent<Connection>): void => this.onOpen(evt.detail)
    host.addEventListener('peer:identify', onIdentify)
    host.addEventListener('connection:open', onOpen)
    this.unsubscribe = [
      () => host.removeEventListener('peer:identify', onIdentify),
      () => host.removeEventListener('connection:open', onOpen),
    ]
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u()
  }

  get reachability(): Reachability {
    if (this.lastInboundDirect !== undefined) return 'public'
    return this.natSeen ? 'private' : 'unknown'
  }

  status(): ReachabilityStatus {
    return {
      reachability: this.reachability,
      observed: [...this.observed],
      ...(this.lastInboundDirect !== undefined
        ? { lastInboundDirect: this.lastInboundDirect }
        : {}),
    }
  }

  /** Called with the new reachability whenever it changes. */
  onChange(fn: (r: Reachability) => void): () => void {
    return this.changes.add(fn)
  }

  private local(): Set<string> {
    return (this.components.localAddresses ?? localInterfaceAddresses)()
  }

  private onIdentify(r: IdentifyResult): void {
    const seen = r.observedAddr
    // what a peer sees through a relay is the relay's business, not this node's address
    if (!seen || isRelayed(r.connection)) return
    const ip = ipOf(seen)
    if (ip === undefined || this.local().has(ip)) return
    const before = this.reachability
    this.natSeen = true
    const s = seen.toString()
    if (!this.observed.includes(s)) {
      this.observed.unshift(s)
      this.observed.length = Math.min(this.observed.length, MAX_OBSERVED)
    }
    this.changed(before)
  }

  private onOpen(conn: Connection): void {
    if (conn.direction !== 'inbound' || isRelayed(conn)) return
    const ip = ipOf(conn.remoteAddr)
    // a connection from this machine proves nothing about the outside
    if (ip === undefined || this.local().has(ip)) return
    const before = this.reachability
    this.lastInboundDirect = Date.now()
    this.changed(before)
  }

  private changed(before: Reachability): void {
    const now = this.reachability
    if (now === before) return
    this.components.logger.info({ reachability: now, observed: this.observed }, 'reachability')
    this.changes.emit(now)
  }
}

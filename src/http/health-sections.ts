/**
 * The additive sections of GET /health (`peers`, `sync`, `transfers`, `reachability`) in its
 * snake_case JSON, from the typed status of the p2p, sync and blob parts.
 * The status page and `rhio status` read these fields.
 */
import type { OutboundStatus } from '../blobs/provider.js'
import type { TransferStatus } from '../blobs/types.js'
import type { PeerPath, ReachStatus } from '../p2p/reachability.js'
import type { PeerView } from '../p2p/peer-table.js'
import type { LogStatus } from '../sync/sync-node.js'

/** Peers listed in /health at most: configured first, then connected, then recently gone. */
export const MAX_HEALTH_PEERS = 200

/** How a peer is connected (`via`: direct, relay or none) and, through a relay, its limits. */
export function pathFields(p: PeerPath): Record<string, unknown> {
  return {
    via: p.via,
    ...(p.via === 'relay' ? { relay_limit_bytes: p.limitBytes ?? null } : {}),
  }
}

export function peersSection(
  peers: readonly PeerView[],
  path: (p: PeerView) => PeerPath = () => ({ via: 'none' }),
): unknown[] {
  const rank = (p: PeerView): number => (p.configured ? 0 : p.connected ? 1 : 2)
  const shown = [...peers]
    .sort((a, b) => rank(a) - rank(b) || (b.lastSeen ?? 0) - (a.lastSeen ?? 0))
    .slice(0, MAX_HEALTH_PEERS)
  return shown.map((p) => ({
    id: p.id,
    connected: p.connected,
    configured: p.configured,
    addresses: p.addresses,
    connected_since: p.connectedSince ?? null,
    last_seen: p.lastSeen ?? null,
    last_error: p.lastError ?? null,
    banned_until: p.bannedUntil ?? null,
    ...pathFields(path(p)),
    retry_at: p.retryAt ?? null,
  }))
}

export function syncSection(logs: readonly LogStatus[]): unknown[] {
  return logs.map((s) => ({
    author: s.author,
    kind: s.kind,
    log: s.logId,
    height: s.height,
    durable: s.durable,
    head: s.head,
    lag: s.lag,
    last_peer: s.lastPeer ?? null,
    last_update: s.lastUpdate ?? null,
  }))
}

/** This node's reachability, announced addresses, relay reservations and what it relays. */
export function reachabilitySection(r: ReachStatus): unknown {
  return {
    reachability: r.reachability,
    observed: r.observed,
    last_inbound_direct: r.lastInboundDirect ?? null,
    announced: r.announced,
    reserve: r.reserve,
    reservations: r.reservations,
    relay: r.relay
      ? {
          reservations: r.relay.reservations,
          max_reservations: r.relay.maxReservations,
          circuit_bytes: r.relay.circuitBytes,
          circuit_duration_seconds: r.relay.circuitDurationMs / 1000,
          refused_outsiders: r.relay.refusedOutsiders,
          refused_flood: r.relay.refusedFlood,
        }
      : null,
  }
}

/** `path`: how a transfer's current peer is connected (a relayed one is bounded by the relay's limits). */
export function transfersSection(
  transfers: readonly TransferStatus[],
  path: (peer: string) => PeerPath = () => ({ via: 'none' }),
): unknown[] {
  return transfers.map((t) => ({
    local_bucket: t.localBucket,
    key: t.key,
    hash: t.hash,
    size: t.size,
    done: t.done,
    peer: t.peer,
    peers: t.peers,
    state: t.state,
    started_at: t.startedAt,
    last_error: t.lastError,
    ...(t.peer !== undefined && t.peer !== null ? pathFields(path(t.peer)) : {}),
  }))
}

/** Objects this node sends to peers right now or sent within the last minute. */
export function servingSection(outbound: readonly OutboundStatus[]): unknown[] {
  return outbound.map((o) => ({
    peer: o.peer,
    bucket: o.bucket,
    key: o.key,
    size: o.size,
    sent: o.sent,
    started_at: o.startedAt,
    last_at: o.lastAt,
  }))
}

/**
 * Opening a rhio stream to a peer over whichever connection it has: a direct
 * one first, else a relayed one (circuit relay v2). libp2p's own
 * `dialProtocol` never reuses a relayed connection that carries relay limits
 * (it dials again instead), so rhio picks the connection itself; every rhio
 * protocol is registered to run on such connections (`ON_LIMITED`).
 */
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'

/** Handler and stream option: rhio protocols also run over relayed (limited) connections. */
export const ON_LIMITED = { runOnLimitedConnection: true } as const

/** Whether a connection goes through a relay. */
export function isRelayed(conn: Pick<Connection, 'remoteAddr'>): boolean {
  return conn.remoteAddr.toString().includes('/p2p-circuit')
}

/** The peer's open connections, direct ones first. */
export function openConnections(host: Libp2p, peer: PeerId): Connection[] {
  return host
    .getConnections(peer)
    .filter((c) => c.status === 'open')
    .sort((a, b) => Number(isRelayed(a)) - Number(isRelayed(b)))
}

/** A new stream of `protocol` to `peer`: over a direct connection if there is one, else a relayed one, else a new dial. */
export async function openStream(
  host: Libp2p,
  peer: PeerId,
  protocol: string,
  options: { signal: AbortSignal },
): Promise<Stream> {
  const conn = openConnections(host, peer)[0]
  if (conn) return conn.newStream(protocol, { ...options, ...ON_LIMITED })
  return host.dialProtocol(peer, protocol, { ...options, ...ON_LIMITED })
}

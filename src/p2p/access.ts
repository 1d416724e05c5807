/**
 * Who may connect: the connection gater asks the penalty box (banned peers)
 * and the access policy (with `access.policy: known`, only known public keys).
 * Both are decided when a connection is set up — after the Noise handshake
 * proves the peer's key, before any rhio protocol runs — and for every dial.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { toHex } from '../core/codec.js'
import { peerPublicKey } from './host.js'
import type { PeerMetrics } from './metrics.js'
import type { PenaltyBox } from './penalty-box.js'
import type { RelayGuard } from './relay.js'

/** The peers this node talks to: everyone (`open`), or a fixed set of public keys (`known`). */
export class AccessPolicy {
  private readonly allowed: ReadonlySet<string> | undefined

  /** `allowed`: 64-hex public keys, or undefined for an open node. */
  constructor(allowed?: Iterable<string>) {
    this.allowed =
      allowed === undefined ? undefined : new Set([...allowed].map((k) => k.toLowerCase()))
  }

  get open(): boolean {
    return this.allowed === undefined
  }

  allows(peer: string): boolean {
    return this.allowed === undefined || this.allowed.has(peer)
  }
}

/** The gater of a node's host: refuses banned peers and peers the policy does not allow. */
export function connectionGater(o: {
  penalties: PenaltyBox
  access: AccessPolicy
  metrics?: PeerMetrics
  /** A serving relay's guard: who may reserve a slot and be relayed. */
  relay?: RelayGuard
}): ConnectionGater {
  const refuse = (peer: PeerId): boolean => {
    const pk = peerPublicKey(peer)
    // not an Ed25519 identity: not a rhio node (the peer table hangs up on it)
    if (pk === undefined) return !o.access.open
    const id = toHex(pk)
    if (o.penalties.isBanned(id)) {
      o.metrics?.refused.inc({ reason: 'banned' })
      return true
    }
    if (!o.access.allows(id)) {
      o.metrics?.refused.inc({ reason: 'not-allowed' })
      return true
    }
    return false
  }
  const relay = o.relay
  return {
    denyDialPeer: async (peer) => refuse(peer),
    denyInboundEncryptedConnection: async (peer) => refuse(peer),
    denyOutboundEncryptedConnection: async (peer) => refuse(peer),
    ...(relay
      ? {
          denyInboundRelayReservation: async (peer: PeerId) =>
            refuse(peer) || (await relay.denyReservation(peer)),
          denyOutboundRelayedConnection: async (source: PeerId, destination: PeerId) =>
            refuse(source) || refuse(destination) || (await relay.denyCircuit(source, destination)),
        }
      : {}),
  }
}

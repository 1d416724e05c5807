/**
 * The libp2p host: TCP (or the in-memory transport for simulations) + Noise +
 * Yamux, with the node's Ed25519 key as its identity, so the libp2p PeerId and
 * rhio's 64-hex public key name the same node.
 *
 * Network isolation: every rhio protocol id embeds the network id
 * (`/rhio/<first 16 hex of BLAKE3(network_id)>/<name>/1`), so nodes of
 * different networks share no protocol and exchange no rhio data; the peer
 * manager also closes connections to such peers.
 */
import '../util/polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { ComponentLogger, ConnectionGater, Libp2p, PeerId } from '@libp2p/interface'
import { memory } from '@libp2p/memory'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { toHex } from '../core/codec.js'
import type { RelayOptions } from './relay.js'
import { coalesceSocketWrites } from './socket-writes.js'
import { grantCreditAtHalfWindow } from './yamux-window.js'

export type TransportKind = 'tcp' | 'memory'

export interface HostOptions {
  /** The node's 32-byte Ed25519 seed. */
  seed: Uint8Array
  networkId: Uint8Array
  transport: TransportKind
  /** Multiaddrs to listen on, e.g. `/ip4/0.0.0.0/tcp/9102` or `/memory/a`. */
  listen: string[]
  /** Multiaddrs other nodes learn for this one instead of the listen addresses (empty: those). */
  announce?: string[]
  maxConnections: number
  /** Inbound streams a peer may open on one connection. */
  maxStreamsPerConnection?: number
  /** Yamux receive window ceiling per stream; default 1 MiB. */
  streamWindowBytes?: number
  gater?: ConnectionGater
  logger?: ComponentLogger
  /** Circuit relay v2: serving and reserving (absent: neither, as before). */
  relay?: RelayOptions
}

/** Whether the host has the circuit relay transport (it dials and listens through relays). */
export function usesRelays(relay: RelayOptions | undefined): boolean {
  return relay !== undefined && relay.reserve !== 'never'
}

function relayServer(relay: RelayOptions | undefined): Record<string, unknown> {
  const s = relay?.serve
  if (!s) return {}
  return {
    relay: circuitRelayServer({
      reservations: {
        maxReservations: s.maxReservations,
        reservationTtl: s.reservationTtlMs,
        applyDefaultLimit: true,
        defaultDurationLimit: s.circuitDurationMs,
        defaultDataLimit: BigInt(s.circuitBytes),
      },
      maxInboundHopStreams: s.maxCircuitsPerConnection,
    }),
  }
}

export function protocolId(networkId: Uint8Array, name: string): string {
  return `/rhio/${toHex(networkId).slice(0, 16)}/${name}/1`
}

export async function createHost(o: HostOptions): Promise<Libp2p> {
  grantCreditAtHalfWindow()
  coalesceSocketWrites()
  const privateKey = await generateKeyPairFromSeed('Ed25519', o.seed)
  return createLibp2p({
    privateKey,
    addresses: {
      // `always`: a slot on a relay from the start (`auto` listens once the node finds itself behind a NAT)
      listen: o.relay?.reserve === 'always' ? [...o.listen, '/p2p-circuit'] : o.listen,
      ...(o.announce !== undefined && o.announce.length > 0 ? { announce: o.announce } : {}),
    },
    transports: [
      o.transport === 'memory' ? memory() : tcp(),
      ...(usesRelays(o.relay)
        ? [circuitRelayTransport({ reservationCompletionTimeout: 10_000 })]
        : []),
    ],
    connectionEncrypters: [noise()],
    // The stream window's ceiling (Yamux's default is 16 MiB) bounds what one stream can
    // have in flight toward a paused reader (limits.stream_window_bytes, default 1 MiB:
    // 100 MB/s per stream at a 10 ms round trip).
    streamMuxers: [
      yamux({
        streamOptions: { maxStreamWindowSize: o.streamWindowBytes ?? 1024 * 1024 },
        ...(o.maxStreamsPerConnection !== undefined
          ? { maxInboundStreams: o.maxStreamsPerConnection }
          : {}),
      }),
    ],
    services: { identify: identify(), ...relayServer(o.relay) },
    connectionManager: { maxConnections: o.maxConnections },
    ...(o.gater ? { connectionGater: o.gater } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
    start: false,
  })
}

/** The 32-byte Ed25519 public key behind a PeerId, if it is an Ed25519 id. */
export function peerPublicKey(peer: PeerId): Uint8Array | undefined {
  const pk = peer.publicKey
  if (!pk || pk.type !== 'Ed25519') return undefined
  return pk.raw
}

export function peerIdFromRhioKey(publicKey: Uint8Array): PeerId {
  // Ed25519 public keys are small enough to be inlined in the peer id.
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey))
}

/**
 * The p2p side of a node, assembled: penalty box → libp2p host (its gater
 * asks the penalty box) → peer table → dialer of the configured nodes → sync
 * (hello, requester, responder, logs). Each part gets its collaborators in
 * its constructor; nothing is wired after the fact.
 */
import type { ComponentLogger, Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { SignatureVerifier, Signer } from '../core/batch.js'
import { toHex } from '../core/codec.js'
import { describeError } from '../errors/index.js'
import type { Selector } from '../core/selector.js'
import type { AuthorLog } from '../log/author-log.js'
import type { LogInfo } from '../log/frame-store.js'
import type { FrameStoreFactory } from '../log/registry.js'
import type { Config } from '../config/index.js'
import { AccessPolicy, connectionGater } from '../p2p/access.js'
import { StaticDialer } from '../p2p/dialer.js'
import type { Resolver } from '../p2p/endpoints.js'
import { createHost, protocolId, usesRelays, type TransportKind } from '../p2p/host.js'
import { PeerMetrics } from '../p2p/metrics.js'
import { PenaltyBox } from '../p2p/penalty-box.js'
import { PeerTable, type PeerView, type StaticNode } from '../p2p/peer-table.js'
import { ReachabilityTracker, type PeerPath, type ReachStatus } from '../p2p/reachability.js'
import { RelayGuard, type RelayOptions } from '../p2p/relay.js'
import { isRelayed } from '../p2p/streams.js'
import type { StateStore } from '../state/state-store.js'
import { SyncMetrics } from '../sync/metrics.js'
import { SyncNode, type SyncLimits } from '../sync/sync-node.js'
import type { LogConsumer, Want } from '../sync/want.js'

/** Resource limits against peers (config `limits.*`; see docs/SECURITY.md). */
export interface P2PLimits extends SyncLimits {
  maxConnections: number
  /** Streams a peer may open on one connection (yamux). */
  maxStreamsPerConnection: number
  /** Yamux receive window ceiling per stream (256 KiB .. 8 MiB). */
  streamWindowBytes: number
}

/** The limits from the configuration's `limits` block. */
export function p2pLimits(l: Config['limits']): P2PLimits {
  return {
    maxEntryBytes: l.max_entry_bytes,
    maxFrameBytes: l.max_frame_bytes,
    maxRequestBytes: l.max_request_bytes,
    requestTimeoutMs: l.request_timeout_millis,
    maxBatchEntries: l.max_batch_entries,
    maxConnections: l.max_connections,
    maxSyncSessions: l.max_sync_sessions,
    maxSyncSessionsPerPeer: l.max_sync_sessions_per_peer,
    maxStreamsPerConnection: l.max_streams_per_connection,
    streamWindowBytes: l.stream_window_bytes,
  }
}

export interface P2PNodeInit {
  seed: Uint8Array
  publicKey: Uint8Array
  sign: Signer
  verify: SignatureVerifier
  networkId: Uint8Array
  transport: TransportKind
  listen: string[]
  /** Addresses announced to peers instead of the listen addresses (see HostOptions). */
  announce?: string[]
  staticNodes: StaticNode[]
  limits: P2PLimits
  state: StateStore
  frameStores: FrameStoreFactory
  queryIntervalMs: number
  resyncIntervalMs: number
  heartbeatMs?: number
  /** The p2p layer's logger (peers, dialling); sync logs through `syncLogger` (default: this). */
  logger: Logger
  syncLogger?: Logger
  libp2pLogger?: ComponentLogger
  /** Where the p2p and sync metrics are registered (none without). */
  registry?: Registry
  /** Public keys allowed to connect (`access.policy: known`); undefined: anyone. */
  allowedPeers?: Iterable<string>
  resolver?: Resolver
  /** Circuit relay v2 (config `relay`); absent: no relays, as before. */
  relay?: RelayOptions
}

export class P2PNode {
  readonly publicKeyHex: string
  readonly penalties: PenaltyBox
  readonly peers: PeerTable
  readonly dialer: StaticDialer
  readonly sync: SyncNode
  readonly reach: ReachabilityTracker
  private readonly relay: RelayOptions | undefined
  private readonly logger: Logger
  private readonly relayGuard: RelayGuard | undefined
  private unwatchReach: (() => void) | undefined
  private listeningOnRelays = false
  private started = false

  private constructor(
    readonly host: Libp2p,
    penalties: PenaltyBox,
    o: P2PNodeInit,
    peerMetrics: PeerMetrics | undefined,
    relayGuard: RelayGuard | undefined,
  ) {
    this.publicKeyHex = toHex(o.publicKey)
    this.penalties = penalties
    this.relay = o.relay
    this.logger = o.logger
    this.relayGuard = relayGuard
    this.reach = new ReachabilityTracker({ host, logger: o.logger })
    const m = peerMetrics ? { metrics: peerMetrics } : {}
    this.peers = new PeerTable(
      { host, penalties, logger: o.logger, ...m },
      { staticNodes: o.staticNodes },
    )
    this.dialer = new StaticDialer(
      {
        host,
        peers: this.peers,
        penalties,
        logger: o.logger,
        ...(o.resolver ? { resolver: o.resolver } : {}),
      },
      {
        nodes: o.staticNodes,
        queryIntervalMs: o.queryIntervalMs,
        throughRelays: usesRelays(o.relay),
      },
    )
    this.sync = new SyncNode(
      {
        host,
        peers: this.peers,
        penalties,
        state: o.state,
        logger: o.syncLogger ?? o.logger,
        ...(o.registry ? { metrics: new SyncMetrics(o.registry) } : {}),
      },
      {
        publicKey: o.publicKey,
        sign: o.sign,
        verify: o.verify,
        networkId: o.networkId,
        limits: o.limits,
        frameStores: o.frameStores,
        resyncIntervalMs: o.resyncIntervalMs,
        ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
      },
    )
  }

  static async create(o: P2PNodeInit): Promise<P2PNode> {
    const peerMetrics = o.registry ? new PeerMetrics(o.registry) : undefined
    const penalties = new PenaltyBox({
      logger: o.logger,
      ...(peerMetrics ? { metrics: peerMetrics } : {}),
    })
    const relayGuard = o.relay?.serve
      ? new RelayGuard(
          { penalties, logger: o.logger },
          {
            networkProtocol: protocolId(o.networkId, 'hello'),
            maxRequestsPerMinute: o.relay.serve.maxRequestsPerMinute,
          },
        )
      : undefined
    const host = await createHost({
      seed: o.seed,
      networkId: o.networkId,
      transport: o.transport,
      listen: o.listen,
      ...(o.announce !== undefined ? { announce: o.announce } : {}),
      maxConnections: o.limits.maxConnections,
      maxStreamsPerConnection: o.limits.maxStreamsPerConnection,
      streamWindowBytes: o.limits.streamWindowBytes,
      gater: connectionGater({
        penalties,
        access: new AccessPolicy(o.allowedPeers),
        ...(peerMetrics ? { metrics: peerMetrics } : {}),
        ...(relayGuard ? { relay: relayGuard } : {}),
      }),
      ...(o.libp2pLogger ? { logger: o.libp2pLogger } : {}),
      ...(o.relay ? { relay: o.relay } : {}),
    })
    relayGuard?.attach(host)
    return new P2PNode(host, penalties, o, peerMetrics, relayGuard)
  }

  get registry(): SyncNode['registry'] {
    return this.sync.registry
  }

  get hello(): SyncNode['hello'] {
    return this.sync.hello
  }

  /** Announced multiaddrs (with the /p2p/ suffix). */
  addresses(): string[] {
    return this.host.getMultiaddrs().map((a) => a.toString())
  }

  /**
   * The addresses the node actually listens on (with the bound port); differs
   * from addresses() when `announce` replaces what peers learn. libp2p has no
   * public accessor for these, so this reads its transport manager.
   */
  listenAddresses(): string[] {
    const internals = this.host as unknown as {
      components?: { transportManager?: { getAddrs(): Array<{ toString(): string }> } }
    }
    const addrs = internals.components?.transportManager?.getAddrs()
    return addrs ? addrs.map((a) => a.toString()) : this.addresses()
  }

  /** Reachability, announced addresses, reservations and (on a relay) what it serves. */
  reachStatus(): ReachStatus {
    const announced = this.addresses()
    const reservations = [
      ...new Set(
        announced
          .filter((a) => a.includes('/p2p-circuit'))
          .map((a) => /\/p2p\/([^/]+)\/p2p-circuit/.exec(a)?.[1])
          .filter((r): r is string => r !== undefined),
      ),
    ]
    const s = this.relay?.serve
    const server = (this.host.services as { relay?: { reservations: { size: number } } }).relay
    return {
      ...this.reach.status(),
      announced,
      reservations,
      reserve: this.relay?.reserve ?? 'never',
      ...(s && this.relayGuard
        ? {
            relay: {
              reservations: server?.reservations.size ?? 0,
              maxReservations: s.maxReservations,
              circuitBytes: s.circuitBytes,
              circuitDurationMs: s.circuitDurationMs,
              ...this.relayGuard.stats,
            },
          }
        : {}),
    }
  }

  /** How the peer is connected now: directly, only through a relay (with its limits), or not. */
  path(peer: PeerView): PeerPath {
    const conns = this.host.getConnections(peer.peerId).filter((c) => c.status === 'open')
    if (conns.length === 0) return { via: 'none' }
    if (conns.some((c) => !isRelayed(c))) return { via: 'direct' }
    const limits = conns.find((c) => c.limits)?.limits
    return {
      via: 'relay',
      // (limits.seconds is not shown: js-libp2p's relay sends milliseconds where its client reads seconds)
      ...(limits?.bytes !== undefined ? { limitBytes: Number(limits.bytes) } : {}),
    }
  }

  /** `relay.reserve: auto`: listen on relays (reserve a slot) once the node finds itself behind a NAT. */
  private async listenOnRelays(): Promise<void> {
    if (this.listeningOnRelays) return
    this.listeningOnRelays = true
    const internals = this.host as unknown as {
      components?: { transportManager?: { listen(addrs: unknown[]): Promise<void> } }
    }
    try {
      await internals.components?.transportManager?.listen([multiaddr('/p2p-circuit')])
    } catch (err) {
      this.listeningOnRelays = false
      this.logger.warn({ err: describeError(err) }, 'could not listen on relays')
    }
  }

  publish(info: Omit<LogInfo, 'author'>, filters: string[]): Promise<AuthorLog> {
    return this.sync.publish(info, filters)
  }

  subscribe(selector: Selector, consumer: LogConsumer): Promise<Want> {
    return this.sync.subscribe(selector, consumer)
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    await this.host.start()
    this.reach.start()
    if (this.relay?.reserve === 'auto') {
      this.unwatchReach = this.reach.onChange((r) => {
        if (r === 'private') void this.listenOnRelays()
      })
    }
    this.peers.start()
    await this.sync.start()
    this.dialer.start()
  }

  private stopReach(): void {
    this.unwatchReach?.()
    this.reach.stop()
  }

  /** Stops taking entries from the network (first step of a graceful stop). */
  async stopIntake(): Promise<void> {
    await this.sync.stopIntake()
  }

  /**
   * Persists heights, stores pending author batches and closes the network.
   * Call after `stopIntake()` and after the application's sinks have flushed.
   */
  async close(): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.sync.close()
    await this.dialer.stop()
    this.stopReach()
    this.peers.stop()
    await this.host.stop()
    await this.sync.registry.close()
  }

  /** Stops intake first, then flushes state, then closes the network. */
  async stop(): Promise<void> {
    await this.stopIntake()
    await this.close()
  }

  /**
   * Simulates a crash for tests: drops the network without flushing heights
   * or pending batches. The node cannot be used afterwards.
   */
  async kill(): Promise<void> {
    this.started = false
    await this.sync.kill()
    await this.dialer.stop()
    this.stopReach()
    this.peers.stop()
    await this.host.stop()
  }
}

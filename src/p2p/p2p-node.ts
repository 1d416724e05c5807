/**
 * The p2p core assembled: libp2p host, peer manager (hello, dialling, bans),
 * sync service, log registry and the author logs and wants that the
 * application creates. Transport-agnostic above the host, so simulations run
 * the same code over the in-memory transport.
 */
import type { ComponentLogger, Libp2p } from '@libp2p/interface'
import type { Logger } from 'pino'
import { SignatureCache, type SignatureVerifier, type Signer } from '../core/batch.js'
import { toHex } from '../core/codec.js'
import { AuthorLog } from '../log/author-log.js'
import type { LogInfo } from '../log/frame-store.js'
import { LogRegistry, type FrameStoreFactory } from '../log/registry.js'
import { Want, type LogConsumer } from '../log/want.js'
import type { StateStore } from '../state/state-store.js'
import type { Resolver } from './endpoints.js'
import { createHost, type TransportKind } from './host.js'
import type { Selector } from './messages.js'
import type { P2PMetrics } from './metrics.js'
import { PeerManager, type StaticNode } from './peers.js'
import { SyncService } from './sync.js'

/** Resource limits against peers (config `limits.*`; see docs/SECURITY.md). */
export interface P2PLimits {
  maxEntryBytes: number
  maxFrameBytes: number
  /** Largest hello or sync request frame (the frames a peer sends unasked). */
  maxRequestBytes: number
  /** A sync request, and each hello frame once begun, must arrive within this. */
  requestTimeoutMs: number
  maxBatchEntries: number
  maxConnections: number
  maxSyncSessions: number
  /** Sync sessions one peer may have served at once (so one peer cannot take them all). */
  maxSyncSessionsPerPeer: number
  /** Streams a peer may open on one connection (yamux). */
  maxStreamsPerConnection: number
  /** Yamux receive window ceiling per stream (256 KiB .. 8 MiB). */
  streamWindowBytes: number
}

export const DEFAULT_LIMITS: P2PLimits = {
  maxEntryBytes: 8 * 1024 * 1024,
  maxFrameBytes: 16 * 1024 * 1024,
  maxRequestBytes: 256 * 1024,
  requestTimeoutMs: 10_000,
  maxBatchEntries: 1024,
  maxConnections: 256,
  maxSyncSessions: 128,
  maxSyncSessionsPerPeer: 32,
  maxStreamsPerConnection: 256,
  streamWindowBytes: 1024 * 1024,
}

export interface P2PNodeOptions {
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
  logger: Logger
  libp2pLogger?: ComponentLogger
  metrics?: P2PMetrics
  resolver?: Resolver
}

export class P2PNode {
  readonly host: Libp2p
  readonly peers: PeerManager
  readonly sync: SyncService
  readonly registry: LogRegistry
  readonly publicKeyHex: string
  private readonly wants: Want[] = []
  private readonly authorLogs: AuthorLog[] = []
  private readonly sigCache = new SignatureCache()
  private started = false

  private constructor(
    private readonly o: P2PNodeOptions,
    host: Libp2p,
  ) {
    this.host = host
    this.publicKeyHex = toHex(o.publicKey)
    this.registry = new LogRegistry(o.publicKey, o.frameStores)
    this.peers = new PeerManager({
      host,
      networkId: o.networkId,
      staticNodes: o.staticNodes,
      queryIntervalMs: o.queryIntervalMs,
      maxFrameBytes: o.limits.maxRequestBytes,
      helloTimeoutMs: o.limits.requestTimeoutMs,
      logger: o.logger.child({ component: 'rhio:peers' }),
      ...(o.metrics ? { metrics: o.metrics } : {}),
      ...(o.resolver ? { resolver: o.resolver } : {}),
    })
    this.sync = new SyncService({
      host,
      peers: this.peers,
      registry: this.registry,
      networkId: o.networkId,
      maxFrameBytes: o.limits.maxFrameBytes,
      maxRequestBytes: o.limits.maxRequestBytes,
      requestTimeoutMs: o.limits.requestTimeoutMs,
      maxEntries: o.limits.maxBatchEntries,
      maxEntryBytes: o.limits.maxEntryBytes,
      maxSessions: o.limits.maxSyncSessions,
      maxSessionsPerPeer: o.limits.maxSyncSessionsPerPeer,
      resyncIntervalMs: o.resyncIntervalMs,
      ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
      logger: o.logger.child({ component: 'rhio:sync' }),
      ...(o.metrics ? { metrics: o.metrics } : {}),
    })
  }

  static async create(o: P2PNodeOptions): Promise<P2PNode> {
    const ref: { peers?: PeerManager } = {}
    const host = await createHost({
      seed: o.seed,
      networkId: o.networkId,
      transport: o.transport,
      listen: o.listen,
      ...(o.announce !== undefined ? { announce: o.announce } : {}),
      maxConnections: o.limits.maxConnections,
      maxStreamsPerConnection: o.limits.maxStreamsPerConnection,
      streamWindowBytes: o.limits.streamWindowBytes,
      gater: {
        denyDialPeer: async (peer) => ref.peers?.isBanned(peer) ?? false,
        denyInboundEncryptedConnection: async (peer) => ref.peers?.isBanned(peer) ?? false,
      },
      ...(o.libp2pLogger ? { logger: o.libp2pLogger } : {}),
    })
    const node = new P2PNode(o, host)
    ref.peers = node.peers
    return node
  }

  /** Listening multiaddrs (with the /p2p/ suffix). */
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

  /** Creates (or reopens) a log authored by this node. */
  async publish(info: Omit<LogInfo, 'author'>, filters: string[]): Promise<AuthorLog> {
    // One author log per log id: two writers on one store would sign overlapping batches.
    const existing = this.authorLogs.find((l) => l.store.info.logId === info.logId)
    if (existing) return existing
    const store = await this.registry.open({ ...info, author: this.o.publicKey })
    this.registry.addHolding({ author: this.o.publicKey, kind: info.kind, filters })
    const log = new AuthorLog({
      store,
      networkId: this.o.networkId,
      author: this.o.publicKey,
      sign: this.o.sign,
      maxBatchEntries: this.o.limits.maxBatchEntries,
      maxBatchBytes: Math.min(1024 * 1024, Math.floor(this.o.limits.maxFrameBytes / 4)),
      maxEntryBytes: this.o.limits.maxEntryBytes,
      ...(this.o.metrics ? { onBatch: () => this.o.metrics?.batchesSigned.inc() } : {}),
    })
    this.authorLogs.push(log)
    this.refreshHello()
    return log
  }

  /** Subscribes to an author's logs; this node also serves what it receives. */
  async subscribe(selector: Selector, consumer: LogConsumer): Promise<Want> {
    const want = new Want({
      selector,
      consumer,
      state: this.o.state,
      registry: this.registry,
      networkId: this.o.networkId,
      verify: this.o.verify,
      sigCache: this.sigCache,
      maxEntries: this.o.limits.maxBatchEntries,
      maxEntryBytes: this.o.limits.maxEntryBytes,
      persistEvery: Math.max(1, Math.floor(this.o.limits.maxBatchEntries / 2)),
      logger: this.o.logger.child({ component: 'rhio:sync' }),
      ...(this.o.metrics ? { metrics: this.o.metrics } : {}),
    })
    await want.load()
    this.wants.push(want)
    this.registry.addHolding(selector)
    this.sync.addWant(want)
    this.refreshHello()
    return want
  }

  private refreshHello(): void {
    this.peers.setHello({
      version: 1,
      holds: this.registry.holds(),
      wants: this.wants.map((w) => w.selector),
    })
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    await this.host.start()
    await this.peers.start()
    await this.sync.start()
  }

  /**
   * Simulates a crash for tests: drops the network without flushing heights
   * or pending batches. The node cannot be used afterwards.
   */
  async kill(): Promise<void> {
    this.started = false
    for (const w of this.wants) w.abandon()
    await this.sync.stop()
    await this.peers.stop()
    await this.host.stop()
  }

  /** Stops taking entries from the network (first step of a graceful stop). */
  async stopIntake(): Promise<void> {
    await this.sync.stop()
  }

  /**
   * Persists heights, stores pending author batches and closes the network.
   * Call after `stopIntake()` and after the application's sinks have flushed.
   */
  async close(): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.sync.stop()
    await Promise.allSettled(this.authorLogs.map((l) => l.drained()))
    await Promise.allSettled(this.wants.map((w) => w.close()))
    await this.peers.stop()
    await this.host.stop()
    await this.registry.close()
  }

  /** Stops intake first, then flushes state, then closes the network. */
  async stop(): Promise<void> {
    await this.stopIntake()
    await this.close()
  }

  /** Status of every subscribed log (for /health and the status page). */
  wantStatus(): Array<{ author: string; kind: string } & ReturnType<Want['status']>[number]> {
    return this.wants.flatMap((w) =>
      w.status().map((s) => ({ author: w.authorHex, kind: w.selector.kind, ...s })),
    )
  }
}

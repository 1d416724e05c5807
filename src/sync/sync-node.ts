/**
 * Everything sync on one node: the registry of logs it can serve, the author
 * logs it signs, the wants (subscriptions) it fills, the hello protocol that
 * tells peers about them, and both sides of the sync protocol. Built on a
 * libp2p host, a peer table and a penalty box (p2p/), so simulations run the
 * same code over the in-memory transport.
 *
 * Lifecycle: start(); stopIntake() (nothing more is taken from the network);
 * close() (pending author batches stored, heights persisted, serving ended);
 * kill() simulates a crash.
 */
import { toHex } from '../core/codec.js'
import type { Libp2p } from '@libp2p/interface'
import type { Logger } from 'pino'
import { SignatureCache, type SignatureVerifier, type Signer } from '../core/batch.js'
import type { Selector } from '../core/selector.js'
import { AuthorLog } from '../log/author-log.js'
import type { LogInfo } from '../log/frame-store.js'
import { LogRegistry, type FrameStoreFactory } from '../log/registry.js'
import type { PenaltyBox } from '../p2p/penalty-box.js'
import type { PeerTable } from '../p2p/peer-table.js'
import type { StateStore } from '../state/state-store.js'
import { HelloService } from './hello.js'
import type { SyncMetrics } from './metrics.js'
import { SyncRequester, type SessionStatus } from './requester.js'
import { SyncResponder } from './responder.js'
import { Want, type LogConsumer, type WantStatus } from './want.js'
import { PROTOCOL_VERSION } from './wire.js'

/** Resource limits of the sync protocol against peers (config `limits.*`, see docs/SECURITY.md). */
export interface SyncLimits {
  maxEntryBytes: number
  maxFrameBytes: number
  /** Largest hello or sync request frame (the frames a peer sends unasked). */
  maxRequestBytes: number
  /** A sync request, and each hello frame once begun, must arrive within this. */
  requestTimeoutMs: number
  maxBatchEntries: number
  maxSyncSessions: number
  /** Sync sessions one peer may have served at once (so one peer cannot take them all). */
  maxSyncSessionsPerPeer: number
}

export interface SyncNodeComponents {
  host: Libp2p
  peers: PeerTable
  penalties: PenaltyBox
  state: StateStore
  logger: Logger
  metrics?: SyncMetrics
}

export interface SyncNodeInit {
  publicKey: Uint8Array
  sign: Signer
  verify: SignatureVerifier
  networkId: Uint8Array
  limits: SyncLimits
  frameStores: FrameStoreFactory
  resyncIntervalMs: number
  /** Heartbeat of live sessions (default 5 s; tests shorten it). */
  heartbeatMs?: number
}

export interface LogStatus extends WantStatus {
  author: string
  kind: string
}

export class SyncNode {
  readonly registry: LogRegistry
  readonly hello: HelloService
  readonly requester: SyncRequester
  readonly responder: SyncResponder
  private readonly wants: Want[] = []
  private readonly authorLogs: AuthorLog[] = []
  private readonly sigCache = new SignatureCache()
  private started = false

  constructor(
    private readonly components: SyncNodeComponents,
    private readonly init: SyncNodeInit,
  ) {
    const { host, peers, penalties, logger, metrics } = components
    const { limits } = init
    this.registry = new LogRegistry(init.publicKey, init.frameStores)
    this.hello = new HelloService(
      { host, peers, penalties, logger },
      {
        networkId: init.networkId,
        maxFrameBytes: limits.maxRequestBytes,
        helloTimeoutMs: limits.requestTimeoutMs,
      },
    )
    const heartbeat = init.heartbeatMs !== undefined ? { heartbeatMs: init.heartbeatMs } : {}
    const m = metrics ? { metrics } : {}
    this.requester = new SyncRequester(
      { host, peers, hello: this.hello, penalties, logger, ...m },
      {
        networkId: init.networkId,
        maxFrameBytes: limits.maxFrameBytes,
        maxRequestBytes: limits.maxRequestBytes,
        maxEntries: limits.maxBatchEntries,
        maxEntryBytes: limits.maxEntryBytes,
        resyncIntervalMs: init.resyncIntervalMs,
        ...heartbeat,
      },
    )
    this.responder = new SyncResponder(
      { host, registry: this.registry, penalties, logger, ...m },
      {
        networkId: init.networkId,
        maxFrameBytes: limits.maxFrameBytes,
        maxRequestBytes: limits.maxRequestBytes,
        requestTimeoutMs: limits.requestTimeoutMs,
        maxEntries: limits.maxBatchEntries,
        maxEntryBytes: limits.maxEntryBytes,
        maxSessions: limits.maxSyncSessions,
        maxSessionsPerPeer: limits.maxSyncSessionsPerPeer,
        ...heartbeat,
      },
    )
  }

  /** Sync sessions this node serves right now. */
  get servingCount(): number {
    return this.responder.servingCount
  }

  /** Sessions this node runs to fill its wants. */
  status(): SessionStatus[] {
    return this.requester.status()
  }

  /** Creates (or reopens) a log authored by this node. */
  async publish(info: Omit<LogInfo, 'author'>, filters: string[]): Promise<AuthorLog> {
    // One author log per log id: two writers on one store would sign overlapping batches.
    const existing = this.authorLogs.find((l) => l.store.info.logId === info.logId)
    if (existing) return existing
    const { limits } = this.init
    const store = await this.registry.open({ ...info, author: this.init.publicKey })
    this.registry.addHolding({ author: this.init.publicKey, kind: info.kind, filters })
    const metrics = this.components.metrics
    const log = new AuthorLog({
      store,
      networkId: this.init.networkId,
      author: this.init.publicKey,
      sign: this.init.sign,
      maxBatchEntries: limits.maxBatchEntries,
      maxBatchBytes: Math.min(1024 * 1024, Math.floor(limits.maxFrameBytes / 4)),
      maxEntryBytes: limits.maxEntryBytes,
      ...(metrics ? { onBatch: () => metrics.batchesSigned.inc() } : {}),
    })
    this.authorLogs.push(log)
    this.refreshHello()
    return log
  }

  /** Subscribes to an author's logs; this node also serves what it receives. */
  async subscribe(selector: Selector, consumer: LogConsumer): Promise<Want> {
    const { limits } = this.init
    const want = new Want({
      selector,
      consumer,
      state: this.components.state,
      registry: this.registry,
      networkId: this.init.networkId,
      verify: this.init.verify,
      sigCache: this.sigCache,
      maxEntries: limits.maxBatchEntries,
      maxEntryBytes: limits.maxEntryBytes,
      persistEvery: Math.max(1, Math.floor(limits.maxBatchEntries / 2)),
      logger: this.components.logger,
      ...(this.components.metrics ? { metrics: this.components.metrics } : {}),
    })
    await want.load()
    this.wants.push(want)
    this.registry.addHolding(selector)
    this.requester.addWant(want)
    this.refreshHello()
    return want
  }

  private refreshHello(): void {
    this.hello.setLocal({
      version: PROTOCOL_VERSION,
      holds: this.registry.holds(),
      wants: this.wants.map((w) => w.selector),
    })
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    await this.hello.start()
    await this.responder.start()
    this.requester.start()
  }

  /** Stops taking entries from the network (first step of a graceful stop). */
  async stopIntake(): Promise<void> {
    await this.requester.stop()
    await this.responder.stop()
  }

  /**
   * Stores pending author batches, persists heights and stops the hello
   * protocol. Call after `stopIntake()` and after the application's sinks
   * have flushed.
   */
  async close(): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.stopIntake()
    await Promise.allSettled(this.authorLogs.map((l) => l.drained()))
    await Promise.allSettled(this.wants.map((w) => w.close()))
    await this.hello.stop()
  }

  /** Simulates a crash for tests: stops without flushing heights or pending batches. */
  async kill(): Promise<void> {
    this.started = false
    for (const w of this.wants) w.abandon()
    await this.stopIntake()
    await this.hello.stop()
  }

  /** Status of every subscribed log (for /health and the status page). */
  logStatus(): LogStatus[] {
    // this node's own logs first (what it publishes: never behind itself), then what it fetches
    const me = toHex(this.init.publicKey)
    const own = this.authorLogs.map((l) => ({
      author: me,
      kind: l.store.info.kind,
      logId: l.store.info.logId,
      height: l.head,
      durable: l.store.head,
      head: l.head,
      lag: 0,
    }))
    return [
      ...own,
      ...this.wants.flatMap((w) =>
        w.status().map((s) => ({ author: w.authorHex, kind: w.selector.kind, ...s })),
      ),
    ]
  }
}

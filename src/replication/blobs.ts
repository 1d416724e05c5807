/**
 * Blob replication as a node component, on top of the p2p node: bucket
 * publishers (watch, import, announce), bucket subscribers (desired state,
 * transfer jobs), the transfer engine (verified, resumable downloads) and the
 * provider (serving verified ranges to any peer). Subscriptions need the state
 * store (NATS KV by default): they are set up in the background.
 */
import type { Libp2p } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Component, HealthModel, RhioMetrics } from '../component/index.js'
import { fromHex } from '../core/codec.js'
import { describeError } from '../errors/index.js'
import type { Config } from '../config/index.js'
import type { LoggerFactory } from '../logging/index.js'
import type { NatsConnectionComponent } from '../nats/connection.js'
import type { PenaltyBox } from '../p2p/penalty-box.js'
import type { StateStore } from '../state/state-store.js'
import type { HelloService } from '../sync/hello.js'
import { createObjectStore } from '../store/factory.js'
import type { ObjectStore } from '../store/index.js'
import { MemoryBlobIndex } from '../blobs/memory-index.js'
import { BlobMetrics } from '../blobs/metrics.js'
import { BlobProvider } from '../blobs/provider.js'
import { BucketPublisher } from '../blobs/publisher.js'
import { BucketSubscriber, type BucketSubscription } from '../blobs/subscriber.js'
import type { TransferStatus } from '../blobs/types.js'
import { TransferManager } from '../blobs/transfer-manager.js'
import { retrySetup } from './messages.js'
import type { LogNetwork } from './network.js'

/** What blob replication needs of the p2p node. */
export interface BlobNetwork extends LogNetwork {
  host: Libp2p
  penalties: PenaltyBox
  hello: HelloService
}

export interface BlobReplicationComponents {
  nats: NatsConnectionComponent
  /** The p2p node (available once the p2p component has started). */
  network: () => BlobNetwork
  state: StateStore
  health: HealthModel
  metrics: RhioMetrics
  registry: Registry
  logs: LoggerFactory
}

export interface BlobReplicationInit {
  config: Config
  networkId: Uint8Array
}

export class BlobReplication implements Component {
  readonly name = 'blobs'
  readonly index = new MemoryBlobIndex()
  store: ObjectStore | undefined
  transfers: TransferManager | undefined
  provider: BlobProvider | undefined
  private readonly publishers: BucketPublisher[] = []
  private readonly subscribers: BucketSubscriber[] = []
  private readonly log: Logger
  private checkTimer: NodeJS.Timeout | undefined
  private readonly abort = new AbortController()
  private background: Promise<void> | undefined
  private readonly init: BlobReplicationInit & BlobReplicationComponents

  constructor(components: BlobReplicationComponents, init: BlobReplicationInit) {
    this.init = { ...components, ...init }
    this.log = components.logs.forComponent('rhio:blobs')
  }

  /** Whether any bucket is configured at all. */
  get enabled(): boolean {
    const c = this.init.config
    return c.publish.s3_buckets.length + c.subscribe.s3_buckets.length > 0
  }

  /** Starts publishers and the provider; subscriptions once the state store is reachable. */
  async start(): Promise<void> {
    if (!this.enabled) return
    const p2p = this.init.network()
    const { config, logs, health, state } = this.init
    const store = (this.store = createObjectStore(config))
    const metrics = new BlobMetrics(this.init.registry, {
      downloads: this.init.metrics.blobsDownloadTotal,
    })
    this.provider = new BlobProvider({
      host: p2p.host,
      penalties: p2p.penalties,
      networkId: this.init.networkId,
      store,
      index: this.index,
      limits: { maxRequests: config.limits.max_blob_requests },
      logger: logs.forComponent('rhio:blobs'),
      metrics,
      onInvalidLocation: () => {
        for (const p of this.publishers) p.poke()
      },
    })
    await this.provider.start()
    this.transfers = new TransferManager({
      host: p2p.host,
      penalties: p2p.penalties,
      hello: p2p.hello,
      networkId: this.init.networkId,
      store,
      state,
      index: this.index,
      limits: {
        partSizeBytes: config.blobs.part_size_bytes,
        maxConcurrentTransfers: config.blobs.max_concurrent_transfers,
        partsInFlight: config.blobs.parts_in_flight,
      },
      logger: logs.forComponent('rhio:transfers'),
      metrics,
    })
    for (const bucket of config.publish.s3_buckets) {
      const pub = new BucketPublisher({
        bucket,
        store,
        state,
        index: this.index,
        openLog: (logId) => p2p.publish({ logId, kind: 'blobs' }, [bucket]),
        pollIntervalMs: config.s3?.watcher_poll_interval_millis ?? 1000,
        logger: logs.forComponent('rhio:blobs'),
        onStatus: (s) => health.setPublishedBucket(bucket, s),
      })
      this.publishers.push(pub)
      pub.start()
    }
    this.checkTimer = setInterval(() => void this.checkSubscribedBuckets(), 5_000)
    void this.checkSubscribedBuckets()
    const signal = this.abort.signal
    this.background = (async () => {
      // their state is in NATS KV: wait for the connection instead of failing once per start
      if (config.state.backend === 'nats') await this.init.nats.connected(signal)
      await retrySetup(() => this.subscribe(p2p), signal, this.log, 'bucket subscriptions')
    })().catch((err: unknown) => {
      if (!signal.aborted) this.log.error({ err: describeError(err) }, 'subscriptions failed')
    })
  }

  /** Subscribes to the configured remote buckets (needs the state store: called with retries). */
  private async subscribe(p2p: LogNetwork): Promise<void> {
    const { config } = this.init
    const store = this.store
    const transfers = this.transfers
    if (!store || !transfers) return
    await transfers.start()
    const byAuthor = new Map<string, BucketSubscription[]>()
    for (const s of config.subscribe.s3_buckets) {
      const list = byAuthor.get(s.public_key) ?? []
      list.push({ remoteBucket: s.remote_bucket, localBucket: s.local_bucket, delete: s.delete })
      byAuthor.set(s.public_key, list)
    }
    for (const [author, subscriptions] of byAuthor) {
      if (this.subscribers.some((s) => s.author === author)) continue
      const sub = new BucketSubscriber({
        author,
        subscriptions,
        store,
        state: this.init.state,
        transfers,
        index: this.index,
        logger: this.log,
        onAnnouncement: (remoteBucket) =>
          this.init.metrics.messageReceiveTotal.inc({
            source: 'network',
            msg_type: 'blob_announcement',
            remote_bucket: remoteBucket,
          }),
      })
      await sub.resume()
      await p2p.subscribe(
        {
          author: fromHex(author),
          kind: 'blobs',
          filters: [...new Set(subscriptions.map((s) => s.remoteBucket))],
        },
        sub,
      )
      this.subscribers.push(sub)
    }
  }

  private async checkSubscribedBuckets(): Promise<void> {
    const store = this.store
    if (!store) return
    for (const s of this.init.config.subscribe.s3_buckets) {
      const r = await store
        .checkBucket(s.local_bucket)
        .catch((err: unknown) => ({ ok: false as const, error: err }))
      this.init.health.setSubscribedBucket(s.public_key, s.remote_bucket, s.local_bucket, {
        status: r.ok ? 'Active' : 'Inactive',
        lastError: r.ok ? null : describeError(r.error),
        lastCheckTime: Date.now(),
      })
    }
  }

  /** Transfers, running and recent (undefined when no bucket is configured). */
  status(): TransferStatus[] | undefined {
    return this.enabled ? (this.transfers?.status() ?? []) : undefined
  }

  async beforeStop(): Promise<void> {
    this.abort.abort()
    await this.background
  }

  /** Stops taking new work (publishers, subscribers), then transfers and serving. */
  async stop(): Promise<void> {
    await this.beforeStop()
    if (this.checkTimer) clearInterval(this.checkTimer)
    await Promise.allSettled(this.publishers.map((p) => p.stop()))
    for (const s of this.subscribers) s.stop()
    await this.transfers?.stop()
    await this.provider?.stop()
    await this.store?.close()
  }
}

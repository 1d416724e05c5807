/**
 * Blob replication on top of the p2p node: bucket publishers (watch, import,
 * announce), bucket subscribers (desired state, transfer jobs), the transfer
 * engine (verified, resumable downloads) and the provider (serving verified
 * ranges to any peer). Owned by the replication component.
 */
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { fromHex } from '../core/codec.js'
import { describeError } from '../errors.js'
import type { Config } from '../config/index.js'
import type { RhioMetrics } from '../http/index.js'
import type { LoggerFactory } from '../logging/index.js'
import type { HealthModel } from '../node/health.js'
import type { P2PNode } from '../p2p/p2p-node.js'
import type { StateStore } from '../state/state-store.js'
import { createObjectStore } from '../store/factory.js'
import type { ObjectStore } from '../store/index.js'
import { MemoryBlobIndex } from '../blobs/memory-index.js'
import { BlobMetrics } from '../blobs/metrics.js'
import { BlobProvider } from '../blobs/provider.js'
import { BucketPublisher } from '../blobs/publisher.js'
import { BucketSubscriber, type BucketSubscription } from '../blobs/subscriber.js'
import { TransferManager } from '../blobs/transfer-manager.js'

export interface BlobReplicationInit {
  config: Config
  logs: LoggerFactory
  registry: Registry
  metrics: RhioMetrics
  health: HealthModel
  networkId: Uint8Array
}

export class BlobReplication {
  readonly index = new MemoryBlobIndex()
  store: ObjectStore | undefined
  transfers: TransferManager | undefined
  provider: BlobProvider | undefined
  private readonly publishers: BucketPublisher[] = []
  private readonly subscribers: BucketSubscriber[] = []
  private readonly log: Logger
  private checkTimer: NodeJS.Timeout | undefined

  constructor(private readonly init: BlobReplicationInit) {
    this.log = init.logs.forComponent('rhio:blobs')
  }

  /** Whether any bucket is configured at all. */
  get enabled(): boolean {
    const c = this.init.config
    return c.publish.s3_buckets.length + c.subscribe.s3_buckets.length > 0
  }

  /** Starts publishers and the provider; subscriptions via `subscribe` once state is reachable. */
  async start(p2p: P2PNode, state: StateStore): Promise<void> {
    if (!this.enabled) return
    const { config, logs, health } = this.init
    const store = (this.store = createObjectStore(config))
    const metrics = new BlobMetrics(this.init.registry, {
      downloads: this.init.metrics.blobsDownloadTotal,
    })
    this.provider = new BlobProvider({
      host: p2p.host,
      peers: p2p.peers,
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
      peers: p2p.peers,
      networkId: this.init.networkId,
      store,
      state,
      index: this.index,
      limits: {
        partSizeBytes: config.blobs.part_size_bytes,
        maxConcurrentTransfers: config.blobs.max_concurrent_transfers,
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
  }

  /** Subscribes to the configured remote buckets (needs the state store: call with retries). */
  async subscribe(p2p: P2PNode): Promise<void> {
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

  status(): unknown[] {
    return this.transfers?.status() ?? []
  }

  /** Stops taking new work (publishers, subscribers), then transfers and serving. */
  async stop(): Promise<void> {
    if (this.checkTimer) clearInterval(this.checkTimer)
    await Promise.allSettled(this.publishers.map((p) => p.stop()))
    for (const s of this.subscribers) s.stop()
    await this.transfers?.stop()
    await this.provider?.stop()
    await this.store?.close()
  }
}

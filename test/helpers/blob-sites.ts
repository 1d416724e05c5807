/**
 * Blob replication test sites: a real libp2p node (startTestNode), an S3ObjectStore on a real
 * S3 server (s3rver or a Ceph RGW gateway), a blob index with a provider serving it, and
 * transfer managers on demand. `publish` stands in for the log side's importer: data, outboard
 * and meta as the original lays them out.
 */
import pino from 'pino'
import { Counter } from 'prom-client'
import {
  type BlobHash,
  ChunkRanges,
  type ReadData,
  computeOutboard,
  encodeRanges,
  hashToBase32,
} from '../../src/bao/index.js'
import { MemoryBlobIndex } from '../../src/blobs/memory-index.js'
import { BlobMetrics, type DownloadCounter } from '../../src/blobs/metrics.js'
import { BlobProvider, type InvalidLocation } from '../../src/blobs/provider.js'
import {
  TransferManager,
  type TransferDone,
  type TransferManagerInit,
} from '../../src/blobs/transfer-manager.js'
import type { HolderFinder, TransferJob } from '../../src/blobs/types.js'
import type { Selector } from '../../src/sync/wire.js'
import type { StaticNode } from '../../src/p2p/peer-table.js'
import { MemoryStateStore, type StateStore } from '../../src/state/state-store.js'
import { S3ObjectStore } from '../../src/store/s3-object-store.js'
import { encodeBaoMeta } from '../../src/store/meta.js'
import { META_CONTENT_TYPE, metaKey, outboardKey } from '../../src/store/layout.js'
import { startTestNode, type TestNode } from './p2p.js'
import type { S3Endpoint } from './s3-endpoint.js'
import { readAll } from './store-contract.js'

export const SIGNATURE = 'ab'.repeat(64)
const silent = pino({ level: process.env.RHIO_TEST_LOG ?? 'silent' })

export interface BlobSiteOptions {
  s3: S3Endpoint
  buckets?: string[]
  holds?: (self: Uint8Array) => Selector[]
  staticNodes?: StaticNode[]
  maxRequests?: number
  state?: StateStore
}

export class BlobSite implements AsyncDisposable {
  readonly index = new MemoryBlobIndex()
  readonly invalid: InvalidLocation[] = []
  readonly managers: TransferManager[] = []
  readonly downloads: DownloadCounter
  readonly metrics: BlobMetrics
  readonly provider: BlobProvider

  private constructor(
    readonly t: TestNode,
    readonly store: S3ObjectStore,
    readonly state: StateStore,
    maxRequests: number,
  ) {
    this.downloads = new Counter({
      name: 'blobs_download_total',
      help: 'blob downloads',
      labelNames: ['msg_type', 'local_bucket', 'remote_bucket'],
      registers: [t.registry],
    })
    this.metrics = new BlobMetrics(t.registry, { downloads: this.downloads })
    this.provider = new BlobProvider({
      host: t.node.host,
      penalties: t.node.penalties,
      networkId: new Uint8Array(32).fill(7),
      store,
      index: this.index,
      limits: { maxRequests },
      logger: silent.child({ component: 'provider' }),
      metrics: this.metrics,
      onInvalidLocation: (e) => this.invalid.push(e),
    })
  }

  static async start(o: BlobSiteOptions): Promise<BlobSite> {
    for (const b of o.buckets ?? []) await o.s3.createBucket(b)
    const state = o.state ?? new MemoryStateStore()
    const t = await startTestNode({ staticNodes: o.staticNodes ?? [], state })
    const store = S3ObjectStore.fromConfig(o.s3.config)
    const site = new BlobSite(t, store, state, o.maxRequests ?? 16)
    t.node.hello.setLocal({ version: 1, holds: o.holds?.(t.key.publicKey) ?? [], wants: [] })
    await site.provider.start()
    return site
  }

  get id(): string {
    return this.t.key.publicKeyHex
  }

  /** A transfer manager for this site (not started). */
  manager(o: Partial<TransferManagerInit> & { holders?: HolderFinder } = {}): TransferManager {
    const m = new TransferManager({
      host: this.t.node.host,
      penalties: this.t.node.penalties,
      hello: this.t.node.hello,
      networkId: new Uint8Array(32).fill(7),
      store: this.store,
      state: this.state,
      index: this.index,
      limits: { partSizeBytes: 5 * 1024 * 1024, maxConcurrentTransfers: 4 },
      logger: silent.child({ component: 'transfers' }),
      metrics: this.metrics,
      retry: { minMs: 100, maxMs: 1_000 },
      ...o,
    })
    this.managers.push(m)
    return m
  }

  /** Stores `data` as an imported blob (data, outboard, meta) and adds it to the index. */
  async publish(bucket: string, key: string, data: Uint8Array): Promise<BlobHash> {
    const { hash, outboard } = await computeOutboard([data])
    const etag = await this.store.put(bucket, key, data)
    await this.store.put(bucket, outboardKey(key), outboard)
    const meta = encodeBaoMeta({
      hash: hashToBase32(hash),
      size: data.length,
      complete: true,
      key,
      remote_bucket_name: bucket,
    })
    await this.store.put(bucket, metaKey(key), meta, { contentType: META_CONTENT_TYPE })
    this.index.add(hash, { bucket, key, size: data.length, etag })
    return hash
  }

  async read(bucket: string, key: string): Promise<Buffer> {
    return readAll((await this.store.get(bucket, key)).body)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const m of this.managers) await m.stop()
    await this.provider.stop()
    await this.t[Symbol.asyncDispose]()
    await this.store.close()
  }
}

/** A job for `key` of `author`'s `remoteBucket`, written to `localBucket`. */
export function jobFor(
  author: Uint8Array,
  remoteBucket: string,
  localBucket: string,
  key: string,
  hash: BlobHash,
  size: number,
  seq = 1,
): TransferJob {
  return { localBucket, key, hash, size, author, remoteBucket, signature: SIGNATURE, seq }
}

/** Resolves with the done event of `key` (rejects on its failure). */
export function doneOf(m: TransferManager, key: string): Promise<TransferDone> {
  return new Promise((resolve, reject) => {
    const offDone = m.onDone((e) => {
      if (e.job.key !== key) return
      offDone()
      offFailed()
      resolve(e)
    })
    const offFailed = m.onFailed((e) => {
      if (e.job.key !== key) return
      offDone()
      offFailed()
      reject(e.error)
    })
  })
}

/** The full iroh-blobs response for `ranges` of in-memory `data`. */
export async function responseBytes(
  data: Uint8Array,
  hash: BlobHash,
  outboard: Uint8Array,
  ranges: ChunkRanges = ChunkRanges.all(),
): Promise<Uint8Array> {
  const readData: ReadData = async function* (offset, length) {
    yield data.subarray(offset, offset + length)
  }
  const pieces: Uint8Array[] = []
  for await (const p of encodeRanges({ hash, size: data.length, outboard, readData }, ranges)) {
    pieces.push(p)
  }
  return new Uint8Array(Buffer.concat(pieces))
}

/** Reads a counter or gauge value (with labels) from a registry's text form. */
export async function metricValue(
  registry: { getSingleMetricAsString(n: string): Promise<string> },
  name: string,
  labels = '',
): Promise<number> {
  const text = await registry.getSingleMetricAsString(name)
  const esc = labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const m = new RegExp(`^${name}${labels ? `\\{${esc}\\}` : ''} (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}

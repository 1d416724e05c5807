/**
 * Subscribe side of blob replication (the log part), one per remote author:
 * each verified announcement updates the desired state of one object in a
 * local bucket. The desired state is the object's meta file itself, written
 * with `complete: false` before the delivery is acknowledged, so it survives
 * crashes; the transfer side makes the object match it and then rewrites the
 * meta with `complete: true`. Deletions are applied only where the
 * subscription opted in (`delete: true`).
 */
import type { Logger } from 'pino'
import { hashToBase32, parseBlobHash } from '../bao/index.js'
import { toHex } from '../core/codec.js'
import { describeError, hasCode } from '../errors/index.js'
import { parseLogId } from '../core/selector.js'
import type { Delivery, LogConsumer } from '../sync/want.js'
import type { ObjectStore } from '../store/index.js'
import { META_CONTENT_TYPE, metaKey, outboardKey } from '../store/layout.js'
import { decodeBaoMeta, encodeBaoMeta, type BaoMeta } from '../store/meta.js'
import type { BlobIndex, TransferJob, Transfers } from './types.js'

export interface BucketSubscription {
  remoteBucket: string
  localBucket: string
  delete: boolean
}

export interface BucketSubscriberInit {
  author: string
  subscriptions: BucketSubscription[]
  store: ObjectStore
  transfers: Transfers
  index: BlobIndex
  logger: Logger
  onAnnouncement?: (remoteBucket: string) => void
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of body) parts.push(c)
  return Buffer.concat(parts)
}

export class BucketSubscriber implements LogConsumer {
  private readonly abort = new AbortController()
  announcements = 0

  constructor(private readonly o: BucketSubscriberInit) {}

  get author(): string {
    return this.o.author
  }

  async deliver(d: Delivery): Promise<void> {
    const scope = parseLogId(d.logId)
    if (scope?.kind !== 'blobs') {
      d.ack()
      return
    }
    const targets = this.o.subscriptions.filter((s) => s.remoteBucket === scope.bucket)
    const signature = d.signature ? toHex(d.signature) : undefined
    for (const e of d.entries) {
      this.announcements++
      this.o.onAnnouncement?.(scope.bucket)
      for (const t of targets) {
        if (e.body.kind === 'blob-put') {
          await this.put(t, {
            key: e.body.key,
            hash: e.body.hash,
            size: e.body.size,
            seq: e.seq,
            signature,
          })
        } else if (e.body.kind === 'blob-delete') {
          await this.delete(t, e.body.key)
        }
      }
    }
    d.ack()
  }

  private async readMeta(bucket: string, key: string): Promise<BaoMeta | undefined> {
    try {
      const { body } = await this.o.store.get(bucket, metaKey(key), { signal: this.abort.signal })
      return decodeBaoMeta(await readAll(body))
    } catch (err) {
      if (hasCode(err, 'S3_NO_SUCH_KEY')) return undefined
      if (hasCode(err, 'S3_META_INVALID')) return undefined
      throw err
    }
  }

  private async put(
    t: BucketSubscription,
    a: { key: string; hash: Uint8Array; size: number; seq: number; signature: string | undefined },
  ): Promise<void> {
    const hash = hashToBase32(a.hash)
    const current = await this.readMeta(t.localBucket, a.key)
    if (current?.hash === hash && current.public_key === this.o.author) {
      if (current.complete) return // already have exactly this version
    } else {
      const meta: BaoMeta = {
        hash,
        size: a.size,
        complete: false,
        key: a.key,
        remote_bucket_name: t.remoteBucket,
        public_key: this.o.author,
        signature: a.signature ?? '0'.repeat(128),
        seq: a.seq,
      }
      await this.o.store.put(t.localBucket, metaKey(a.key), encodeBaoMeta(meta), {
        contentType: META_CONTENT_TYPE,
        signal: this.abort.signal,
      })
    }
    await this.o.transfers.enqueue(
      this.job(t, a.key, a.hash, a.size, a.seq, a.signature ?? '0'.repeat(128)),
    )
  }

  private job(
    t: BucketSubscription,
    key: string,
    hash: Uint8Array,
    size: number,
    seq: number,
    signature: string,
  ): TransferJob {
    return {
      localBucket: t.localBucket,
      key,
      hash,
      size,
      author: Uint8Array.from(Buffer.from(this.o.author, 'hex')),
      remoteBucket: t.remoteBucket,
      signature,
      seq,
    }
  }

  private async delete(t: BucketSubscription, key: string): Promise<void> {
    if (!t.delete) return
    const current = await this.readMeta(t.localBucket, key)
    // Only remove what this author's replication wrote.
    if (
      !current ||
      current.public_key !== this.o.author ||
      current.remote_bucket_name !== t.remoteBucket
    )
      return
    this.o.transfers.cancel(t.localBucket, key)
    const { store } = this.o
    await store.delete(t.localBucket, key, { signal: this.abort.signal })
    await store.delete(t.localBucket, outboardKey(key), { signal: this.abort.signal })
    await store.delete(t.localBucket, metaKey(key), { signal: this.abort.signal })
    this.o.logger.info({ bucket: t.localBucket, key }, 'deleted (propagated)')
  }

  /**
   * At start: resumes incomplete objects (meta `complete: false`) and makes
   * complete ones servable by this node.
   */
  async resume(): Promise<void> {
    const { store } = this.o
    for (const t of this.o.subscriptions) {
      try {
        for await (const info of store.list(t.localBucket, {
          prefix: '.rhio/',
          signal: this.abort.signal,
        })) {
          if (!info.key.endsWith('.rhio.json')) continue
          const key = info.key.slice('.rhio/'.length, -'.rhio.json'.length)
          const meta = await this.readMeta(t.localBucket, key)
          if (
            !meta ||
            meta.public_key !== this.o.author ||
            meta.remote_bucket_name !== t.remoteBucket
          )
            continue
          const hash = parseBlobHash(meta.hash)
          if (meta.complete) {
            this.o.index.add(hash, { bucket: t.localBucket, key, size: meta.size })
          } else {
            await this.o.transfers.enqueue(
              this.job(t, key, hash, meta.size, meta.seq ?? 0, meta.signature ?? '0'.repeat(128)),
            )
          }
        }
      } catch (err) {
        this.o.logger.warn(
          { bucket: t.localBucket, err: describeError(err) },
          'cannot scan subscribed bucket; retrying at restart',
        )
      }
    }
  }

  stop(): void {
    this.abort.abort()
  }
}

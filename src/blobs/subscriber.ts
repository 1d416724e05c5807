/**
 * Subscribe side of blob replication (the log part), one per remote author:
 * each verified announcement updates the desired state of one object in a
 * local bucket. The desired state is the object's meta file itself, written
 * with `complete: false` before the delivery is acknowledged, so it survives
 * crashes; the transfer side makes the object match it and then rewrites the
 * meta with `complete: true`. Deletions are applied only where the
 * subscription opted in (`delete: true`).
 *
 * Nothing older than what is stored is applied: a new epoch of a bucket's log
 * re-announces every object, so once an entry of epoch N has been seen
 * (recorded in the state store) entries of earlier epochs are ignored — a
 * former forwarder replaying them cannot roll objects back or delete
 * re-created ones — and a put older (epoch, seq) than the object's meta is
 * skipped. An announced key that cannot be stored (`..`, `a//b`, `.rhio/…`,
 * or what the local store refuses) is recorded as a failed transfer and the
 * rest of the log goes on.
 */
import type { Logger } from 'pino'
import { hashToBase32, parseBlobHash } from '../bao/index.js'
import { toHex } from '../core/codec.js'
import { describeError, hasCode, RhioError } from '../errors/index.js'
import { parseLogId } from '../core/selector.js'
import type { Delivery, LogConsumer } from '../sync/want.js'
import type { ObjectStore } from '../store/index.js'
import { announcedKeyProblem, META_CONTENT_TYPE, metaKey, outboardKey } from '../store/layout.js'
import type { StateStore } from '../state/state-store.js'
import { digest } from '../core/hash.js'
import { decodeBaoMeta, encodeBaoMeta, type BaoMeta } from '../store/meta.js'
import type { BlobIndex, TransferJob, Transfers } from './types.js'
import { retry } from '../util/backoff.js'

/** A subscribed bucket that could not be scanned at start is tried again: 1 s, doubling to 1 min. */
export const RESUME_RETRY = { minMs: 1_000, maxMs: 60_000 }

export interface BucketSubscription {
  remoteBucket: string
  localBucket: string
  delete: boolean
}

export interface BucketSubscriberInit {
  author: string
  subscriptions: BucketSubscription[]
  store: ObjectStore
  /** Where the newest epoch seen per remote bucket is kept. */
  state: StateStore
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
  /** Newest epoch seen per remote bucket (loaded lazily from the state store). */
  private readonly epochs = new Map<string, number>()
  announcements = 0
  /** Entries ignored because a newer epoch of their bucket was seen (replays). */
  stale = 0

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
    const newest = await this.newestEpoch(scope.bucket)
    if (scope.epoch < newest) {
      // an older epoch: a newer one re-announced everything, so this is a replay
      this.stale += d.entries.length
      if (d.entries.length > 0)
        this.o.logger.warn(
          { author: this.o.author, bucket: scope.bucket, epoch: scope.epoch, newest },
          'ignoring announcements of an older epoch of the bucket',
        )
      d.ack()
      return
    }
    if (scope.epoch > newest) await this.setNewestEpoch(scope.bucket, scope.epoch)
    const targets = this.o.subscriptions.filter((s) => s.remoteBucket === scope.bucket)
    const signature = d.signature ? toHex(d.signature) : undefined
    for (const e of d.entries) {
      if (e.body.kind !== 'blob-put' && e.body.kind !== 'blob-delete') continue
      this.announcements++
      this.o.onAnnouncement?.(scope.bucket)
      const body = e.body
      const problem = announcedKeyProblem(body.key)
      for (const t of targets) {
        const version = { epoch: scope.epoch, seq: e.seq }
        try {
          if (problem !== undefined)
            throw new RhioError('S3_INVALID_KEY', `key ${JSON.stringify(body.key)} ${problem}`)
          if (body.kind === 'blob-put') {
            await this.put(t, { ...body, ...version, signature })
          } else {
            await this.delete(t, body.key, version)
          }
        } catch (err) {
          // a key this store cannot hold fails for good; anything else is retried
          if (!hasCode(err, 'S3_INVALID_KEY')) throw err
          this.refuse(t, body, describeError(err))
        }
      }
    }
    d.ack()
  }

  private refuse(
    t: BucketSubscription,
    body: { key: string; hash?: Uint8Array; size?: number },
    reason: string,
  ): void {
    this.o.logger.warn(
      { author: this.o.author, bucket: t.localBucket, key: body.key, err: reason },
      'announced object cannot be stored here; skipped',
    )
    this.o.transfers.refuse(
      {
        localBucket: t.localBucket,
        remoteBucket: t.remoteBucket,
        key: body.key,
        hash: body.hash ?? new Uint8Array(32),
        size: body.size ?? 0,
      },
      reason,
    )
  }

  private epochKey(bucket: string): string {
    const b = toHex(digest(new TextEncoder().encode(bucket))).slice(0, 32)
    return `blobs.epoch.${this.o.author}.${b}`
  }

  private async newestEpoch(bucket: string): Promise<number> {
    let e = this.epochs.get(bucket)
    if (e === undefined) {
      const v = await this.o.state.get<{ epoch: number }>(this.epochKey(bucket))
      e = typeof v?.epoch === 'number' ? v.epoch : 0
      this.epochs.set(bucket, e)
    }
    return e
  }

  private async setNewestEpoch(bucket: string, epoch: number): Promise<void> {
    await this.o.state.put(this.epochKey(bucket), { epoch })
    this.epochs.set(bucket, epoch)
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
    a: {
      key: string
      hash: Uint8Array
      size: number
      epoch: number
      seq: number
      signature: string | undefined
    },
  ): Promise<void> {
    const hash = hashToBase32(a.hash)
    const current = await this.readMeta(t.localBucket, a.key)
    if (current && current.public_key === this.o.author && isNewer(current, a)) return
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
        epoch: a.epoch,
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

  private async delete(
    t: BucketSubscription,
    key: string,
    version: { epoch: number; seq: number },
  ): Promise<void> {
    if (!t.delete) return
    const current = await this.readMeta(t.localBucket, key)
    // Only remove what this author's replication wrote, and only an older version.
    if (
      !current ||
      current.public_key !== this.o.author ||
      current.remote_bucket_name !== t.remoteBucket ||
      isNewer(current, version)
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
    for (const t of this.o.subscriptions) {
      try {
        await this.scan(t)
      } catch (err) {
        // new objects arrive meanwhile; only resuming unfinished ones waits for the bucket
        this.o.logger.warn(
          { bucket: t.localBucket, err: describeError(err) },
          'cannot scan subscribed bucket for unfinished transfers; retrying in the background',
        )
        void retry(() => this.scan(t), {
          signal: this.abort.signal,
          policy: RESUME_RETRY,
          onError: (e, delayMs) =>
            this.o.logger.debug(
              { bucket: t.localBucket, err: describeError(e), retry_ms: delayMs },
              'subscribed bucket scan failed again',
            ),
        }).then((done) => {
          if (done) this.o.logger.info({ bucket: t.localBucket }, 'subscribed bucket scanned')
        })
      }
    }
  }

  /** Resumes the bucket's incomplete objects and makes its complete ones servable. */
  private async scan(t: BucketSubscription): Promise<true> {
    const { store } = this.o
    for await (const info of store.list(t.localBucket, {
      prefix: '.rhio/',
      signal: this.abort.signal,
    })) {
      if (!info.key.endsWith('.rhio.json')) continue
      const key = info.key.slice('.rhio/'.length, -'.rhio.json'.length)
      const meta = await this.readMeta(t.localBucket, key)
      if (!meta || meta.public_key !== this.o.author || meta.remote_bucket_name !== t.remoteBucket)
        continue
      const hash = parseBlobHash(meta.hash)
      if (meta.complete) {
        this.o.index.add(hash, {
          bucket: t.localBucket,
          key,
          size: meta.size,
          ...(meta.etag !== undefined ? { etag: meta.etag } : {}),
        })
      } else {
        await this.o.transfers.enqueue(
          this.job(t, key, hash, meta.size, meta.seq ?? 0, meta.signature ?? '0'.repeat(128)),
        )
      }
    }
    return true
  }

  stop(): void {
    this.abort.abort()
  }
}

/** Whether the stored version is newer than (epoch, seq); metas without them count as (0, 0). */
function isNewer(meta: BaoMeta, v: { epoch: number; seq: number }): boolean {
  const epoch = meta.epoch ?? 0
  return epoch > v.epoch || (epoch === v.epoch && (meta.seq ?? 0) > v.seq)
}

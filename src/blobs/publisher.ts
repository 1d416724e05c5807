/**
 * Publish side of blob replication, one per `publish.s3_buckets` entry: polls
 * the bucket, imports new and changed objects (one streaming read: BLAKE3 +
 * 16 KiB-group outboard, written as `.rhio/<key>.rhio.bao4` and
 * `.rhio/<key>.rhio.json` exactly in the original's layout) and appends a
 * signed announcement to this node's blob log for the bucket at once, so
 * subscribers learn of it within milliseconds (not at the next resync).
 *
 * Change detection uses ETag and size (not size alone, as the original), and
 * survives restarts through the `etag` field of the meta file. Deletions are
 * announced too (subscribers apply them only when they opt in).
 *
 * The log id carries an epoch. If this node's frame cache for the log is lost
 * (a fresh data_dir) while the durable head says otherwise, a new epoch starts
 * with an announcement of every current object, so sequence numbers never
 * repeat within a log.
 */
import type { Logger } from 'pino'
import { computeOutboard, hashToBase32, parseBlobHash } from '../bao/index.js'
import { toHex } from '../core/codec.js'
import { digest } from '../core/hash.js'
import { describeError, hasCode } from '../errors/index.js'
import { Backoff, RepeatThrottle } from '../util/backoff.js'
import { pause, Wakeup } from '../util/abort.js'
import type { AuthorLog } from '../log/author-log.js'
import { blobLogId } from '../core/selector.js'
import type { StateStore } from '../state/state-store.js'
import type { ObjectInfo, ObjectStore } from '../store/index.js'
import {
  isInternalKey,
  META_CONTENT_TYPE,
  metaKey,
  outboardKey,
  RHIO_PREFIX,
} from '../store/layout.js'
import { decodeBaoMeta, encodeBaoMeta, type BaoMeta } from '../store/meta.js'
import type { BlobIndex } from './types.js'

export interface BucketStatusReport {
  status: 'Active' | 'Inactive'
  lastError: string | null
  lastCheckTime: number
}

export interface BucketPublisherInit {
  bucket: string
  store: ObjectStore
  state: StateStore
  index: BlobIndex
  openLog: (logId: string) => Promise<AuthorLog>
  pollIntervalMs: number
  logger: Logger
  onStatus?: (s: BucketStatusReport) => void
  onImported?: (key: string) => void
}

interface Known {
  etag: string
  size: number
  hash: string
  seq: number
}

const readAll = async (body: AsyncIterable<Uint8Array>): Promise<Uint8Array> => {
  const parts: Uint8Array[] = []
  for await (const c of body) parts.push(c)
  return Buffer.concat(parts)
}

/** A bucket that cannot be read is tried again after the poll interval, backing off to this. */
export const PUBLISHER_RETRY_MAX_MS = 60_000

export class BucketPublisher {
  private readonly known = new Map<string, Known>()
  private readonly abort = new AbortController()
  private task: Promise<void> | undefined
  private log: AuthorLog | undefined
  private readonly wakeup = new Wakeup()
  imported = 0
  /** Consecutive failures to open or poll the bucket: the wait before the next try. */
  private readonly failures: Backoff
  private readonly throttle = new RepeatThrottle()

  constructor(private readonly o: BucketPublisherInit) {
    const minMs = Math.min(o.pollIntervalMs, 5_000)
    this.failures = new Backoff({ minMs, maxMs: Math.max(minMs, PUBLISHER_RETRY_MAX_MS) })
  }

  private get stateKey(): string {
    return `blobs.log.${toHex(digest(new TextEncoder().encode(this.o.bucket))).slice(0, 32)}`
  }

  start(): void {
    this.task ??= this.run().catch((err: unknown) => {
      if (!this.abort.signal.aborted)
        this.o.logger.error(
          { bucket: this.o.bucket, err: describeError(err) },
          'bucket publisher stopped',
        )
    })
  }

  async stop(): Promise<void> {
    this.abort.abort()
    this.wakeup.wake()
    await this.task
    await this.log?.drained().catch(() => {})
  }

  /** Polls now instead of waiting for the interval (tests, notifications). */
  poke(): void {
    this.wakeup.wake()
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal
    // Opening needs the state store (NATS KV by default): retry until it works.
    while (!signal.aborted && !this.log) {
      try {
        await this.open()
      } catch (err) {
        await this.sleep(this.report(err))
      }
    }
    while (!signal.aborted) {
      try {
        await this.poll()
        this.failures.reset()
        this.throttle.reset()
      } catch (err) {
        if (signal.aborted) return
        await this.sleep(this.report(err))
        continue
      }
      await this.sleep(this.o.pollIntervalMs)
    }
  }

  /**
   * Shows the failure in /health and logs it (once, then at RepeatThrottle's
   * intervals; waiting for NATS only at DEBUG); returns how long to wait
   * before the next try (backing off from the poll interval to a minute).
   */
  private report(err: unknown): number {
    const msg = describeError(err)
    this.o.onStatus?.({ status: 'Inactive', lastError: msg, lastCheckTime: Date.now() })
    const delay = this.failures.next()
    const fields = { bucket: this.o.bucket, err: msg, retry_ms: delay }
    if (hasCode(err, 'STATE_UNAVAILABLE')) this.o.logger.debug(fields, 'bucket waits for NATS')
    else if (this.throttle.hit().log) this.o.logger.warn(fields, 'bucket not available; retrying')
    return delay
  }

  private sleep(ms: number): Promise<void> {
    return pause(ms, this.abort.signal, this.wakeup)
  }

  /** Loads what was imported before (metas) and opens the log (new epoch if the cache was lost). */
  private async open(): Promise<void> {
    const { bucket } = this.o
    await this.loadMetas()
    const rec = await this.o.state.get<{ epoch: number; head: number }>(this.stateKey)
    let epoch = rec?.epoch ?? 1
    let log = await this.o.openLog(blobLogId(bucket, epoch))
    if (rec && log.head < rec.head) {
      // The frame cache lost announcements others may have seen: start over
      // with a new epoch and announce every current object again.
      epoch++
      log = await this.o.openLog(blobLogId(bucket, epoch))
      this.o.logger.warn({ bucket, epoch }, 'blob log cache lost: starting a new epoch')
      for (const k of this.known.values()) k.seq = 0 // re-announce below
    }
    this.log = log
    await this.o.state.put(this.stateKey, { epoch, head: log.head })
    // Announce known objects that this epoch has not announced yet.
    for (const [key, k] of [...this.known].sort((a, b) => a[1].seq - b[1].seq)) {
      if (k.seq > 0 && k.seq <= log.head) continue
      await this.announce(key, k.etag, k.size, k.hash)
    }
  }

  private async loadMetas(): Promise<void> {
    const { store, bucket } = this.o
    for await (const info of store.list(bucket, {
      prefix: RHIO_PREFIX,
      signal: this.abort.signal,
    })) {
      if (!info.key.endsWith('.rhio.json')) continue
      try {
        const { body } = await store.get(bucket, info.key, { signal: this.abort.signal })
        const meta = decodeBaoMeta(await readAll(body))
        if (meta.public_key !== undefined || !meta.complete || meta.deleted) continue // not our own import
        if (meta.etag === undefined) continue // written by the original rhio: re-import to learn the etag
        this.known.set(meta.key, {
          etag: meta.etag,
          size: meta.size,
          hash: meta.hash,
          seq: meta.seq ?? 0,
        })
      } catch (err) {
        this.o.logger.warn(
          { bucket, key: info.key, err: describeError(err) },
          'ignoring unreadable meta file',
        )
      }
    }
  }

  private async poll(): Promise<void> {
    const { store, bucket } = this.o
    const seen = new Map<string, ObjectInfo>()
    for await (const info of store.list(bucket, { signal: this.abort.signal })) {
      if (isInternalKey(info.key)) continue
      seen.set(info.key, info)
    }
    this.o.onStatus?.({ status: 'Active', lastError: null, lastCheckTime: Date.now() })
    for (const [key, info] of seen) {
      if (this.abort.signal.aborted) return
      const k = this.known.get(key)
      if (k && k.etag === info.etag && k.size === info.size) {
        this.o.index.add(parseBlobHash(k.hash), { bucket, key, size: k.size, etag: k.etag })
        continue
      }
      try {
        await this.import(key)
      } catch (err) {
        this.o.logger.warn(
          { bucket, key, err: describeError(err) },
          'import failed; retrying at the next poll',
        )
      }
    }
    for (const [key, k] of this.known) {
      if (seen.has(key)) continue
      await this.removed(key, k)
    }
  }

  /** Reads the object once: hash and outboard; then meta and announcement. */
  private async import(key: string): Promise<void> {
    const { store, bucket } = this.o
    const signal = this.abort.signal
    for (let attempt = 0; attempt < 3; attempt++) {
      const { body, info } = await store.get(bucket, key, { signal })
      const { hash, size, outboard } = await computeOutboard(body as AsyncIterable<Uint8Array>, {
        signal,
      })
      const now = await store.head(bucket, key, { signal })
      if (!now) return // deleted meanwhile; the next poll handles it
      if (now.etag !== info.etag || now.size !== size) continue // changed while reading: read again
      const hashText = hashToBase32(hash)
      await store.put(bucket, outboardKey(key), outboard, { signal })
      const seq = await this.announce(key, info.etag, size, hashText)
      const old = this.known.get(key)
      if (old && old.hash !== hashText) this.o.index.remove(parseBlobHash(old.hash), bucket, key)
      this.o.index.add(hash, { bucket, key, size, etag: info.etag })
      this.imported++
      this.o.onImported?.(key)
      this.o.logger.info({ bucket, key, size, hash: hashText, seq }, 'imported')
      return
    }
    throw new Error(`object ${key} keeps changing while it is read`)
  }

  /** Appends the announcement and records it in the meta file. Returns the seq. */
  private async announce(
    key: string,
    etag: string,
    size: number,
    hashText: string,
  ): Promise<number> {
    const log = this.log!
    const seq = log.head + 1
    log.append({ seq, body: { kind: 'blob-put', key, hash: parseBlobHash(hashText), size } })
    const meta: BaoMeta = {
      hash: hashText,
      size,
      complete: true,
      key,
      remote_bucket_name: this.o.bucket,
      seq,
      etag,
    }
    await this.o.store.put(this.o.bucket, metaKey(key), encodeBaoMeta(meta), {
      contentType: META_CONTENT_TYPE,
      signal: this.abort.signal,
    })
    this.known.set(key, { etag, size, hash: hashText, seq })
    await log.drained()
    await this.o.state.put(this.stateKey, { epoch: this.epochOf(log), head: log.head })
    return seq
  }

  private epochOf(log: AuthorLog): number {
    const v = JSON.parse(log.store.info.logId) as [string, string, number]
    return v[2]
  }

  private async removed(key: string, k: Known): Promise<void> {
    const { store, bucket } = this.o
    const log = this.log!
    log.append({ seq: log.head + 1, body: { kind: 'blob-delete', key } })
    await log.drained()
    this.o.index.remove(parseBlobHash(k.hash), bucket, key)
    this.known.delete(key)
    await store.delete(bucket, metaKey(key), { signal: this.abort.signal })
    await store.delete(bucket, outboardKey(key), { signal: this.abort.signal })
    await this.o.state.put(this.stateKey, { epoch: this.epochOf(log), head: log.head })
    this.o.logger.info({ bucket, key }, 'deleted; announced')
  }
}

/**
 * Subscribe side of blob replication: a bounded queue of transfer jobs, at most
 * `maxConcurrentTransfers` running, each fetching verified ranges from any holder into the
 * local bucket (transfer-run.ts). Progress is durable (transfer-store.ts): `start()` resumes
 * every recorded transfer where it stopped. A job for a (bucket, key) that already has one with
 * another hash replaces it (the old upload is aborted); the same hash again is a no-op.
 */
import type { Libp2p } from '@libp2p/interface'
import type { Logger } from 'pino'
import { hashEquals, hashToBase32 } from '../bao/index.js'
import { RhioError, describeError } from '../errors/index.js'
import { backoffDelay } from '../util/backoff.js'
import { Listeners } from '../util/listeners.js'
import { KeyedLock } from '../util/lock.js'
import { WaitQueue } from '../util/wait-queue.js'
import { protocolId } from '../p2p/host.js'
import type { PenaltyBox } from '../p2p/penalty-box.js'
import type { HelloService } from '../sync/hello.js'
import type { StateStore } from '../state/state-store.js'
import type { ObjectStore } from '../store/index.js'
import { MAX_QUEUED_TRANSFERS, RECENT_TRANSFERS, RETRY_MAX_MS, RETRY_MIN_MS } from './constants.js'
import { BlobHashMismatchError, BlobNoHolderError } from './errors.js'
import { holdersFromHellos } from './holders.js'
import { checkJob } from './job.js'
import type { BlobMetrics } from './metrics.js'
import { Transfer, type PartAttempt, type TransferContext } from './transfer.js'
import { abortLostUploads, partSizeFor, runTransfer } from './transfer-run.js'
import { TransferStore, transferId, type TransferRecord } from './transfer-store.js'
import type { BlobIndex, HolderFinder, TransferJob, TransferStatus } from './types.js'

export interface TransferManagerLimits {
  /** `blobs.part_size_bytes`: a multiple of 16 KiB, at least 5 MiB. */
  partSizeBytes: number
  /** `blobs.max_concurrent_transfers`. */
  maxConcurrentTransfers: number
  /** `blobs.parts_in_flight`: parts of one transfer fetched and uploaded at once (default 4). */
  partsInFlight?: number
  /** Jobs held (queued or running) before `enqueue` waits; default MAX_QUEUED_TRANSFERS. */
  maxQueued?: number
}

export interface TransferManagerInit {
  host: Libp2p
  penalties: PenaltyBox
  /** Who holds what (peers' hellos); new hellos wake transfers that found no holder. */
  hello: Pick<HelloService, 'list' | 'onHello'>
  networkId: Uint8Array
  store: ObjectStore
  state: StateStore
  /** When given, completed blobs are added so this node serves them at once. */
  index?: BlobIndex
  /** Default: holdersFromHellos(hello). */
  holders?: HolderFinder
  limits: TransferManagerLimits
  logger: Logger
  metrics?: BlobMetrics
  /** Retry delays after a failed attempt (defaults RETRY_MIN_MS .. RETRY_MAX_MS). */
  retry?: { minMs?: number; maxMs?: number }
}

export interface TransferDone {
  job: TransferJob
  /** ETag of the written data object. */
  etag: string
}

export interface TransferFailed {
  job: TransferJob
  error: RhioError
}

export class TransferManager {
  readonly #o: TransferManagerInit
  readonly #records: TransferStore
  readonly #ctx: TransferContext
  readonly #jobs = new Map<string, Transfer>()
  readonly #recent: TransferStatus[] = []
  /** Calls for one transfer id run one after another (enqueue, cancel). */
  readonly #locks = new KeyedLock<string>()
  /** Enqueuers waiting for room in the queue. */
  readonly #roomWaiters = new WaitQueue<null>()
  readonly #done: Listeners<TransferDone>
  readonly #failed: Listeners<TransferFailed>
  readonly #attempts: Listeners<PartAttempt>
  #active = 0
  #started = false
  #timer: NodeJS.Timeout | undefined
  #unsubscribe: (() => void) | undefined

  constructor(init: TransferManagerInit) {
    const { partSizeBytes, maxConcurrentTransfers } = init.limits
    if (
      !Number.isSafeInteger(partSizeBytes) ||
      partSizeBytes < 5 * 1024 * 1024 ||
      partSizeBytes % 16384 !== 0
    ) {
      throw new RhioError(
        'BLOB_TRANSFER_CONFIG',
        'partSizeBytes must be a multiple of 16 KiB and at least 5 MiB',
      )
    }
    if (!Number.isSafeInteger(maxConcurrentTransfers) || maxConcurrentTransfers < 1) {
      throw new RhioError(
        'BLOB_TRANSFER_CONFIG',
        'maxConcurrentTransfers must be a positive integer',
      )
    }
    this.#o = init
    const onError = (err: unknown): void =>
      init.logger.error({ err: describeError(err) }, 'transfer listener failed')
    this.#done = new Listeners(onError)
    this.#failed = new Listeners(onError)
    this.#attempts = new Listeners(onError)
    this.#records = new TransferStore(init.state)
    this.#ctx = {
      host: init.host,
      protocol: protocolId(init.networkId, 'blobs'),
      penalties: init.penalties,
      store: init.store,
      records: this.#records,
      holders: init.holders ?? holdersFromHellos(init.hello),
      partSize: partSizeBytes,
      partsInFlight: init.limits.partsInFlight ?? 4,
      logger: init.logger,
      metrics: init.metrics,
      onAttempt: (a) => this.#attempts.emit(a),
    }
  }

  /** Loads and resumes every recorded transfer, then runs the queue. */
  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#unsubscribe = this.#o.hello.onHello(() => this.#holdersChanged())
    for (const { id, record } of await this.#records.loadRecords()) {
      if (this.#jobs.has(id)) continue
      this.#jobs.set(id, new Transfer(id, record.job, record.startedAt))
    }
    void this.#retryAborts()
    this.#pump()
  }

  /** Stops running transfers where they are (their progress stays recorded for the next start). */
  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#unsubscribe?.()
    clearTimeout(this.#timer)
    const running: Promise<void>[] = []
    for (const t of this.#jobs.values()) {
      if (t.running === undefined) continue
      t.abort.abort(new RhioError('BLOB_TRANSFER_STOPPED', 'transfer manager stopped'))
      running.push(t.running)
    }
    await Promise.allSettled(running)
    this.#jobs.clear()
    this.#wakeRoomWaiters()
  }

  /**
   * Queues a job (resolves once it is held; waits while `maxQueued` jobs are). The same
   * (bucket, key, hash) again only refreshes signature and seq; another hash replaces the
   * transfer in progress. Throws BlobJobInvalidError for a malformed job.
   */
  async enqueue(job: TransferJob, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const j = checkJob(job)
    const id = transferId(j.localBucket, j.key)
    await this.#locked(id, async () => {
      const cur = this.#jobs.get(id)
      if (cur && hashEquals(cur.job.hash, j.hash)) {
        cur.job = j
        return
      }
      if (cur) await this.#drop(cur)
      const stored = await this.#records.loadRecord(id)
      const keep = stored !== undefined && hashEquals(stored.job.hash, j.hash)
      if (stored && !keep) await this.#discard(id, stored)
      await this.#waitForRoom(opts.signal)
      const t = new Transfer(id, j, keep ? stored.startedAt : Date.now())
      if (!keep && j.size > 0) {
        await this.#records.saveRecord(id, {
          job: j,
          partSize: partSizeFor(j.size, this.#ctx.partSize),
          uploadId: null,
          completedEtag: null,
          creatingSince: null,
          startedAt: t.startedAt,
        })
      }
      this.#jobs.set(id, t)
    })
    this.#pump()
  }

  /** Cancels the transfer of (localBucket, key), if any, and aborts its upload (for deletes). */
  async cancel(localBucket: string, key: string): Promise<void> {
    const id = transferId(localBucket, key)
    await this.#locked(id, async () => {
      const cur = this.#jobs.get(id)
      if (cur) await this.#drop(cur)
      const stored = await this.#records.loadRecord(id)
      if (stored) await this.#discard(id, stored)
    })
  }

  /** Transfers held now (queued, downloading, completing) and the most recent finished ones. */
  status(): TransferStatus[] {
    return [...[...this.#jobs.values()].map((t) => t.status()), ...this.#recent]
  }

  refuse(
    job: Pick<TransferJob, 'localBucket' | 'remoteBucket' | 'key' | 'hash' | 'size'>,
    reason: string,
  ): void {
    this.#o.metrics?.download('error', job.localBucket, job.remoteBucket)
    this.#recent.unshift({
      localBucket: job.localBucket,
      key: job.key,
      hash: hashToBase32(job.hash),
      size: job.size,
      done: 0,
      peer: null,
      peers: [],
      state: 'failed',
      startedAt: Date.now(),
      lastError: reason,
    })
    this.#recent.length = Math.min(this.#recent.length, RECENT_TRANSFERS)
  }

  /** Transfers downloading or completing right now. */
  get active(): number {
    return this.#active
  }

  onDone(fn: (event: TransferDone) => void): () => void {
    return this.#done.add(fn)
  }

  onFailed(fn: (event: TransferFailed) => void): () => void {
    return this.#failed.add(fn)
  }

  /** Every range request's outcome (which peer, how many verified bytes, why it failed). */
  onAttempt(fn: (event: PartAttempt) => void): () => void {
    return this.#attempts.add(fn)
  }

  #pump(): void {
    if (!this.#started) return
    clearTimeout(this.#timer)
    this.#timer = undefined
    const now = Date.now()
    let wake = Infinity
    for (const t of this.#jobs.values()) {
      if (this.#active >= this.#o.limits.maxConcurrentTransfers) break
      if (t.running !== undefined || t.cancelled) continue
      if (t.nextAttemptAt > now) {
        wake = Math.min(wake, t.nextAttemptAt)
        continue
      }
      t.running = this.#run(t)
    }
    if (wake < Infinity) this.#timer = setTimeout(() => this.#pump(), wake - now)
  }

  async #run(t: Transfer): Promise<void> {
    this.#active++
    this.#o.metrics?.transfersActive.inc()
    t.state = 'downloading'
    t.waitingForHolder = false
    if (t.abort.signal.aborted) t.abort = new AbortController()
    const { job } = t
    try {
      const { etag } = await runTransfer(this.#ctx, t)
      t.state = 'done'
      t.lastError = null
      this.#retire(t)
      this.#o.index?.add(job.hash, {
        bucket: job.localBucket,
        key: job.key,
        size: job.size,
        etag,
      })
      this.#o.metrics?.download('done', job.localBucket, job.remoteBucket)
      this.#o.logger.info(
        { bucket: job.localBucket, key: job.key, hash: hashToBase32(job.hash), size: job.size },
        'blob transfer complete',
      )
      this.#done.emit({ job, etag })
    } catch (err) {
      if (t.abort.signal.aborted) {
        t.state = 'queued'
        return
      }
      this.#failedAttempt(t, err)
    } finally {
      this.#active--
      this.#o.metrics?.transfersActive.dec()
      t.running = undefined
      t.peer = null
      t.dropNextStream()
      queueMicrotask(() => this.#pump())
    }
  }

  #failedAttempt(t: Transfer, err: unknown): void {
    const { job } = t
    this.#o.metrics?.download('error', job.localBucket, job.remoteBucket)
    t.lastError = describeError(err)
    t.failures++
    const log = { bucket: job.localBucket, key: job.key, err: t.lastError }
    if (isPermanent(err)) {
      t.state = 'failed'
      this.#retire(t)
      this.#records.clear(t.id).catch(() => {})
      this.#o.logger.warn(log, 'blob transfer failed for good')
      this.#failed.emit({ job, error: err })
      return
    }
    t.state = 'queued'
    t.waitingForHolder = err instanceof BlobNoHolderError
    const policy = {
      minMs: this.#o.retry?.minMs ?? RETRY_MIN_MS,
      maxMs: this.#o.retry?.maxMs ?? RETRY_MAX_MS,
    }
    const backoff = backoffDelay(policy, t.failures - 1)
    const retryAt = err instanceof BlobNoHolderError ? err.retryAt : undefined
    t.nextAttemptAt = retryAt ?? Date.now() + backoff
    this.#o.logger.info(
      { ...log, retryInMs: t.nextAttemptAt - Date.now() },
      'blob transfer attempt failed',
    )
  }

  /** New or changed peers: transfers that found no holder try again now. */
  #holdersChanged(): void {
    let any = false
    for (const t of this.#jobs.values()) {
      if (t.running === undefined && t.waitingForHolder) {
        t.nextAttemptAt = 0
        any = true
      }
    }
    if (any) this.#pump()
  }

  /** Moves a finished transfer from the queue to the recent list. */
  #retire(t: Transfer): void {
    if (this.#jobs.get(t.id) === t) this.#jobs.delete(t.id)
    this.#recent.unshift(t.status())
    this.#recent.length = Math.min(this.#recent.length, RECENT_TRANSFERS)
    this.#wakeRoomWaiters()
  }

  /** Stops a transfer for good (cancel or replacement) and waits until it has. */
  async #drop(t: Transfer): Promise<void> {
    t.cancelled = true
    t.abort.abort(new RhioError('BLOB_TRANSFER_CANCELLED', 'transfer cancelled or replaced'))
    await t.running
    if (this.#jobs.get(t.id) === t) this.#jobs.delete(t.id)
    this.#wakeRoomWaiters()
  }

  /** Aborts a recorded upload (or remembers to) and forgets the transfer's state. */
  async #discard(id: string, rec: TransferRecord): Promise<void> {
    if (rec.uploadId === null && rec.creatingSince !== null)
      await abortLostUploads(this.#ctx, rec.job, rec.creatingSince)
    if (rec.uploadId !== null && rec.completedEtag === null) {
      const abort = { bucket: rec.job.localBucket, key: rec.job.key, uploadId: rec.uploadId }
      try {
        await this.#o.store.abortMultipart(abort.bucket, abort.key, abort.uploadId)
        this.#o.logger.info(abort, 'abandoned multipart upload aborted')
      } catch (err) {
        this.#o.logger.info(
          { ...abort, err: describeError(err) },
          'abort of an upload failed; will retry',
        )
        await this.#records.addAbort(id, abort)
      }
    }
    await this.#records.clear(id)
  }

  async #retryAborts(): Promise<void> {
    try {
      for (const { key, abort } of await this.#records.loadAborts()) {
        await this.#o.store.abortMultipart(abort.bucket, abort.key, abort.uploadId)
        this.#o.logger.info(abort, 'abandoned multipart upload aborted')
        await this.#records.removeAbort(key)
      }
    } catch (err) {
      this.#o.logger.debug(
        { err: describeError(err) },
        'aborting abandoned uploads failed; next start retries',
      )
    }
  }

  async #waitForRoom(signal: AbortSignal | undefined): Promise<void> {
    const max = this.#o.limits.maxQueued ?? MAX_QUEUED_TRANSFERS
    while (this.#jobs.size >= max) {
      signal?.throwIfAborted()
      await this.#roomWaiters.wait(null, signal).catch(() => undefined)
    }
  }

  #wakeRoomWaiters(): void {
    this.#roomWaiters.releaseWhere()
  }

  /** Runs `fn` after every earlier call for the same transfer id has settled. */
  #locked(id: string, fn: () => Promise<void>): Promise<void> {
    return this.#locks.run(id, fn)
  }
}

function isPermanent(err: unknown): err is RhioError {
  if (err instanceof BlobHashMismatchError) return err.permanent
  return (
    err instanceof RhioError && (err.code === 'S3_INVALID_KEY' || err.code === 'S3_META_INVALID')
  )
}

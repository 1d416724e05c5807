/**
 * One attempt at a transfer: make the local bucket hold the announced blob under the job's
 * key, then write its outboard and a complete meta file. Three shapes:
 *
 * - 0 bytes: no network at all; PUT an empty object.
 * - small (at most one part and SINGLE_PUT_MAX_BYTES): fetch everything verified into memory,
 *   then one PUT (a truncated streamed PUT could become visible on some servers).
 * - large: a multipart upload, `blobs.parts_in_flight` parts at a time (spread over the holders),
 *   each part streamed from the network through the verifier into UploadPart; after each part its
 *   ETag and group CVs are recorded, so a restart re-fetches at most the parts that were in flight.
 */
import {
  type BlobHash,
  Blake3Hasher,
  blake3,
  defaultBlake3Backend,
  hashEquals,
  hashToBase32,
} from '../bao/index.js'
import { GroupTreeBuilder } from '../bao/group-tree.js'
import { yieldToEventLoop } from '../bao/yield.js'
import { toHex } from '../core/codec.js'
import { describeError, hasCode } from '../errors/index.js'
import { linkSignals } from '../util/abort.js'
import { MAX_PART_NUMBER, StoreErrorCode, decodeBaoMeta, encodeBaoMeta } from '../store/index.js'
import { META_CONTENT_TYPE, metaKey, outboardKey } from '../store/layout.js'
import { SINGLE_PUT_MAX_BYTES } from './constants.js'
import { BlobHashMismatchError, BlobUploadLostError } from './errors.js'
import { GROUP_BYTES } from './fetch-range.js'
import { fetchFromHolders } from './holder-fetch.js'
import type { RangeFetch } from './fetch-range.js'
import type { Transfer, TransferContext } from './transfer.js'
import type { StoredPart, TransferRecord } from './transfer-store.js'
import type { TransferJob } from './types.js'

/** Group CVs pushed between event-loop yields while rebuilding the tree (~10 ms of work). */
const CVS_PER_SLICE = 16_384
const MAX_META_BYTES = 64 * 1024

/** The part size used for a blob: the configured one, grown if S3's 10 000 parts would not do. */
export function partSizeFor(size: number, configured: number): number {
  const needed = Math.ceil(size / MAX_PART_NUMBER / GROUP_BYTES) * GROUP_BYTES
  return Math.max(configured, needed)
}

/** Whether a blob of `size` bytes is written with a single PUT. */
export function isSinglePut(size: number, partSize: number): boolean {
  return size <= Math.min(partSize, SINGLE_PUT_MAX_BYTES)
}

export async function runTransfer(ctx: TransferContext, t: Transfer): Promise<{ etag: string }> {
  const existing = await alreadyComplete(ctx, t.job, t.abort.signal)
  if (existing) {
    await ctx.records.clear(t.id)
    t.done = t.job.size
    return existing
  }
  if (t.job.size === 0) return runEmpty(ctx, t)
  if (isSinglePut(t.job.size, ctx.partSize)) return runSingle(ctx, t)
  return runMultipart(ctx, t)
}

async function runEmpty(ctx: TransferContext, t: Transfer): Promise<{ etag: string }> {
  const empty = blake3(new Uint8Array(0))
  if (!hashEquals(empty, t.job.hash)) {
    throw new BlobHashMismatchError(
      `a 0-byte object hashes to ${hashToBase32(empty)}, not ${hashToBase32(t.job.hash)}`,
      true,
    )
  }
  t.state = 'completing'
  const etag = await ctx.store.put(t.job.localBucket, t.job.key, new Uint8Array(0), {
    signal: t.abort.signal,
  })
  await finish(ctx, t, etag, [empty])
  return { etag }
}

async function runSingle(ctx: TransferContext, t: Transfer): Promise<{ etag: string }> {
  const { job } = t
  const buf = new Uint8Array(job.size)
  const cvs = await fetchFromHolders(ctx, t, 0, 0, job.size, async (f) => {
    let at = 0
    for await (const piece of f.data()) {
      buf.set(piece, at)
      at += piece.length
    }
    return f.cvs
  })
  t.state = 'completing'
  const etag = await ctx.store.put(job.localBucket, job.key, buf, { signal: t.abort.signal })
  await finish(ctx, t, etag, [cvs])
  return { etag }
}

async function runMultipart(ctx: TransferContext, t: Transfer): Promise<{ etag: string }> {
  const { job } = t
  const signal = t.abort.signal
  let rec = await ctx.records.loadRecord(t.id)
  if (!rec || !hashEquals(rec.job.hash, job.hash)) {
    rec = newRecord(job, ctx.partSize, t.startedAt)
    await ctx.records.clearParts(t.id)
  }
  rec.job = job // newer signature / seq for the same content
  const ps = rec.partSize
  const count = Math.ceil(job.size / ps)
  const partLen = (n: number): number => Math.min(n * ps, job.size) - (n - 1) * ps
  if (rec.uploadId === null) {
    if (rec.creatingSince !== null) await abortLostUploads(ctx, job, rec.creatingSince)
    // the intent first: a crash before the upload id is recorded leaves a trace to find it by
    rec.creatingSince = Date.now()
    await ctx.records.saveRecord(t.id, rec)
    const created = await ctx.store.createMultipart(job.localBucket, job.key, { signal })
    try {
      await ctx.records.saveRecord(t.id, {
        ...rec,
        uploadId: created,
        completedEtag: null,
        creatingSince: null,
      })
    } catch (err) {
      // Unrecorded, the upload would stay on the server for good (the retry creates another).
      const abort = { bucket: job.localBucket, key: job.key, uploadId: created }
      await ctx.store.abortMultipart(abort.bucket, abort.key, abort.uploadId).then(
        () => ctx.logger.info(abort, 'abandoned multipart upload aborted'),
        () =>
          ctx.logger.warn(abort, 'multipart upload left on the server: not recorded, not aborted'),
      )
      throw err
    }
    rec.uploadId = created
    rec.completedEtag = null
    rec.creatingSince = null
  } else {
    await ctx.records.saveRecord(t.id, rec)
  }
  const uploadId = rec.uploadId
  const parts = await ctx.records.loadParts(t.id, uploadId, (n) =>
    n >= 1 && n <= count ? Math.ceil(partLen(n) / GROUP_BYTES) * 32 : -1,
  )
  t.done = [...parts.keys()].reduce((sum, n) => sum + partLen(n), 0)
  const pending: number[] = []
  for (let n = 1; n <= count; n++) if (!parts.has(n)) pending.push(n)
  const uploadedNow = pending.length > 0
  try {
    await inParallel(pending, ctx.partsInFlight, signal, async (n, workSignal) => {
      const start = (n - 1) * ps
      const end = start + partLen(n)
      const upload = async (f: RangeFetch): Promise<StoredPart> => {
        const { localBucket, key } = job
        const body = f.data()
        const etag = await ctx.store.uploadPart(localBucket, key, uploadId, n, body, end - start, {
          signal: workSignal,
        })
        return { etag, cvs: f.cvs }
      }
      // one part at a time: open the next part's stream while this one's upload finishes
      const preDialNext = ctx.partsInFlight === 1 && n < count
      const part = await fetchFromHolders(ctx, t, n, start, end, upload, {
        preDialNext,
        signal: workSignal,
      })
      await ctx.records.savePart(t.id, n, uploadId, part)
      parts.set(n, part)
    })
    t.state = 'completing'
    if (rec.completedEtag === null) {
      const list = [...parts.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([partNumber, p]) => ({ partNumber, etag: p.etag }))
      const { localBucket, key } = job
      // Every part was recorded before this attempt: an earlier completion may have succeeded
      // without its record (a crash, a lost response); the server then no longer knows the
      // upload and may not say so clearly (s3rver answers 500). If the object already is this
      // blob, byte for byte, keep it instead of fetching everything again.
      const readBack = uploadedNow ? undefined : await readBackEtag(ctx, job, signal)
      try {
        rec.completedEtag =
          readBack ??
          (await ctx.store.completeMultipart(localBucket, key, uploadId, list, { signal }))
      } catch (err) {
        if (!hasCode(err, StoreErrorCode.NO_SUCH_UPLOAD)) throw err
        const etag = await readBackEtag(ctx, job, signal)
        if (etag === undefined) throw err
        rec.completedEtag = etag
      }
      await ctx.records.saveRecord(t.id, rec)
    }
  } catch (err) {
    t.dropNextStream()
    if (
      !hasCode(err, StoreErrorCode.NO_SUCH_UPLOAD) &&
      !hasCode(err, StoreErrorCode.INVALID_PART)
    ) {
      throw err
    }
    // the upload is gone (expired, aborted elsewhere): start over with a new one
    await ctx.records.clearParts(t.id)
    await ctx.records.saveRecord(t.id, { ...rec, uploadId: null, completedEtag: null })
    throw new BlobUploadLostError(
      `multipart upload of ${job.localBucket}/${job.key} lost; restarting`,
      err,
    )
  }
  const ordered = [...parts.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p.cvs)
  await finish(ctx, t, rec.completedEtag, ordered)
  return { etag: rec.completedEtag }
}

/**
 * Runs `work` for each item, at most `limit` at once, in order of the items. The
 * first failure aborts the others (their signal) and is thrown once all have
 * settled, so nothing runs on after the attempt ended; a crash loses at most the
 * `limit` items in flight.
 */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  work: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const attempt = linkSignals(signal)
  let next = 0
  let failure: { err: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const item = items[next++] as T
      try {
        await work(item, attempt.signal)
      } catch (err) {
        failure ??= { err }
        attempt.abort(err)
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker))
  } finally {
    attempt.dispose()
  }
  if (failure !== undefined) throw failure.err
}

/** Uploads of a key created this long before a recorded intent still count as its own (clock skew). */
export const LOST_UPLOAD_SKEW_MS = 60_000

/**
 * A crash came between CreateMultipartUpload and recording its id: the
 * uploads of this key created since the intent (less LOST_UPLOAD_SKEW_MS) are
 * this transfer's and are aborted; older ones, and other keys', are left alone.
 */
export async function abortLostUploads(
  ctx: TransferContext,
  job: TransferJob,
  since: number,
): Promise<void> {
  const where = { bucket: job.localBucket, key: job.key }
  let uploads
  try {
    uploads = await ctx.store.listMultipart(job.localBucket, job.key)
  } catch (err) {
    ctx.logger.info({ ...where, err: describeError(err) }, 'cannot list uploads to find a lost one')
    return
  }
  if (uploads === undefined) {
    ctx.logger.debug(where, 'the store cannot list uploads: a lost one stays to the lifecycle rule')
    return
  }
  for (const u of uploads) {
    if (u.initiated.getTime() < since - LOST_UPLOAD_SKEW_MS) continue
    await ctx.store.abortMultipart(job.localBucket, job.key, u.uploadId).then(
      () => ctx.logger.info({ ...where, uploadId: u.uploadId }, 'lost multipart upload aborted'),
      (err: unknown) =>
        ctx.logger.info(
          { ...where, uploadId: u.uploadId, err: describeError(err) },
          'aborting a lost multipart upload failed',
        ),
    )
  }
}

function newRecord(job: TransferJob, configured: number, startedAt: number): TransferRecord {
  return {
    job,
    partSize: partSizeFor(job.size, configured),
    uploadId: null,
    completedEtag: null,
    creatingSince: null,
    startedAt,
  }
}

/** Writes the outboard (rebuilt from the group CVs) and the complete meta, then forgets the state. */
async function finish(
  ctx: TransferContext,
  t: Transfer,
  etag: string,
  cvChunks: Uint8Array[],
): Promise<void> {
  const { job } = t
  const signal = t.abort.signal
  const { hash, outboard } = await treeFromCvs(cvChunks)
  if (!hashEquals(hash, job.hash)) {
    await ctx.records.clear(t.id)
    throw new BlobHashMismatchError(
      `recorded chunk groups hash to ${hashToBase32(hash)}, not ${hashToBase32(job.hash)}`,
      false,
    )
  }
  await ctx.store.put(job.localBucket, outboardKey(job.key), outboard, { signal })
  await writeMeta(ctx, job, etag, signal)
  await ctx.records.clear(t.id)
  t.done = job.size
}

async function writeMeta(
  ctx: TransferContext,
  job: TransferJob,
  etag: string,
  signal: AbortSignal,
): Promise<void> {
  const meta = encodeBaoMeta({
    hash: hashToBase32(job.hash),
    size: job.size,
    complete: true,
    key: job.key,
    remote_bucket_name: job.remoteBucket,
    public_key: toHex(job.author),
    signature: job.signature,
    seq: job.seq,
    etag,
  })
  await ctx.store.put(job.localBucket, metaKey(job.key), meta, {
    contentType: META_CONTENT_TYPE,
    signal,
  })
}

/** Root hash and pre-order outboard from all group CVs, yielding to the event loop between slices. */
async function treeFromCvs(
  chunks: Uint8Array[],
): Promise<{ hash: BlobHash; outboard: Uint8Array }> {
  const builder = new GroupTreeBuilder(defaultBlake3Backend())
  let pushed = 0
  for (const cvs of chunks) {
    for (let at = 0; at < cvs.length; at += 32) {
      builder.push(cvs, at)
      if (++pushed % CVS_PER_SLICE === 0) await yieldToEventLoop()
    }
  }
  const steps = builder.finishSteps()
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done === true) return r.value
    await yieldToEventLoop()
  }
}

/**
 * The etag of the local object when it already is this blob, complete (a finished transfer
 * whose state was not yet cleared, or a job enqueued again); the meta is refreshed if the
 * job carries a newer signature or sequence number.
 */
async function alreadyComplete(
  ctx: TransferContext,
  job: TransferJob,
  signal: AbortSignal,
): Promise<{ etag: string } | undefined> {
  let text: Uint8Array
  try {
    const r = await ctx.store.get(job.localBucket, metaKey(job.key), { signal })
    text = await readSmall(r.body as AsyncIterable<Uint8Array>)
  } catch (err) {
    if (hasCode(err, StoreErrorCode.NO_SUCH_KEY)) return undefined
    throw err
  }
  let meta: ReturnType<typeof decodeBaoMeta>
  try {
    meta = decodeBaoMeta(text)
  } catch {
    return undefined
  }
  if (!meta.complete || meta.hash !== hashToBase32(job.hash) || meta.size !== job.size) {
    return undefined
  }
  const info = await ctx.store.head(job.localBucket, job.key, { signal })
  if (!info || info.size !== job.size || (meta.etag !== undefined && meta.etag !== info.etag)) {
    return undefined
  }
  const same =
    meta.public_key === toHex(job.author) &&
    meta.signature === job.signature &&
    meta.seq === job.seq
  if (!same) await writeMeta(ctx, job, info.etag, signal)
  return { etag: info.etag }
}

/**
 * The etag of the local object if it is exactly the job's blob (size, then BLAKE3 of every
 * byte read back), else undefined.
 */
async function readBackEtag(
  ctx: TransferContext,
  job: TransferJob,
  signal: AbortSignal,
): Promise<string | undefined> {
  const head = await ctx.store.head(job.localBucket, job.key, { signal })
  if (!head || head.size !== job.size) return undefined
  const r = await ctx.store.get(job.localBucket, job.key, { signal })
  const hasher = new Blake3Hasher()
  for await (const piece of r.body as AsyncIterable<Uint8Array>) hasher.update(piece)
  return hashEquals(hasher.digest(), job.hash) ? r.info.etag : undefined
}

async function readSmall(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = []
  let total = 0
  for await (const piece of body) {
    total += piece.length
    if (total > MAX_META_BYTES) break
    pieces.push(piece)
  }
  return new Uint8Array(Buffer.concat(pieces))
}

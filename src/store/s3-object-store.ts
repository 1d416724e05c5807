import type { Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { RhioError, hasCode } from '../errors/index.js'
import { assertLength, destroyOnAbort, emptyBody, exactLengthBody, truncate } from './body.js'
import { DEFAULT_CONTENT_TYPE, S3_LIST_PAGE_SIZE } from './constants.js'
import { StoreErrorCode, storeError } from './errors.js'
import type {
  BodySource,
  BucketStatus,
  CompletedPart,
  GetOptions,
  GetResult,
  ListOptions,
  ObjectInfo,
  ObjectStore,
  OpenUpload,
  PutBody,
  PutOptions,
  SignalOptions,
} from './object-store.js'
import { checkPartNumber, checkRange, normalizeEtag } from './range.js'
import { createS3Client, type S3ClientOptions, type S3EndpointConfig } from './s3-client.js'
import { isNotImplemented, mapS3Error } from './s3-errors.js'

export interface S3ObjectStoreInit {
  /** The store takes ownership: close() destroys it. See createS3Client. */
  client: S3Client
  /** For logs and /health; default `s3`. */
  name?: string
  /** ListObjectsV2 page size (1..1000); default S3_LIST_PAGE_SIZE. */
  listPageSize?: number
}

/** ObjectStore on any S3-compatible server, using only plain S3 calls. */
export class S3ObjectStore implements ObjectStore {
  readonly name: string
  private readonly client: S3Client
  private readonly pageSize: number
  private closed = false

  constructor(init: S3ObjectStoreInit) {
    this.client = init.client
    this.name = init.name ?? 's3'
    this.pageSize = init.listPageSize ?? S3_LIST_PAGE_SIZE
  }

  static fromConfig(cfg: S3EndpointConfig, opts?: S3ClientOptions): S3ObjectStore {
    return new S3ObjectStore({ client: createS3Client(cfg, opts), name: `s3 ${cfg.endpoint}` })
  }

  async checkBucket(bucket: string, opts: SignalOptions = {}): Promise<BucketStatus> {
    try {
      await this.call(`check bucket ${bucket}`, opts.signal, (h) =>
        this.client.send(new HeadBucketCommand({ Bucket: bucket }), h),
      )
      return { ok: true }
    } catch (err) {
      if (!(err instanceof RhioError)) throw err
      // HeadBucket has no body, so a missing bucket is a bare 404 "NotFound".
      if (hasCode(err, StoreErrorCode.NO_SUCH_KEY)) {
        const error = storeError(StoreErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`, err.cause)
        return { ok: false, error }
      }
      return { ok: false, error: err }
    }
  }

  async bucketExists(bucket: string, opts: SignalOptions = {}): Promise<boolean> {
    const status = await this.checkBucket(bucket, opts)
    if (status.ok) return true
    if (hasCode(status.error, StoreErrorCode.NO_SUCH_BUCKET)) return false
    throw status.error
  }

  async *list(bucket: string, opts: ListOptions = {}): AsyncIterable<ObjectInfo> {
    let token: string | undefined
    do {
      const page = await this.call(`list ${bucket}/${opts.prefix ?? ''}`, opts.signal, (h) =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: opts.prefix,
            MaxKeys: this.pageSize,
            ContinuationToken: token,
          }),
          h,
        ),
      )
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue
        yield {
          key: o.Key,
          size: o.Size ?? 0,
          etag: normalizeEtag(o.ETag),
          lastModified: o.LastModified ?? new Date(0),
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token !== undefined)
  }

  async head(
    bucket: string,
    key: string,
    opts: SignalOptions = {},
  ): Promise<ObjectInfo | undefined> {
    try {
      const r = await this.call(`head ${bucket}/${key}`, opts.signal, (h) =>
        this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), h),
      )
      return objectInfo(key, r.ContentLength, r.ETag, r.LastModified)
    } catch (err) {
      if (!hasCode(err, StoreErrorCode.NO_SUCH_KEY)) throw err
      // HEAD answers a bare 404 for a missing bucket too; tell the two apart.
      const status = await this.checkBucket(bucket, opts)
      if (!status.ok) throw status.error
      return undefined
    }
  }

  async get(bucket: string, key: string, opts: GetOptions = {}): Promise<GetResult> {
    const { start, end } = checkRange(opts)
    const what = `get ${bucket}/${key}`
    if (end === start) return this.emptyRange(bucket, key, start, opts.signal)
    // Never a suffix range (`bytes=-N`): s3rver mis-serves them.
    const range =
      start === 0 && end === undefined
        ? undefined
        : `bytes=${start}-${end === undefined ? '' : end - 1}`
    const r = await this.call(what, opts.signal, (h) =>
      this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }), h),
    )
    let body = r.Body as Readable
    let total = r.ContentLength ?? 0
    let stop = total
    if (range !== undefined) {
      const served = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(r.ContentRange ?? '')
      if (!served || Number(served[1]) !== start) {
        body.destroy()
        throw storeError(StoreErrorCode.ERROR, `${what}: asked for ${range}, got ${r.ContentRange}`)
      }
      total = Number(served[3])
      stop = Math.min(end ?? total, total)
      // s3rver serves `bytes=0-0` as the whole object: never pass on more than asked for.
      if (Number(served[2]) + 1 > stop) body = truncate(body, stop - start)
    }
    const info = objectInfo(key, total, r.ETag, r.LastModified)
    destroyOnAbort(body, opts.signal)
    return { body, info, start, end: stop }
  }

  async put(bucket: string, key: string, body: PutBody, opts: PutOptions = {}): Promise<string> {
    const what = `put ${bucket}/${key}`
    const input = {
      Bucket: bucket,
      Key: key,
      ContentType: opts.contentType ?? DEFAULT_CONTENT_TYPE,
    }
    const r =
      body instanceof Uint8Array
        ? await this.call(what, opts.signal, (h) =>
            this.client.send(
              new PutObjectCommand({ ...input, Body: body, ContentLength: body.byteLength }),
              h,
            ),
          )
        : await this.sendStreamed(
            what,
            body.stream,
            body.length,
            opts.signal,
            (Body, abortSignal) =>
              this.client.send(
                new PutObjectCommand({ ...input, Body, ContentLength: body.length }),
                { abortSignal },
              ),
          )
    return normalizeEtag(r.ETag)
  }

  async createMultipart(bucket: string, key: string, opts: PutOptions = {}): Promise<string> {
    const what = `create multipart ${bucket}/${key}`
    const r = await this.call(what, opts.signal, (h) =>
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          ContentType: opts.contentType ?? DEFAULT_CONTENT_TYPE,
        }),
        h,
      ),
    )
    if (r.UploadId === undefined) throw storeError(StoreErrorCode.ERROR, `${what}: no UploadId`)
    return r.UploadId
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: BodySource | Uint8Array,
    length: number,
    opts: SignalOptions = {},
  ): Promise<string> {
    checkPartNumber(partNumber)
    const what = `upload part ${partNumber} of ${bucket}/${key}`
    const input = { Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber }
    const r =
      body instanceof Uint8Array && body.byteLength === length
        ? await this.call(what, opts.signal, (h) =>
            this.client.send(
              new UploadPartCommand({ ...input, Body: body, ContentLength: length }),
              h,
            ),
          )
        : await this.sendStreamed(what, body, length, opts.signal, (Body, abortSignal) =>
            this.client.send(new UploadPartCommand({ ...input, Body, ContentLength: length }), {
              abortSignal,
            }),
          )
    return normalizeEtag(r.ETag)
  }

  async completeMultipart(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
    opts: SignalOptions = {},
  ): Promise<string> {
    const what = `complete multipart ${bucket}/${key}`
    const r = await this.call(what, opts.signal, (h) =>
      this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })),
          },
        }),
        h,
      ),
    )
    const etag = normalizeEtag(r.ETag)
    if (etag !== '""') return etag
    // Ceph RGW 16.2 answers `<ETag></ETag>`; HeadObject gives the object's real
    // ETag (a writer that replaces the key in between would be seen instead).
    const info = await this.head(bucket, key, opts)
    if (!info) throw storeError(StoreErrorCode.ERROR, `${what}: completed, but the object is gone`)
    return info.etag
  }

  /**
   * Best effort. Resolves when the server does not implement
   * AbortMultipartUpload (s3rver answers 405) or no longer knows the upload;
   * other failures (unavailable, access denied) are thrown for the caller, who
   * tracks its upload ids, to retry later.
   */
  async abortMultipart(
    bucket: string,
    key: string,
    uploadId: string,
    opts: SignalOptions = {},
  ): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
        opts.signal ? { abortSignal: opts.signal } : {},
      )
    } catch (err) {
      if (isNotImplemented(err)) return
      const mapped = mapS3Error(err, `abort multipart ${bucket}/${key}`, opts.signal)
      if (hasCode(mapped, StoreErrorCode.NO_SUCH_UPLOAD)) return
      throw mapped
    }
  }

  async listMultipart(
    bucket: string,
    key: string,
    opts: SignalOptions = {},
  ): Promise<OpenUpload[] | undefined> {
    const out: OpenUpload[] = []
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    for (;;) {
      let page
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: bucket,
            Prefix: key,
            ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
            ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
          }),
          opts.signal ? { abortSignal: opts.signal } : {},
        )
      } catch (err) {
        if (isNotImplemented(err)) return undefined
        throw mapS3Error(err, `list multipart uploads ${bucket}/${key}`, opts.signal)
      }
      for (const u of page.Uploads ?? []) {
        if (u.Key === key && u.UploadId !== undefined)
          out.push({ uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) })
      }
      if (page.IsTruncated !== true) return out
      keyMarker = page.NextKeyMarker
      uploadIdMarker = page.NextUploadIdMarker
      if (keyMarker === undefined && uploadIdMarker === undefined) return out
    }
  }

  async delete(bucket: string, key: string, opts: SignalOptions = {}): Promise<void> {
    await this.call(`delete ${bucket}/${key}`, opts.signal, (h) =>
      this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), h),
    )
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.client.destroy()
  }

  private async emptyRange(
    bucket: string,
    key: string,
    start: number,
    signal: AbortSignal | undefined,
  ): Promise<GetResult> {
    const info = await this.head(bucket, key, signal ? { signal } : {})
    if (!info) throw storeError(StoreErrorCode.NO_SUCH_KEY, `get ${bucket}/${key}: no such key`)
    if (start > info.size) {
      throw storeError(
        StoreErrorCode.INVALID_RANGE,
        `get ${bucket}/${key}: ${start} > size ${info.size}`,
      )
    }
    return { body: emptyBody(), info, start, end: start }
  }

  /** Runs one SDK call, mapping its failure to a coded RhioError (or the abort reason). */
  private async call<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: (h: { abortSignal?: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    try {
      return await fn(signal ? { abortSignal: signal } : {})
    } catch (err) {
      throw mapS3Error(err, what, signal)
    }
  }

  /**
   * Sends a request whose body is a stream of exactly `length` bytes. A body
   * of the wrong length aborts the request and fails with S3_BODY_LENGTH; a
   * body whose source fails aborts it and fails with the source's error.
   */
  private async sendStreamed<T>(
    what: string,
    source: BodySource | Uint8Array,
    length: number,
    signal: AbortSignal | undefined,
    send: (body: Readable, abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    assertLength(length)
    const ac = new AbortController()
    let bodyError: { err: unknown } | undefined
    const onAbort = (): void => ac.abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    const body = exactLengthBody(source, length, (err) => {
      bodyError = { err }
      ac.abort(err)
    })
    // The error is taken from onError; the SDK's pipe() leaves it unhandled otherwise.
    body.on('error', () => {})
    try {
      if (signal?.aborted) throw signal.reason
      return await send(body, ac.signal)
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      if (bodyError) throw bodyError.err
      throw mapS3Error(err, what, signal)
    } finally {
      signal?.removeEventListener('abort', onAbort)
      body.destroy()
    }
  }
}

function objectInfo(
  key: string,
  size: number | undefined,
  etag: string | undefined,
  lastModified: Date | undefined,
): ObjectInfo {
  return {
    key,
    size: size ?? 0,
    etag: normalizeEtag(etag),
    lastModified: lastModified ?? new Date(0),
  }
}

import type { Readable } from 'node:stream'
import type { RhioError } from '../errors/index.js'

/**
 * What blob replication needs from an object store, and nothing more. One
 * instance talks to one endpoint; buckets are passed per call. Implemented by
 * S3ObjectStore (any S3-compatible server) and DirObjectStore (a local directory).
 *
 * Every failure is a RhioError with one of the codes in STORE_ERROR_CODES and the
 * underlying error as `cause`. When an operation's `signal` aborts, the
 * operation rejects with `signal.reason` unchanged.
 *
 * The store knows nothing about rhio's `.rhio/` layout, hashing or peers: keys
 * under `.rhio/` are ordinary objects here (see layout.ts for their meaning).
 */
export interface ObjectStore {
  /** A short description for logs and /health, e.g. `s3 http://minio:9000`. */
  readonly name: string

  /**
   * Whether the bucket is usable: `{ ok: true }`, or the error a call would get
   * (S3_NO_SUCH_BUCKET, S3_ACCESS_DENIED, S3_UNAVAILABLE, ...). Never throws
   * except for an abort.
   */
  checkBucket(bucket: string, opts?: SignalOptions): Promise<BucketStatus>

  /** True if the bucket exists; false for S3_NO_SUCH_BUCKET; throws any other error. */
  bucketExists(bucket: string, opts?: SignalOptions): Promise<boolean>

  /**
   * Every object whose key starts with `prefix`, fetched page by page as the
   * iterator is consumed (one request per 1000 keys on S3). Meant to be called
   * on every poll. Order: ascending UTF-8 bytes of the keys on S3 servers and
   * the directory store; s3rver walks its directories instead, so callers must
   * not depend on the order.
   */
  list(bucket: string, opts?: ListOptions): AsyncIterable<ObjectInfo>

  /** The object's info, or undefined when the key does not exist. */
  head(bucket: string, key: string, opts?: SignalOptions): Promise<ObjectInfo | undefined>

  /**
   * Streams bytes `[start, end)` of an object (end exclusive, clamped to the
   * object's size) and reports the object's info from the same request.
   * `start` must be below the size, except for a whole-object get (no start
   * and end) or an empty range (`start === end`, at most the size); otherwise
   * S3_INVALID_RANGE. Never sends a suffix range. Nothing is buffered beyond
   * the stream's highWaterMark. The caller must consume or destroy `body`
   * (an S3 body holds a connection until then).
   */
  get(bucket: string, key: string, opts?: GetOptions): Promise<GetResult>

  /** Writes a whole object (replacing any previous one) and returns its ETag. */
  put(bucket: string, key: string, body: PutBody, opts?: PutOptions): Promise<string>

  /** Starts a multipart upload and returns its upload id. */
  createMultipart(bucket: string, key: string, opts?: PutOptions): Promise<string>

  /**
   * Uploads one part (1..10000) of exactly `length` bytes, streamed from `body`
   * without buffering the whole part; returns the part's ETag. (A Uint8Array
   * body of the right length is sent as is and may be retried by the store.) Every part but
   * the last must be at least MIN_PART_SIZE bytes. A body yielding more or
   * fewer bytes than `length` fails with S3_BODY_LENGTH.
   */
  uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: BodySource | Uint8Array,
    length: number,
    opts?: SignalOptions,
  ): Promise<string>

  /** Assembles the listed parts (ascending part numbers) into the object; returns its ETag. */
  completeMultipart(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
    opts?: SignalOptions,
  ): Promise<string>

  /**
   * Best effort: discards an unfinished upload's parts. Resolves when the
   * upload is gone, was never there, or the server cannot abort uploads at all
   * (s3rver lacks AbortMultipartUpload).
   */
  abortMultipart(bucket: string, key: string, uploadId: string, opts?: SignalOptions): Promise<void>

  /**
   * The unfinished multipart uploads of exactly `key`, or undefined when the
   * server cannot list them (s3rver lacks ListMultipartUploads): callers
   * track their upload ids and use this only to find ones they lost.
   */
  listMultipart(
    bucket: string,
    key: string,
    opts?: SignalOptions,
  ): Promise<OpenUpload[] | undefined>

  /** Deletes an object; deleting a missing key succeeds (as in S3). */
  delete(bucket: string, key: string, opts?: SignalOptions): Promise<void>

  /** Releases connections. Idempotent. The store must not be used afterwards. */
  close(): Promise<void>
}

export interface SignalOptions {
  signal?: AbortSignal
}

export interface ObjectInfo {
  key: string
  /** Size in bytes. */
  size: number
  /** The ETag in its quoted form, e.g. `"9e107d9d372bb6826bd81d3542a419d6"`. */
  etag: string
  lastModified: Date
}

export interface ListOptions extends SignalOptions {
  prefix?: string
}

export interface GetOptions extends SignalOptions {
  /** First byte to read; default 0. */
  start?: number
  /** One past the last byte to read (exclusive); default and upper clamp: the object's size. */
  end?: number
}

export interface GetResult {
  /** The requested bytes. */
  body: Readable
  /** The object the bytes belong to (its whole size, its ETag), read by the same request. */
  info: ObjectInfo
  /** The byte range actually served, `[start, end)`. */
  start: number
  end: number
}

export interface PutOptions extends SignalOptions {
  /** Default `application/octet-stream`. */
  contentType?: string
}

/** A stream of bytes: a Node Readable or any async iterable of byte chunks. */
export type BodySource = Readable | AsyncIterable<Uint8Array>

/** A whole object in memory, or a stream with its exact length. */
export type PutBody = Uint8Array | { stream: BodySource; length: number }

export interface OpenUpload {
  uploadId: string
  /** When the upload was created (CreateMultipartUpload). */
  initiated: Date
}

export interface CompletedPart {
  partNumber: number
  etag: string
}

export type BucketStatus = { ok: true } | { ok: false; error: RhioError }

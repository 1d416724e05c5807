import { RhioError } from '../errors.js'

/**
 * Error codes of the object stores (both implementations), documented in
 * docs/ERRORS.md. Callers branch on these, never on SDK error names.
 */
export const StoreErrorCode = {
  /** The bucket does not exist. */
  NO_SUCH_BUCKET: 'S3_NO_SUCH_BUCKET',
  /** The object does not exist. */
  NO_SUCH_KEY: 'S3_NO_SUCH_KEY',
  /** The multipart upload id is unknown (completed, aborted or expired). */
  NO_SUCH_UPLOAD: 'S3_NO_SUCH_UPLOAD',
  /** completeMultipart got a missing/mismatched/too small part or parts out of order. */
  INVALID_PART: 'S3_INVALID_PART',
  /** A ranged get started at or beyond the end of the object. */
  INVALID_RANGE: 'S3_INVALID_RANGE',
  /** A streamed body yielded more or fewer bytes than its declared length. */
  BODY_LENGTH: 'S3_BODY_LENGTH',
  /** The key or bucket name cannot be stored by this store. */
  INVALID_KEY: 'S3_INVALID_KEY',
  /** Credentials rejected or not allowed. */
  ACCESS_DENIED: 'S3_ACCESS_DENIED',
  /** Network failure, timeout or server-side (5xx) error after retries. */
  UNAVAILABLE: 'S3_UNAVAILABLE',
  /** Any other store failure. */
  ERROR: 'S3_ERROR',
  /** A `.rhio.json` meta object is not valid BaoMeta JSON. */
  META_INVALID: 'S3_META_INVALID',
} as const

export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode]

export function storeError(code: StoreErrorCode, message: string, cause?: unknown): RhioError {
  return new RhioError(code, message, cause === undefined ? undefined : { cause })
}

/** Rethrows `signal.reason` if the signal has aborted (the store's abort contract). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason
}

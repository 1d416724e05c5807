import { RhioError } from '../errors/index.js'
import { StoreErrorCode, storeError } from './errors.js'

/** What the SDK puts on its errors (service errors and transport errors alike). */
interface SdkErrorShape {
  name?: string
  code?: string
  Code?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
}

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'ExpiredToken',
  'InvalidAccessKeyId',
  'InvalidToken',
  'SignatureDoesNotMatch',
])
const INVALID_PART = new Set(['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall'])
const UNAVAILABLE = new Set([
  'InternalError',
  'RequestTimeout',
  'ServiceUnavailable',
  'SlowDown',
  'TimeoutError',
])
/** Node transport error codes: nothing (or only part of an answer) came back. */
const NETWORK_CODES = new Set([
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'ETIMEDOUT',
])

/**
 * Maps an error from an S3 call to the store's coded RhioError (keeping the SDK
 * error as cause), or to `signal.reason` when the caller aborted. `what` names
 * the operation and object for the message, e.g. `get bucket/key`.
 */
export function mapS3Error(err: unknown, what: string, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason
  if (err instanceof RhioError) return err
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorShape
  const name = e.Code ?? e.name ?? 'Error'
  const status = e.$metadata?.httpStatusCode
  const detail =
    status === undefined ? `${name}: ${e.message ?? String(err)}` : `${name} (HTTP ${status})`
  const code = classify(name, status, e.code)
  return storeError(code, `${what}: ${detail}`, err)
}

function classify(name: string, status: number | undefined, sysCode?: string): StoreErrorCode {
  if (name === 'NoSuchBucket') return StoreErrorCode.NO_SUCH_BUCKET
  if (name === 'NoSuchKey' || (name === 'NotFound' && status === 404)) {
    return StoreErrorCode.NO_SUCH_KEY
  }
  if (name === 'NoSuchUpload') return StoreErrorCode.NO_SUCH_UPLOAD
  if (INVALID_PART.has(name)) return StoreErrorCode.INVALID_PART
  if (name === 'InvalidRange' || status === 416) return StoreErrorCode.INVALID_RANGE
  // A 403 that is not about credentials: the object is archived (e.g. Glacier).
  if (name === 'InvalidObjectState') return StoreErrorCode.ERROR
  if (ACCESS_DENIED.has(name) || status === 401 || status === 403) {
    return StoreErrorCode.ACCESS_DENIED
  }
  if (sysCode !== undefined && NETWORK_CODES.has(sysCode)) return StoreErrorCode.UNAVAILABLE
  if (UNAVAILABLE.has(name) || status === 429) return StoreErrorCode.UNAVAILABLE
  if (status !== undefined && status >= 500 && status !== 501) return StoreErrorCode.UNAVAILABLE
  return StoreErrorCode.ERROR
}

/** True for the answers of servers that do not implement a call (s3rver: abort → 405). */
export function isNotImplemented(err: unknown): boolean {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorShape
  const name = e.Code ?? e.name
  const status = e.$metadata?.httpStatusCode
  return (
    name === 'NotImplemented' || name === 'MethodNotAllowed' || status === 501 || status === 405
  )
}

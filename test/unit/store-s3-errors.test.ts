import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  InvalidObjectState,
  NoSuchBucket,
  NoSuchKey,
  NoSuchUpload,
  S3ServiceException,
} from '@aws-sdk/client-s3'
import { RhioError } from '../../src/errors/index.js'
import { StoreErrorCode } from '../../src/store/errors.js'
import { isNotImplemented, mapS3Error } from '../../src/store/s3-errors.js'

// The error shapes below are what @aws-sdk/client-s3 throws (its own exception
// classes, or Node transport errors). Only the classification is tested here;
// the stores are tested against a real server.
function service(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status } })
}
const meta = (status: number): { $metadata: { httpStatusCode: number }; message: string } => ({
  $metadata: { httpStatusCode: status },
  message: 'x',
})

test('S3 errors map to stable store codes and keep the SDK error as cause', () => {
  const cases: [unknown, string][] = [
    [new NoSuchBucket(meta(404)), StoreErrorCode.NO_SUCH_BUCKET],
    [new NoSuchKey(meta(404)), StoreErrorCode.NO_SUCH_KEY],
    [service('NotFound', 404), StoreErrorCode.NO_SUCH_KEY],
    [new NoSuchUpload(meta(404)), StoreErrorCode.NO_SUCH_UPLOAD],
    [service('InvalidPart', 400), StoreErrorCode.INVALID_PART],
    [service('InvalidPartOrder', 400), StoreErrorCode.INVALID_PART],
    [service('EntityTooSmall', 400), StoreErrorCode.INVALID_PART],
    [service('InvalidRange', 416), StoreErrorCode.INVALID_RANGE],
    [service('AccessDenied', 403), StoreErrorCode.ACCESS_DENIED],
    [service('InvalidAccessKeyId', 403), StoreErrorCode.ACCESS_DENIED],
    [service('SignatureDoesNotMatch', 403), StoreErrorCode.ACCESS_DENIED],
    [service('Forbidden', 403), StoreErrorCode.ACCESS_DENIED],
    [service('InternalError', 500), StoreErrorCode.UNAVAILABLE],
    [service('ServiceUnavailable', 503), StoreErrorCode.UNAVAILABLE],
    [service('SlowDown', 503), StoreErrorCode.UNAVAILABLE],
    [service('TooManyRequests', 429), StoreErrorCode.UNAVAILABLE],
    [
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      StoreErrorCode.UNAVAILABLE,
    ],
    [Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), StoreErrorCode.UNAVAILABLE],
    [
      Object.assign(new Error('socket timed out'), { name: 'TimeoutError' }),
      StoreErrorCode.UNAVAILABLE,
    ],
    [service('NotImplemented', 501), StoreErrorCode.ERROR],
    [new InvalidObjectState(meta(403)), StoreErrorCode.ERROR],
    [service('MalformedXML', 400), StoreErrorCode.ERROR],
    [new TypeError('a bug'), StoreErrorCode.ERROR],
  ]
  for (const [err, code] of cases) {
    const mapped = mapS3Error(err, 'get b/k')
    assert.ok(mapped instanceof RhioError, String(err))
    assert.equal(mapped.code, code, `${(err as Error).name}: ${(err as Error).message}`)
    assert.equal(mapped.cause, err)
    assert.match(mapped.message, /^get b\/k: /)
  }
})

test('an aborted signal wins over the SDK error; RhioErrors pass unchanged', () => {
  const ac = new AbortController()
  const reason = new Error('shutting down')
  ac.abort(reason)
  assert.equal(mapS3Error(service('InternalError', 500), 'x', ac.signal), reason)
  const own = new RhioError(StoreErrorCode.BODY_LENGTH, 'short')
  assert.equal(mapS3Error(own, 'x'), own)
})

test('servers without AbortMultipartUpload are recognised', () => {
  assert.equal(isNotImplemented(service('MethodNotAllowed', 405)), true)
  assert.equal(isNotImplemented(service('NotImplemented', 501)), true)
  assert.equal(isNotImplemented(new NoSuchUpload(meta(404))), false)
  assert.equal(isNotImplemented(new Error('x')), false)
})

/**
 * Typed failures of the blob format code. Each has a stable code listed in docs/ERRORS.md.
 */
import { RhioError } from '../errors/index.js'

/** Why a received stream was rejected. */
export type BlobVerifyReason =
  | 'parent-mismatch' // a 64-byte parent pair does not hash to the expected chaining value
  | 'leaf-mismatch' // leaf data does not hash to the expected chaining value
  | 'size-too-large' // the declared size exceeds the limit (or 2^53 - 1)
  | 'truncated' // the stream ended before every selected node arrived
  | 'trailing-bytes' // bytes followed the last selected node

/**
 * A response stream failed verification: nothing from `streamOffset` on was released.
 * `streamOffset` is the position in the response stream (0 = first byte of the 8-byte size) where
 * the offending item starts; `dataOffset` is the blob byte offset the item covers, if any.
 */
export class BlobVerifyError extends RhioError {
  readonly reason: BlobVerifyReason
  readonly streamOffset: number
  readonly dataOffset: number | undefined

  constructor(
    reason: BlobVerifyReason,
    streamOffset: number,
    dataOffset: number | undefined,
    detail: string,
  ) {
    const where = dataOffset === undefined ? '' : `, blob offset ${dataOffset}`
    super(
      'BLOB_VERIFY_FAILED',
      `blob stream rejected (${reason}) at stream offset ${streamOffset}${where}: ${detail}`,
    )
    this.name = 'BlobVerifyError'
    this.reason = reason
    this.streamOffset = streamOffset
    this.dataOffset = dataOffset
  }
}

/** Why local data could not be served. */
export type BlobLocalReason =
  | 'data-mismatch' // stored bytes do not hash to what the outboard / blob hash say
  | 'outboard-mismatch' // an outboard pair does not hash to its parent's chaining value
  | 'outboard-short' // the outboard is shorter than the declared size requires
  | 'data-short' // the data reader returned fewer bytes than requested
  | 'data-long' // the data reader returned more bytes than requested

/**
 * The serving side found its own data or outboard inconsistent while encoding, and stopped
 * before sending a byte that does not verify (`encodeRanges` validates as it reads).
 */
export class BlobLocalDataError extends RhioError {
  readonly reason: BlobLocalReason
  readonly dataOffset: number

  constructor(reason: BlobLocalReason, dataOffset: number, detail: string) {
    super(
      'BLOB_LOCAL_CORRUPT',
      `local blob data unusable (${reason}) at offset ${dataOffset}: ${detail}`,
    )
    this.name = 'BlobLocalDataError'
    this.reason = reason
    this.dataOffset = dataOffset
  }
}

/** A string is neither a 52-char base32 nor a 64-char hex BLAKE3 hash. */
export class BlobHashParseError extends RhioError {
  constructor(input: string, detail: string) {
    const shown = input.length > 80 ? `${input.slice(0, 80)}…` : input
    super('BLOB_HASH_INVALID', `not a blob hash (${detail}): ${JSON.stringify(shown)}`)
    this.name = 'BlobHashParseError'
  }
}

/** Malformed or over-limit request bytes (postcard GetRequest / RangeSpec / RangeSpecSeq). */
export class BlobRequestError extends RhioError {
  constructor(detail: string) {
    super('BLOB_REQUEST_INVALID', `invalid blob request: ${detail}`)
    this.name = 'BlobRequestError'
  }
}

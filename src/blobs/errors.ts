/** Typed failures of blob transfer; each code is listed in docs/ERRORS.md. */
import { RhioError } from '../errors/index.js'

/** No connected peer that holds the blob can be asked right now (none known, or all cooling down). */
export class BlobNoHolderError extends RhioError {
  constructor(
    readonly holders: number,
    /** When the first peer that is only cooling down may be asked again. */
    readonly retryAt: number | undefined,
  ) {
    super(
      'BLOB_NO_HOLDER',
      holders === 0
        ? 'no connected peer holds this blob'
        : `all ${holders} peers holding this blob failed recently`,
    )
    this.name = 'BlobNoHolderError'
  }
}

/**
 * The announced hash cannot be right for the data (a 0-byte object: `permanent`, retrying cannot
 * help), or the tree rebuilt from recorded group CVs disagrees with it (the transfer starts over).
 */
export class BlobHashMismatchError extends RhioError {
  constructor(
    detail: string,
    readonly permanent: boolean,
  ) {
    super('BLOB_HASH_MISMATCH', detail)
    this.name = 'BlobHashMismatchError'
  }
}

/** A transfer job that cannot be run (bad size, hash, key or signature). */
export class BlobJobInvalidError extends RhioError {
  constructor(detail: string) {
    super('BLOB_JOB_INVALID', `invalid transfer job: ${detail}`)
    this.name = 'BlobJobInvalidError'
  }
}

/** The multipart upload a transfer was resuming no longer exists; it starts over. */
export class BlobUploadLostError extends RhioError {
  constructor(detail: string, cause: unknown) {
    super('BLOB_UPLOAD_LOST', detail, { cause })
    this.name = 'BlobUploadLostError'
  }
}

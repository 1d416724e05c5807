/** Checks a transfer job before it is queued, so a bad one fails at once and not at the end. */
import { HASH_LEN } from '../bao/index.js'
import { isInternalKey } from '../store/layout.js'
import { BlobJobInvalidError } from './errors.js'
import type { TransferJob } from './types.js'

export function checkJob(job: TransferJob): TransferJob {
  const bad = (detail: string): never => {
    throw new BlobJobInvalidError(`${job.localBucket}/${job.key}: ${detail}`)
  }
  if (job.localBucket === '') bad('empty local bucket')
  if (job.key === '' || isInternalKey(job.key)) bad('not a data key')
  if (!(job.hash instanceof Uint8Array) || job.hash.length !== HASH_LEN) bad('hash is not 32 bytes')
  if (!Number.isSafeInteger(job.size) || job.size < 0) bad(`size ${job.size}`)
  if (!(job.author instanceof Uint8Array) || job.author.length !== 32) bad('author is not 32 bytes')
  if (!/^[0-9a-f]{128}$/.test(job.signature)) bad('signature is not 128 lowercase hex')
  if (!Number.isSafeInteger(job.seq) || job.seq < 0) bad(`seq ${job.seq}`)
  return {
    localBucket: job.localBucket,
    key: job.key,
    hash: new Uint8Array(job.hash),
    size: job.size,
    author: new Uint8Array(job.author),
    remoteBucket: job.remoteBucket,
    signature: job.signature,
    seq: job.seq,
  }
}

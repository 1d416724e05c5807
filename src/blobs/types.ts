/**
 * Shared types of blob replication. The blob *log* side (watcher, importer,
 * announcements, the subscriber's desired state in `.rhio/*.rhio.json`) and the
 * blob *transfer* side (serving verified ranges, resumable downloads into the
 * local bucket) meet here.
 */
import type { BlobHash } from '../bao/index.js'

/** Where a complete blob can be read on this node. */
export interface BlobLocation {
  bucket: string
  key: string
  size: number
  /**
   * The object's ETag when its bytes were hashed (imported) or verified (downloaded). While the
   * store reports this ETag, the provider sends the data without hashing it again.
   */
  etag?: string
}

/**
 * Complete blobs this node can serve, by hash: objects of published buckets
 * (imported) and of subscribed local buckets (downloaded). Any holder serves.
 */
export interface BlobIndex {
  /** Locations of a complete blob with this hash (first is preferred). */
  lookup(hash: BlobHash): BlobLocation[]
  add(hash: BlobHash, loc: BlobLocation): void
  /** Forgets one location (object deleted or overwritten). */
  remove(hash: BlobHash, bucket: string, key: string): void
}

/** One object a subscriber must make match an announcement. */
export interface TransferJob {
  /** Local bucket and key to write. */
  localBucket: string
  key: string
  hash: BlobHash
  size: number
  /** The original author and its bucket (to find holders). */
  author: Uint8Array
  remoteBucket: string
  /** Written into the meta file when complete (author's batch signature, hex). */
  signature: string
  /** The entry's sequence number in the author's blob log. */
  seq: number
}

export type TransferState = 'queued' | 'downloading' | 'completing' | 'done' | 'failed'

export interface TransferStatus {
  localBucket: string
  key: string
  hash: string
  size: number
  done: number
  peer: string | null
  /** Peers parts are being fetched from right now. */
  peers: string[]
  state: TransferState
  startedAt: number
  lastError: string | null
}

/** Finds peers that may hold a blob of (author, remote bucket), best first. */
export type HolderFinder = (author: Uint8Array, remoteBucket: string) => Array<{ id: string }>

/** What the log side needs from the transfer side. */
export interface Transfers {
  /** Resolves once queued (waits while the transfer queue is full). */
  enqueue(job: TransferJob): Promise<void>
  cancel(localBucket: string, key: string): void
  /** Records an announced object that cannot be stored here as a failed transfer (shown in /health). */
  refuse(
    job: Pick<TransferJob, 'localBucket' | 'remoteBucket' | 'key' | 'hash' | 'size'>,
    reason: string,
  ): void
}

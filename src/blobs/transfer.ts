/**
 * One transfer as the manager tracks it: the job, what /health shows, retry timing and the
 * peers it currently avoids. The work itself is in transfer-run.ts.
 */
import type { Libp2p } from '@libp2p/interface'
import type { Logger } from 'pino'
import { hashToBase32 } from '../bao/index.js'
import type { PeerManager } from '../p2p/peers.js'
import type { ObjectStore } from '../store/index.js'
import type { BlobMetrics } from './metrics.js'
import type { TransferStore } from './transfer-store.js'
import type { HolderFinder, TransferJob, TransferState, TransferStatus } from './types.js'

/** The outcome of one range request to one peer (for logs, tests and debugging). */
export interface PartAttempt {
  localBucket: string
  key: string
  /** Part number (1..), or 0 for a whole small object fetched for a single PUT. */
  part: number
  peer: string
  start: number
  end: number
  /** Verified bytes accepted from the peer in this attempt. */
  verifiedBytes: number
  ok: boolean
  /** Why it failed: corrupt, busy, not-found, bad-response, error. */
  failure?: PeerFailure
  error?: string
}

export type PeerFailure = 'corrupt' | 'busy' | 'not-found' | 'bad-response' | 'error'

/** What a transfer needs from its surroundings. */
export interface TransferContext {
  host: Libp2p
  protocol: string
  peers: Pick<PeerManager, 'penalize'>
  store: ObjectStore
  records: TransferStore
  holders: HolderFinder
  /** Configured part size (a multiple of 16 KiB, at least 5 MiB). */
  partSize: number
  logger: Logger
  metrics: BlobMetrics | undefined
  onAttempt: (a: PartAttempt) => void
}

export class Transfer {
  readonly id: string
  job: TransferJob
  state: TransferState = 'queued'
  /** Bytes verified and written (or being written) to the local bucket. */
  done = 0
  peer: string | null = null
  readonly startedAt: number
  lastError: string | null = null
  failures = 0
  nextAttemptAt = 0
  /** The last attempt found no holder to ask. */
  waitingForHolder = false
  /** Cancelled or replaced: never run again. */
  cancelled = false
  abort = new AbortController()
  running: Promise<void> | undefined
  /** Peers not to ask until the given time (ms). */
  readonly cooldown = new Map<string, number>()

  constructor(id: string, job: TransferJob, startedAt = Date.now()) {
    this.id = id
    this.job = job
    this.startedAt = startedAt
  }

  status(): TransferStatus {
    return {
      local_bucket: this.job.localBucket,
      key: this.job.key,
      hash: hashToBase32(this.job.hash),
      size: this.job.size,
      done: this.done,
      peer: this.peer,
      state: this.state,
      started_at: this.startedAt,
      last_error: this.lastError,
    }
  }
}

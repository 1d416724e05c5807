/**
 * One transfer as the manager tracks it: the job, what /health shows, retry timing and the
 * peers it currently avoids. The work itself is in transfer-run.ts.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { hashToBase32 } from '../bao/index.js'
import type { PenaltyBox } from '../p2p/penalty-box.js'
import type { ObjectStore } from '../store/index.js'
import { PREDIAL_MAX_AGE_MS } from './constants.js'
import { dialBlobs } from './fetch-range.js'
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
  penalties: Pick<PenaltyBox, 'penalize'>
  store: ObjectStore
  records: TransferStore
  holders: HolderFinder
  /** Configured part size (a multiple of 16 KiB, at least 5 MiB). */
  partSize: number
  /** Parts of one transfer in flight at once (1..16). */
  partsInFlight: number
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
  /** Range requests running now, by peer (parts are spread over holders by this). */
  readonly active = new Map<string, number>()
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
  /** A stream opened to the current peer for the next part while this one finishes. */
  #next: { peer: string; at: number; stream: Promise<Stream> } | undefined

  constructor(id: string, job: TransferJob, startedAt = Date.now()) {
    this.id = id
    this.job = job
    this.startedAt = startedAt
  }

  /**
   * Opens the stream for the next request to `peer` now, so the dial and protocol negotiation
   * overlap the end of the current part's upload. No request is sent on it yet: the next part's
   * bytes only flow once this part is recorded (a crash re-sends at most one part).
   */
  preDial(ctx: TransferContext, peer: string): void {
    this.dropNextStream()
    const stream = dialBlobs(ctx.host, ctx.protocol, peer, this.abort.signal)
    stream.catch(() => {}) // a failed pre-dial just means dialling again later
    this.#next = { peer, at: Date.now(), stream }
  }

  /** The pre-dialled stream if it goes to `peer` and is fresh enough; otherwise it is closed. */
  takeStream(peer: string): Promise<Stream> | undefined {
    const next = this.#next
    this.#next = undefined
    if (next === undefined) return undefined
    if (next.peer === peer && Date.now() - next.at < PREDIAL_MAX_AGE_MS) return next.stream
    closeLater(next.stream)
    return undefined
  }

  dropNextStream(): void {
    if (this.#next) closeLater(this.#next.stream)
    this.#next = undefined
  }

  status(): TransferStatus {
    return {
      localBucket: this.job.localBucket,
      key: this.job.key,
      hash: hashToBase32(this.job.hash),
      size: this.job.size,
      done: this.done,
      peer: this.peer,
      peers: [...this.active.keys()],
      state: this.state,
      startedAt: this.startedAt,
      lastError: this.lastError,
    }
  }
}

function closeLater(stream: Promise<Stream>): void {
  stream.then(
    (s) => s.abort(new Error('unused blob stream')),
    () => {},
  )
}

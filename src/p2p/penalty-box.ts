/**
 * The penalty box: every piece of bad input a peer sends (on any protocol:
 * hello, sync, blobs) is counted by reason and adds that reason's weight to
 * the peer's score, which decays exponentially. At the threshold the peer is
 * banned for a while: the connection gater refuses it both ways and its
 * connections are closed. docs/SECURITY.md lists the weights (a test holds it
 * to this table).
 */
import type { Logger } from 'pino'
import { Listeners } from '../util/listeners.js'
import { FrameError } from './framing.js'
import type { PeerMetrics } from './metrics.js'

/** How much each kind of bad input counts towards a ban, for every protocol. */
export const PENALTY = {
  // a forged or inconsistent signed batch: no honest holder sends these
  'bad-signature': 5,
  'bad-proof': 5,
  'bad-seq': 5,
  'wrong-author': 5,
  'wrong-network': 5,
  incomplete: 5,
  // blob data that does not verify against its hash
  'bad-blob-data': 5,
  // broken framing or messages
  malformed: 2,
  oversized: 2,
  truncated: 2,
  slow: 2,
  gap: 2,
  'wrong-log': 2,
  // more relay reservations or circuits than relay.max_requests_per_minute
  'relay-flood': 2,
  // more messages than the protocol needs (hellos beyond their rate)
  flood: 2,
  // may happen to an honest peer (a race, a slow link)
  'unwanted-log': 1,
  timeout: 1,
  // counted, not bad input
  busy: 0,
} as const

export type PenaltyReason = keyof typeof PENALTY

/** Whether `reason` is one the table knows (reasons also arrive from decoders as strings). */
export function isPenaltyReason(reason: string): reason is PenaltyReason {
  return Object.hasOwn(PENALTY, reason)
}

/** Penalty score at which a peer is disconnected and banned (default of `banThreshold`). */
export const BAN_THRESHOLD = 20
/** How long a ban lasts (default of `banMs`). */
export const BAN_MS = 5 * 60_000
/** Time constant of the exponential decay of a peer's penalty score. */
export const SCORE_DECAY_MS = 60_000
/** Scores kept before decayed ones are forgotten. */
const MAX_SCORES = 1024

export interface PenaltyBoxComponents {
  logger: Logger
  metrics?: PeerMetrics
}

export interface PenaltyBoxInit {
  banThreshold?: number
  banMs?: number
}

export interface PenaltyEvent {
  /** 64-hex public key. */
  peer: string
  reason: PenaltyReason
  /** Set when this penalty banned the peer: until when. */
  bannedUntil?: number
}

interface Score {
  score: number
  at: number
  bannedUntil?: number
}

export class PenaltyBox {
  private readonly scores = new Map<string, Score>()
  private readonly listeners = new Listeners<PenaltyEvent>()

  constructor(
    private readonly components: PenaltyBoxComponents,
    private readonly init: PenaltyBoxInit = {},
  ) {}

  /** Counts a rejection by reason; repeated abuse bans the peer (listeners then disconnect it). */
  penalize(peer: string, reason: PenaltyReason): void {
    this.components.metrics?.rejected.inc({ reason })
    const weight = PENALTY[reason]
    if (weight === 0) return // counted only: not the peer's fault
    const now = Date.now()
    if (this.scores.size >= MAX_SCORES && !this.scores.has(peer)) this.forgetDecayed(now)
    const s = this.scores.get(peer) ?? { score: 0, at: now }
    s.score = s.score * Math.exp(-(now - s.at) / SCORE_DECAY_MS) + weight
    s.at = now
    this.scores.set(peer, s)
    if (s.score < (this.init.banThreshold ?? BAN_THRESHOLD)) {
      this.listeners.emit({ peer, reason })
      return
    }
    s.bannedUntil = now + (this.init.banMs ?? BAN_MS)
    s.score = 0
    this.components.metrics?.bans.inc()
    this.components.logger.warn({ peer, reason }, 'peer banned for repeated bad input')
    this.listeners.emit({ peer, reason, bannedUntil: s.bannedUntil })
  }

  /** Drops scores that decayed to (almost) nothing and bans that ended: keys are free. */
  private forgetDecayed(now: number): void {
    for (const [peer, s] of this.scores) {
      const decayed = s.score * Math.exp(-(now - s.at) / SCORE_DECAY_MS)
      if (decayed < 0.5 && (s.bannedUntil ?? 0) <= now) this.scores.delete(peer)
    }
  }

  /** Until when `peer` is banned, or undefined when it is not. */
  bannedUntil(peer: string): number | undefined {
    const until = this.scores.get(peer)?.bannedUntil
    return until !== undefined && until > Date.now() ? until : undefined
  }

  isBanned(peer: string): boolean {
    return this.bannedUntil(peer) !== undefined
  }

  /** Every penalty, as it happens (the peer table records it; a ban disconnects). */
  onPenalty(fn: (event: PenaltyEvent) => void): () => void {
    return this.listeners.add(fn)
  }
}

/** Penalises a framing error by its reason; a closed stream is never the peer's fault. */
export function penalizeFrameError(
  penalties: Pick<PenaltyBox, 'penalize'>,
  peer: string,
  err: unknown,
): void {
  if (!(err instanceof FrameError) || err.reason === 'closed') return
  penalties.penalize(peer, isPenaltyReason(err.reason) ? err.reason : 'malformed')
}

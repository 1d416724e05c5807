/**
 * The one retry delay policy of rhio: exponential (min, 2·min, 4·min …,
 * capped at max), each delay spread by a random fraction around its base so
 * that many retries started by one event (a NATS restart, a peer going away)
 * do not come back in step.
 */
import { pause } from './abort.js'

export interface BackoffPolicy {
  /** First delay in ms. */
  minMs: number
  /** Largest delay in ms (jitter never exceeds it). */
  maxMs: number
  /**
   * Width of the random spread as a fraction of the base delay: 0.5 (the
   * default) gives base ± 25 %, 0 no randomness.
   */
  jitter?: number
}

/** Default spread: ± 25 % around each base delay. */
export const DEFAULT_JITTER = 0.5

/** The delay before retry number `attempt` (0 = the first retry). */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const { minMs, maxMs, jitter = DEFAULT_JITTER } = policy
  const base = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(attempt, 0), 30))
  const spread = base * jitter
  return Math.max(0, Math.min(maxMs, Math.round(base - spread / 2 + random() * spread)))
}

/** Successive delays of a policy; `reset()` after a success starts over at `minMs`. */
export class Backoff {
  private attempt = 0

  constructor(
    readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.attempt
  }

  next(): number {
    return backoffDelay(this.policy, this.attempt++, this.random)
  }

  reset(): void {
    this.attempt = 0
  }
}

/**
 * Calls `fn` until it succeeds, waiting `policy`'s delays between attempts.
 * Resolves with its result, or with undefined once `signal` aborts (also
 * during a wait, which leaves nothing attached to the signal). `onError` sees
 * each failure with the delay before the next attempt.
 */
export async function retry<T>(
  fn: () => Promise<T>,
  o: {
    signal: AbortSignal
    policy: BackoffPolicy
    onError?: (err: unknown, delayMs: number) => void
  },
): Promise<T | undefined> {
  const backoff = new Backoff(o.policy)
  while (!o.signal.aborted) {
    try {
      return await fn()
    } catch (err) {
      if (o.signal.aborted) break
      const delayMs = backoff.next()
      o.onError?.(err, delayMs)
      await pause(delayMs, o.signal)
    }
  }
  return undefined
}

/** Repeats of one recurring problem are logged after 30 s, then at doubling intervals up to 10 min. */
export const REPEAT_LOG = { minMs: 30_000, maxMs: 10 * 60_000 }

/**
 * When a problem that recurs at every retry deserves another log line: the
 * first time, then at intervals doubling from `minMs` to `maxMs` (no
 * randomness), so a node stuck on one problem says so at its start and a few
 * times an hour instead of at every retry. `suppressed` is how many times it
 * recurred unlogged since the last line. `reset()` once the problem is gone.
 */
export class RepeatThrottle {
  private nextAt = 0
  private interval = 0
  private skipped = 0

  constructor(
    private readonly policy: BackoffPolicy = REPEAT_LOG,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Call at every occurrence; log when `log` is true. */
  hit(): { log: boolean; suppressed: number } {
    const now = this.clock()
    if (now < this.nextAt) {
      this.skipped++
      return { log: false, suppressed: this.skipped }
    }
    this.interval =
      this.interval === 0 ? this.policy.minMs : Math.min(this.interval * 2, this.policy.maxMs)
    this.nextAt = now + this.interval
    const suppressed = this.skipped
    this.skipped = 0
    return { log: true, suppressed }
  }

  reset(): void {
    this.nextAt = 0
    this.interval = 0
    this.skipped = 0
  }
}

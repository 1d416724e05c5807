/** Exponential backoff with jitter, and an abortable sleep. */

export interface BackoffOptions {
  /** First delay in ms. */
  minMs: number
  /** Largest delay in ms. */
  maxMs: number
  /** Fraction of each delay that is randomised (0 = none, 0.5 = ±25 %). */
  jitter?: number
}

/** Delays min, 2·min, 4·min … capped at max, each jittered. `reset()` starts over. */
export class Backoff {
  private attempt = 0
  constructor(
    private readonly opts: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  get attempts(): number {
    return this.attempt
  }

  next(): number {
    const { minMs, maxMs, jitter = 0.5 } = this.opts
    const base = Math.min(maxMs, minMs * 2 ** Math.min(this.attempt, 30))
    this.attempt++
    const spread = base * jitter
    return Math.max(0, Math.min(maxMs, Math.round(base - spread / 2 + this.random() * spread)))
  }

  reset(): void {
    this.attempt = 0
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

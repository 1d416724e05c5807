/**
 * Waiting that an AbortSignal can cut short. Long-lived loops (sessions,
 * publishers, retries) sleep with these so a stop never waits for a timer.
 *
 * Every helper here removes what it added to a signal once it settles: on a
 * long-lived signal a listener left behind per call accumulates (Node warns
 * at 11: MaxListenersExceededWarning) and keeps its closure alive. For the
 * same reason none of them uses `AbortSignal.any` or `AbortSignal.timeout`,
 * which on Node 20 leave a reference on their sources and a live timer.
 */

/**
 * Resolves after `ms`, or at once when `signal` aborts or `wakeup` is woken
 * (never rejects).
 */
export function pause(ms: number, signal: AbortSignal, wakeup?: Wakeup): Promise<void> {
  if (wakeup) return wakeup.sleep(ms, signal).catch(() => undefined)
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = (): void => {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const t = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
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

/** Resolves like `p`, or rejects as soon as `signal` aborts. */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err as Error)
      },
    )
  })
}

/**
 * Runs `fn` with a signal that aborts when `signal` does or after `ms` (then
 * with a TimeoutError, like AbortSignal.timeout), and cleans up after itself:
 * the timer is cleared and no listener stays on `signal`. Use it instead of
 * `AbortSignal.any([signal, AbortSignal.timeout(ms)])` in loops: on Node 20
 * every AbortSignal.any leaves a reference on its long-lived source, and every
 * AbortSignal.timeout a timer that lives until it fires.
 */
export async function withDeadline<T>(
  signal: AbortSignal,
  ms: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ac = new AbortController()
  const onAbort = (): void => ac.abort(signal.reason)
  if (signal.aborted) ac.abort(signal.reason)
  else signal.addEventListener('abort', onAbort, { once: true })
  const timer = setTimeout(
    () => ac.abort(new DOMException('The operation timed out.', 'TimeoutError')),
    ms,
  )
  try {
    return await fn(ac.signal)
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * A signal that aborts when any of `signals` does (with its reason), and a
 * `dispose()` that detaches it from them. Use instead of `AbortSignal.any`
 * for signals that live as long as a session or a request: call dispose()
 * when that ends, so nothing stays attached to the long-lived sources.
 */
export function linkSignals(...signals: AbortSignal[]): {
  signal: AbortSignal
  abort: (reason?: unknown) => void
  dispose: () => void
} {
  const ac = new AbortController()
  const attached: Array<[AbortSignal, () => void]> = []
  const dispose = (): void => {
    for (const [s, l] of attached.splice(0)) s.removeEventListener('abort', l)
  }
  for (const s of signals) {
    if (s.aborted) {
      ac.abort(s.reason)
      break
    }
    const l = (): void => {
      ac.abort(s.reason)
      dispose()
    }
    s.addEventListener('abort', l, { once: true })
    attached.push([s, l])
  }
  if (ac.signal.aborted) dispose()
  return { signal: ac.signal, abort: (reason) => ac.abort(reason), dispose }
}

/**
 * A sleep that can be cut short from outside: `wake()` ends every current
 * `sleep()` early (it resolves), an aborted signal ends it with its reason.
 * For retry loops that should try again at once when something changes (a
 * reconnect, a peer going away) instead of waiting out their backoff.
 */
export class Wakeup {
  private readonly sleepers = new Set<() => void>()

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason)
        return
      }
      const done = (): void => {
        clearTimeout(timer)
        this.sleepers.delete(done)
        signal?.removeEventListener('abort', onAbort)
      }
      const onAbort = (): void => {
        done()
        reject(signal?.reason)
      }
      const wake = (): void => {
        done()
        resolve()
      }
      const timer = setTimeout(wake, ms)
      this.sleepers.add(wake)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Ends every current sleep now. */
  wake(): void {
    for (const w of [...this.sleepers]) w()
  }
}

/**
 * Settles like `p`, or as `onTimeout()` decides (returns a fallback value or
 * throws) if `p` has not settled after `ms`. The timer is cleared either way;
 * `p` itself keeps running (abort it from `onTimeout` if it takes a signal).
 */
export async function timeLimit<T>(p: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout())
      } catch (err) {
        reject(err as Error)
      }
    }, ms)
  })
  try {
    return await Promise.race([p, expired])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Abort controllers of operations that run concurrently (served sessions,
 * requests), aborted together when their owner stops. Unlike linking each one
 * to the owner's signal, nothing is attached to a shared signal, so hundreds
 * of concurrent operations leave no listener pile on it.
 */
export class AbortGroup {
  private readonly members = new Set<AbortController>()
  private reason: unknown
  private stopped = false

  /** A controller that aborts with the group; call `dispose()` when its operation ends. */
  add(): { signal: AbortSignal; abort: (reason?: unknown) => void; dispose: () => void } {
    const ac = new AbortController()
    if (this.stopped) ac.abort(this.reason)
    else this.members.add(ac)
    return {
      signal: ac.signal,
      abort: (reason) => ac.abort(reason),
      dispose: () => this.members.delete(ac),
    }
  }

  get size(): number {
    return this.members.size
  }

  /** Aborts every member, and every member added from now on. */
  abortAll(reason?: unknown): void {
    this.stopped = true
    this.reason = reason
    for (const ac of this.members) ac.abort(reason)
    this.members.clear()
  }
}

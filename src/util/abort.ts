/**
 * Waiting that an AbortSignal can cut short. Long-lived loops (sessions,
 * publishers, retries) sleep with these so a stop never waits for a timer.
 */

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
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

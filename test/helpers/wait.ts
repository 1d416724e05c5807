/**
 * Polls `condition` until it returns a truthy value (or resolves to one) and
 * returns that value. Throws a descriptive error when `timeout` ms pass first.
 * Tests wait on conditions with this instead of sleeping a fixed time.
 */
export interface WaitOptions {
  timeout?: number
  interval?: number
  message?: string
}

export async function waitFor<T>(
  condition: () => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<NonNullable<T>> {
  const timeout = opts.timeout ?? 10_000
  const interval = opts.interval ?? 25
  const deadline = Date.now() + timeout
  let lastError: unknown
  let lastValue: unknown
  for (;;) {
    try {
      const v = await condition()
      lastValue = v
      if (v) return v as NonNullable<T>
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) {
      const what = opts.message ?? 'condition'
      const detail =
        lastError !== undefined
          ? `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
          : `; last value: ${safeString(lastValue)}`
      throw new Error(`waitFor: ${what} not met within ${timeout} ms${detail}`)
    }
    await new Promise((r) => setTimeout(r, interval))
  }
}

function safeString(v: unknown): string {
  try {
    const s = JSON.stringify(v)
    return s === undefined ? String(v) : s.length > 300 ? `${s.slice(0, 300)}…` : s
  } catch {
    return String(v)
  }
}

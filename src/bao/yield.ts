/** Lets timers and I/O callbacks run before continuing (a macrotask turn, not a microtask). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * Promises that wait for a condition on some state, released by whoever
 * changes that state: from the front in arrival order (`releaseFront`, e.g.
 * room in a window) or wherever the condition holds (`releaseWhere`, e.g.
 * "acked up to N"). A waiter whose signal aborts leaves the queue and takes
 * its abort listener with it.
 */
interface Waiter<T> {
  value: T
  resolve: () => void
  reject: (err: unknown) => void
}

export class WaitQueue<T> {
  private items: Array<Waiter<T>> = []

  get length(): number {
    return this.items.length
  }

  /**
   * Waits until released. When `signal` aborts first, rejects with its reason
   * and calls `onAbandon` (so a waiter behind this one may be released).
   */
  wait(value: T, signal?: AbortSignal, onAbandon?: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason)
        return
      }
      const onAbort = (): void => {
        this.items = this.items.filter((w) => w !== waiter)
        reject(signal?.reason)
        onAbandon?.()
      }
      const waiter: Waiter<T> = {
        value,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.items.push(waiter)
    })
  }

  /** Releases waiters from the front, in order, while `ready` holds for the first. */
  releaseFront(ready: (value: T) => boolean): void {
    while (this.items.length > 0 && ready((this.items[0] as Waiter<T>).value)) {
      ;(this.items.shift() as Waiter<T>).resolve()
    }
  }

  /** Releases every waiter for which `ready` holds (default: all). */
  releaseWhere(ready: (value: T) => boolean = () => true): void {
    if (this.items.length === 0) return
    const keep: Array<Waiter<T>> = []
    const done: Array<Waiter<T>> = []
    for (const w of this.items) (ready(w.value) ? done : keep).push(w)
    this.items = keep
    for (const w of done) w.resolve()
  }

  rejectAll(err: unknown): void {
    for (const w of this.items.splice(0)) w.reject(err)
  }
}

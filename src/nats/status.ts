/**
 * Health and event plumbing shared by the JetStream source and sink. The
 * composition root maps `ComponentHealth` to the `/health` JSON of the original
 * rhio (`status`, `last_error`, `last_check_time`) and events to logs/metrics.
 */

/** `Unknown` until the first attempt, then `Active` or `Inactive`. */
export type HealthStatus = 'Active' | 'Inactive' | 'Unknown'

export interface ComponentHealth {
  status: HealthStatus
  /** Description of the most recent failure (kept after recovery), or null. */
  lastError: string | null
  /** Unix ms of the last check (success or failure), or null before the first. */
  lastCheckTime: number | null
}

/** A set of event listeners; a throwing listener does not break the component. */
export class Listeners<E> {
  private readonly set = new Set<(event: E) => void>()

  /** Adds a listener and returns a function that removes it. */
  add(listener: (event: E) => void): () => void {
    this.set.add(listener)
    return () => this.set.delete(listener)
  }

  emit(event: E): void {
    for (const l of this.set) {
      try {
        l(event)
      } catch {
        // A listener's failure is the listener's problem; the data path goes on.
      }
    }
  }
}

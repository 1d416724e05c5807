/**
 * The node's recent warnings and errors, kept in a bounded ring so /health
 * (`errors[]`) and the status page can show what went wrong without anyone
 * reading the logs. Every WARN and ERROR line any component logs lands here
 * (the LoggerFactory feeds it); a line repeating one already in the ring
 * moves it to the front and counts the repeat instead of pushing others out.
 */

/** Entries kept: a screenful on the status page; older ones are in the logs. */
export const RECENT_PROBLEMS_MAX = 50

export interface RecentProblem {
  /** Unix ms of the latest occurrence. */
  time: number
  level: 'warn' | 'error' | 'fatal'
  component: string
  message: string
  /** Occurrences since it entered the ring. */
  count: number
}

export class RecentProblems {
  /** Oldest first; the key is component + message. */
  private readonly entries = new Map<string, RecentProblem>()

  constructor(private readonly capacity = RECENT_PROBLEMS_MAX) {}

  add(p: Omit<RecentProblem, 'count'>): void {
    const key = `${p.component}\u0000${p.message}`
    const prev = this.entries.get(key)
    this.entries.delete(key)
    this.entries.set(key, { ...p, count: (prev?.count ?? 0) + 1 })
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break
      this.entries.delete(k)
    }
  }

  /** Newest first. */
  list(): RecentProblem[] {
    return [...this.entries.values()].reverse().map((e) => ({ ...e }))
  }
}

const LEVELS: Record<number, RecentProblem['level']> = { 40: 'warn', 50: 'error', 60: 'fatal' }

/** The level name of a pino level number at WARN or above (undefined below). */
export function problemLevel(level: number): RecentProblem['level'] | undefined {
  return level >= 60 ? LEVELS[60] : level >= 50 ? LEVELS[50] : level >= 40 ? LEVELS[40] : undefined
}

/**
 * The text of one log call's arguments: the message, then the `err` field of
 * its object when there is one (`nats: cannot connect: ECONNREFUSED …`).
 */
export function problemMessage(args: readonly unknown[]): string {
  const [first, second] = args
  if (typeof first === 'string') return first
  if (first instanceof Error) return typeof second === 'string' ? second : first.message
  const msg = typeof second === 'string' ? second : ''
  const err = typeof first === 'object' && first !== null ? (first as { err?: unknown }).err : ''
  const detail =
    err instanceof Error ? err.message : typeof err === 'string' ? err : err ? String(err) : ''
  return detail && msg ? `${msg}: ${detail}` : msg || detail
}

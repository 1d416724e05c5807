/**
 * What a node wants from, or holds of, one author's data (a selector), what a
 * log is about (derived from its id), and how selectors relate to logs and
 * entries.
 *
 * Log ids are JSON arrays so they can carry arbitrary subjects and names
 * unambiguously and are covered by the author's signature (the id is in the
 * batch header):
 *   ["nats", <subject filter>, <stream>, <stream created ms>]   one per publication
 *   ["s3", <bucket>, <epoch>]                                  one per published bucket
 * A recreated stream or a new epoch gives a new log, so sequence numbers never
 * go backwards within a log.
 */
import type { Entry } from './entry.js'
import { filtersCovered, filtersOverlap, matchesAny } from './subject.js'

/** The two kinds of logs: NATS messages and blob (S3 object) announcements. */
export type LogKind = 'nats' | 'blobs'

/** What a node wants from, or holds of, one author's data. */
export interface Selector {
  author: Uint8Array
  kind: LogKind
  /** NATS subject filters, or bucket names for blobs. */
  filters: string[]
}

export type LogScope =
  | { kind: 'nats'; subject: string; stream: string }
  | { kind: 'blobs'; bucket: string; epoch: number }

export function natsLogId(subject: string, stream: string, created: number): string {
  return JSON.stringify(['nats', subject, stream, created])
}

export function blobLogId(bucket: string, epoch: number): string {
  return JSON.stringify(['s3', bucket, epoch])
}

/** The scope of a log, or undefined when the id is not one of rhio's. */
export function parseLogId(logId: string): LogScope | undefined {
  let v: unknown
  try {
    v = JSON.parse(logId)
  } catch {
    return undefined
  }
  if (!Array.isArray(v)) return undefined
  if (
    v[0] === 'nats' &&
    v.length === 4 &&
    typeof v[1] === 'string' &&
    typeof v[2] === 'string' &&
    typeof v[3] === 'number'
  ) {
    return { kind: 'nats', subject: v[1], stream: v[2] }
  }
  if (v[0] === 's3' && v.length === 3 && typeof v[1] === 'string' && typeof v[2] === 'number') {
    return { kind: 'blobs', bucket: v[1], epoch: v[2] }
  }
  return undefined
}

/** Whether a log may hold entries the selector wants. */
export function selectorMatchesLog(sel: Selector, logId: string): boolean {
  const scope = parseLogId(logId)
  if (!scope || scope.kind !== sel.kind) return false
  if (scope.kind === 'nats') return sel.filters.some((f) => filtersOverlap(f, scope.subject))
  return sel.filters.includes(scope.bucket)
}

/** Whether an entry of a matching log is wanted by the selector. */
export function selectorMatchesEntry(sel: Selector, entry: Entry): boolean {
  if (entry.body.kind === 'nats')
    return sel.kind === 'nats' && matchesAny(sel.filters, entry.body.subject)
  return sel.kind === 'blobs'
}

/**
 * Whether a holder advertising `holding` can serve everything `want` asks for.
 * (The author itself always can; that case is decided by the caller.)
 */
export function selectorCovers(holding: Selector, want: Selector): boolean {
  if (holding.kind !== want.kind) return false
  if (want.kind === 'nats') return filtersCovered(holding.filters, want.filters)
  return want.filters.every((b) => holding.filters.includes(b))
}

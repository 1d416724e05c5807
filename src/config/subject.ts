/**
 * NATS subject rules for config validation and health checks; the rules
 * themselves live in core/subject.ts (one implementation for the whole node).
 */
import { filterContains, subjectFilterError } from '../core/subject.js'

/** Returns why `subject` is not a valid NATS subject filter, or null when it is. */
export function subjectProblem(subject: string): string | null {
  return subjectFilterError(subject) ?? null
}

/**
 * True when every subject matched by `filter` is also matched by `pattern`,
 * i.e. a stream listening on `pattern` captures everything published on `filter`.
 */
export function subjectCovers(pattern: string, filter: string): boolean {
  return filterContains(pattern, filter)
}

import { MAX_PART_NUMBER } from './constants.js'
import type { GetOptions } from './object-store.js'

/** Validates a get's `[start, end)` arguments (programming errors throw RangeError). */
export function checkRange(opts: GetOptions): { start: number; end: number | undefined } {
  const start = opts.start ?? 0
  const end = opts.end
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new RangeError(`start must be a non-negative safe integer, got ${start}`)
  }
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new RangeError(`end must be a safe integer >= start (${start}), got ${end}`)
  }
  return { start, end }
}

export function checkPartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw new RangeError(`part number must be 1..${MAX_PART_NUMBER}, got ${partNumber}`)
  }
}

/** ETags in their quoted form (`"…"`), whatever the server sent. */
export function normalizeEtag(etag: string | undefined): string {
  if (etag === undefined || etag === '') return '""'
  return etag.startsWith('"') || etag.startsWith('W/"') ? etag : `"${etag}"`
}

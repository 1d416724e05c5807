/**
 * Opening a file frame store's directory after a clean stop or a crash.
 *
 * Everything the store knows is in its segments; there is no second file to
 * keep in step with them, so a crash between two writes cannot leave the
 * head and the data disagreeing:
 * - A segment's name is the first seq it covers (the head before it + 1), so
 *   a sealed segment covers up to the next segment's start - 1 and `low` is
 *   the first segment's start.
 * - A segment whose first record is a restart record starts a new chain (an
 *   append that could not extend the old one); older segments are stale.
 * - Only the newest segment is scanned: record and batch headers, and the
 *   records in its last `verifyTailBytes` are checksummed, since that is where
 *   a crash tears a write. A damaged tail is truncated and logged. Sealed
 *   segments are checked when first read.
 */
import { open, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { LogInfo } from './frame-store.js'
import {
  LOG_META_FILE,
  metaMatches,
  parseSegmentFileName,
  segmentFileName,
  writeMeta,
} from './file-layout.js'
import { SegmentCursor, scanSegment, type SegmentIndex } from './segment-cursor.js'

export interface Segment {
  /** First seq covered (the head before its first record + 1). */
  readonly start: number
  readonly path: string
  /** Bytes of committed records. */
  size: number
  /** Head after its last record (start - 1 when it has none). */
  end: number
  /** Sparse index; built at open for the newest segment, on first read for the others. */
  index: SegmentIndex | undefined
  indexing: Promise<SegmentIndex> | undefined
  /** Readers currently using the file; a dropped segment is deleted when this reaches 0. */
  pins: number
  dropped: boolean
}

export function newSegment(dir: string, start: number): Segment {
  return {
    start,
    path: join(dir, segmentFileName(start)),
    size: 0,
    end: start - 1,
    index: undefined,
    indexing: undefined,
    pins: 0,
    dropped: false,
  }
}

export interface RecoveredLog {
  segments: Segment[]
  low: number
  head: number
}

export interface RecoverOptions {
  dir: string
  info: LogInfo
  verifyTailBytes: number
  sync: boolean
  logger?: Logger | undefined
}

async function startsNewChain(seg: Segment): Promise<boolean> {
  const fh = await open(seg.path, 'r')
  try {
    const step = await new SegmentCursor(fh, 0, Math.min(seg.size, 64), 64).next(() => true)
    return step.kind === 'record' && step.peek.type === 'restart' && step.peek.start === seg.start
  } finally {
    await fh.close()
  }
}

export async function recoverLog(o: RecoverOptions): Promise<RecoveredLog> {
  const { dir, logger } = o
  let names = await readdir(dir)
  if (!(await metaMatches(dir, o.info))) {
    const stale = names.filter((n) => n !== LOG_META_FILE)
    if (names.some((n) => parseSegmentFileName(n) !== undefined))
      logger?.warn({ dir }, 'frame store directory does not name this log; discarding its segments')
    await Promise.all(stale.map((n) => rm(join(dir, n), { recursive: true, force: true })))
    await writeMeta(dir, o.info, o.sync)
    names = []
  }
  await Promise.all(
    names.filter((n) => n.endsWith('.tmp')).map((n) => rm(join(dir, n), { force: true })),
  )
  const starts = names
    .map(parseSegmentFileName)
    .filter((s): s is number => s !== undefined)
    .sort((a, b) => a - b)
  let segments = starts.map((s) => newSegment(dir, s))
  for (const seg of segments) seg.size = (await stat(seg.path)).size
  if (segments.length === 0) return { segments, low: 1, head: 0 }

  for (let i = segments.length - 1; i > 0; i--) {
    if (!(await startsNewChain(segments[i]!))) continue
    const stale = segments.slice(0, i)
    segments = segments.slice(i)
    logger?.info(
      { dir, segments: stale.length },
      'removing segments older than a restart of the log',
    )
    for (const s of stale) await rm(s.path, { force: true })
    break
  }
  for (let i = 0; i + 1 < segments.length; i++) segments[i]!.end = segments[i + 1]!.start - 1

  const last = segments[segments.length - 1]!
  const fh = await open(last.path, 'r+')
  try {
    const verifyFrom = Math.max(0, last.size - o.verifyTailBytes)
    const scan = await scanSegment(fh, last.start, last.size, verifyFrom)
    if (scan.invalid) {
      logger?.warn(
        {
          segment: last.path,
          offset: scan.invalid.offset,
          reason: scan.invalid.reason,
          droppedBytes: last.size - scan.validBytes,
        },
        'truncating a torn or damaged tail of a frame store segment (crash during a write?)',
      )
      await fh.truncate(scan.validBytes)
      if (o.sync) await fh.sync()
    }
    last.size = scan.validBytes
    last.end = scan.head
    last.index = scan.index
  } finally {
    await fh.close()
  }
  return { segments, low: segments[0]!.start, head: last.end }
}

/**
 * Sequential reading of segment records from a file with bounded memory: a
 * read-ahead buffer of CHUNK bytes, or one record when a record is larger.
 * Buffers are never reused, so a payload handed out stays valid (and the
 * batches decoded from it may keep referring to it).
 *
 * Also the scan that validates a segment and builds its sparse index.
 */
import type { FileHandle } from 'node:fs/promises'
import {
  MAX_RECORD_PAYLOAD,
  PEEK_BYTES,
  RECORD_HEADER_BYTES,
  checksumMatches,
  peekRecord,
  type RecordPeek,
} from './segment-format.js'

export const CURSOR_CHUNK_BYTES = 256 * 1024
/** One index point per this many segment bytes (bounds index memory per GiB). */
export const INDEX_INTERVAL_BYTES = 64 * 1024

export type CursorStep =
  | { kind: 'end' }
  | { kind: 'invalid'; offset: number; reason: string }
  | {
      kind: 'record'
      offset: number
      /** Record bytes including the 8-byte header. */
      size: number
      peek: RecordPeek
      /** The CRC-checked payload, when it was asked for. */
      payload?: Uint8Array
    }

const EMPTY = new Uint8Array(0)

export class SegmentCursor {
  private buf: Uint8Array = EMPTY
  private bufStart = 0

  constructor(
    private readonly fh: FileHandle,
    /** File offset of the next record. */
    public pos: number,
    /** Bytes of the file that hold committed records. */
    private readonly end: number,
    private readonly chunk = CURSOR_CHUNK_BYTES,
  ) {}

  /** Makes bytes [pos, pos + n) available; false if the file ends first. */
  private async fill(n: number): Promise<boolean> {
    const have = this.bufStart + this.buf.length
    if (this.pos >= this.bufStart && this.pos + n <= have) return true
    if (this.pos + n > this.end) return false
    const size = Math.min(Math.max(this.chunk, n), this.end - this.pos)
    const next = new Uint8Array(size)
    let filled = 0
    if (this.pos >= this.bufStart && this.pos < have) {
      next.set(this.buf.subarray(this.pos - this.bufStart))
      filled = have - this.pos
    }
    while (filled < size) {
      const { bytesRead } = await this.fh.read(next, filled, size - filled, this.pos + filled)
      if (bytesRead === 0) return false
      filled += bytesRead
    }
    this.buf = next
    this.bufStart = this.pos
    return true
  }

  private view(offset: number, n: number): Uint8Array {
    const at = offset - this.bufStart
    return this.buf.subarray(at, at + n)
  }

  /**
   * Reads the record at `pos` and moves past it. `wantPayload` decides from the
   * peek whether the whole payload is loaded and checksummed; otherwise the
   * entry bytes are skipped unread (when they are not already buffered).
   */
  async next(wantPayload: (peek: RecordPeek, offset: number) => boolean): Promise<CursorStep> {
    const offset = this.pos
    if (offset >= this.end) return { kind: 'end' }
    if (!(await this.fill(RECORD_HEADER_BYTES)))
      return { kind: 'invalid', offset, reason: 'truncated record header' }
    const head = this.view(offset, RECORD_HEADER_BYTES)
    const dv = new DataView(head.buffer, head.byteOffset, RECORD_HEADER_BYTES)
    const length = dv.getUint32(0, true)
    const crc = dv.getUint32(4, true)
    if (length === 0 || length > MAX_RECORD_PAYLOAD)
      return { kind: 'invalid', offset, reason: `implausible record length ${length}` }
    const size = RECORD_HEADER_BYTES + length
    if (offset + size > this.end)
      return { kind: 'invalid', offset, reason: `record of ${size} bytes runs past the end` }
    const peekLength = Math.min(length, PEEK_BYTES)
    if (!(await this.fill(RECORD_HEADER_BYTES + peekLength)))
      return { kind: 'invalid', offset, reason: 'file shorter than its size' }
    const peeked = peekRecord(this.view(offset + RECORD_HEADER_BYTES, peekLength), length)
    if (!peeked.ok) return { kind: 'invalid', offset, reason: peeked.reason }
    if (!wantPayload(peeked.peek, offset)) {
      this.pos = offset + size
      return { kind: 'record', offset, size, peek: peeked.peek }
    }
    if (!(await this.fill(size)))
      return { kind: 'invalid', offset, reason: 'file shorter than its size' }
    const payload = this.view(offset + RECORD_HEADER_BYTES, length)
    if (!checksumMatches(payload, crc))
      return { kind: 'invalid', offset, reason: 'checksum mismatch' }
    this.pos = offset + size
    return { kind: 'record', offset, size, peek: peeked.peek, payload }
  }
}

/** Sparse index of a segment: lastSeq and offset of batch records, about one per interval. */
export interface SegmentIndex {
  seqs: number[]
  offsets: number[]
}

export function addIndexPoint(index: SegmentIndex, lastSeq: number, offset: number): void {
  const n = index.offsets.length
  if (n === 0 || offset - index.offsets[n - 1]! >= INDEX_INTERVAL_BYTES) {
    index.seqs.push(lastSeq)
    index.offsets.push(offset)
  }
}

/** Offset to start reading for batches with lastSeq >= fromSeq. */
export function startOffset(index: SegmentIndex, fromSeq: number): number {
  // the last point whose batch ends before fromSeq: reading starts there and skips it
  let lo = 0
  let hi = index.seqs.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (index.seqs[mid]! < fromSeq) lo = mid + 1
    else hi = mid
  }
  return lo === 0 ? 0 : index.offsets[lo - 1]!
}

/** Whether a record may follow a chain whose head is `head` (at `offset` in its segment). */
export function chainError(peek: RecordPeek, head: number, offset: number): string | undefined {
  switch (peek.type) {
    case 'batch':
      if (peek.lastSeq <= head) return `batch ${peek.firstSeq}-${peek.lastSeq} after head ${head}`
      if (peek.firstSeq > head + 1)
        return `batch ${peek.firstSeq}-${peek.lastSeq} leaves a gap after ${head}`
      return undefined
    case 'advance':
      return peek.through <= head ? `advance to ${peek.through} after head ${head}` : undefined
    case 'restart':
      return offset === 0 && peek.start === head + 1 ? undefined : 'misplaced restart record'
  }
}

export interface ScanResult {
  index: SegmentIndex
  /** Head after the last valid record (start - 1 when there is none). */
  head: number
  /** Bytes of valid records from the start of the file. */
  validBytes: number
  /** The first invalid record, if any (the segment should end before it). */
  invalid?: { offset: number; reason: string }
}

/**
 * Scans a segment that starts at sequence `start`: reads record and batch
 * headers only, except that records at or after `verifyFrom` are read whole
 * and checksummed. Stops at the first record that is damaged or does not
 * extend the chain.
 */
export async function scanSegment(
  fh: FileHandle,
  start: number,
  size: number,
  verifyFrom = Number.POSITIVE_INFINITY,
): Promise<ScanResult> {
  const cursor = new SegmentCursor(fh, 0, size)
  const index: SegmentIndex = { seqs: [], offsets: [] }
  let head = start - 1
  for (;;) {
    const step = await cursor.next((_peek, offset) => offset >= verifyFrom)
    if (step.kind === 'end') return { index, head, validBytes: size }
    if (step.kind === 'invalid') return { index, head, validBytes: step.offset, invalid: step }
    const bad = chainError(step.peek, head, step.offset)
    if (bad)
      return { index, head, validBytes: step.offset, invalid: { offset: step.offset, reason: bad } }
    const p = step.peek
    if (p.type === 'batch') {
      addIndexPoint(index, p.lastSeq, step.offset)
      head = p.lastSeq
    } else if (p.type === 'advance') head = p.through
  }
}

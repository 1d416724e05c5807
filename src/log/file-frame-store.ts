/**
 * A FrameStore on disk, so a node keeps serving a log's history (as its
 * author or as a forwarder) after a restart. Same semantics as
 * MemoryFrameStore; see file-layout.ts for the layout, segment-format.ts for
 * records and segment-recovery.ts for what happens at open.
 *
 * - Writes: one writer per log (operations are serialised), append-only to
 *   the newest segment, which is rolled at `segmentBytes`. `append` resolves
 *   once the record is written to the file. With `fsync: 'never'` (default)
 *   it may still sit in the OS page cache: a power loss can lose the newest
 *   records, which is harmless because this is a cache (a forwarder fetches
 *   them again, an author re-signs from its source). A process crash loses
 *   nothing that was acknowledged. `fsync: 'batch'` syncs every record.
 * - Reads: the last `tailCacheBytes` of batches are kept in memory for live
 *   sessions; older batches stream from disk with bounded memory, starting
 *   from a sparse index point, and every record read from disk is
 *   checksummed. A damaged record is never served: the read fails with
 *   FRAME_STORE_CORRUPT and `low` is raised past the damaged segment, so
 *   requesters fetch that history elsewhere.
 * - Retention: when the segments exceed `maxBytes`, the oldest whole
 *   segments are deleted and `low` is raised (a segment being read is
 *   deleted when its last reader is done).
 */
import { writeSync } from 'node:fs'
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises'
import type { Logger } from 'pino'
import { concatBytes } from '../core/codec.js'
import { RhioError } from '../errors/index.js'
import { SerialQueue } from '../util/lock.js'
import { HeadSignal, type FrameStore, type LogInfo, type StoredBatch } from './frame-store.js'
import { logDirOf, syncDir, writeFileAtomic } from './file-layout.js'
import type { FrameStoreFactory } from './registry.js'
import {
  SegmentCursor,
  addIndexPoint,
  scanSegment,
  startOffset,
  type SegmentIndex,
} from './segment-cursor.js'
import {
  decodeBatchPayload,
  encodeAdvanceRecord,
  encodeBatchRecord,
  encodeRestartRecord,
} from './segment-format.js'
import { newSegment, recoverLog, type Segment } from './segment-recovery.js'
import { TailCache } from './tail-cache.js'

const MiB = 1024 * 1024

export type FsyncMode = 'never' | 'batch'

/**
 * Records up to this size are written with a synchronous write(2): into the
 * page cache that takes 1–2 µs, against ~30 µs for a thread-pool round trip
 * (measured: ~700k vs ~30k small writes/s), and appends of small batches are
 * the live path. Larger records go through the thread pool so that a big
 * batch never holds the event loop for long.
 */
const SYNC_WRITE_MAX_BYTES = 64 * 1024

export const FILE_FRAME_STORE_DEFAULTS = {
  /** Per log: a few hours of a busy subject, bounded so many logs fit on one disk. */
  maxBytes: 1024 * MiB,
  /** Retention granularity; also the most a catch-up scan of a sealed segment reads. */
  segmentBytes: 64 * MiB,
  /** Several seconds of live traffic: live sessions read right behind the head. */
  tailCacheBytes: 4 * MiB,
  /** Where a crash tears writes: records here are checksummed at open. */
  verifyTailBytes: 1 * MiB,
  /** Smallest segment, so that a tiny maxBytes does not mean a file per record. */
  minSegmentBytes: 4096,
} as const

export interface FileFrameStoreInit {
  /** The log's directory (see logDirOf). */
  dir: string
  info: LogInfo
  maxBytes?: number
  /** Capped at maxBytes / 4 so that retention keeps most of the budget. */
  segmentBytes?: number
  tailCacheBytes?: number
  fsync?: FsyncMode
  logger?: Logger
}

interface Written {
  seg: Segment
  /** Where the record starts in the segment file. */
  offset: number
}

export interface FileFrameStoreStats {
  /** Bytes of live segments. */
  bytes: number
  segments: number
  cachedBatches: number
}

export class FileFrameStore implements FrameStore {
  readonly dir: string
  private writer: FileHandle | undefined
  private readonly signal = new HeadSignal()
  private readonly cache: TailCache
  /** Appends, advances, restarts and close run one at a time. */
  private readonly lock = new SerialQueue()
  private closing: Promise<void> | undefined
  private failure: RhioError | undefined
  /** Changes when the stored chain is replaced (restart). */
  private generation = 0
  private unlinking: Promise<void> = Promise.resolve()
  private readonly maxBytes: number
  private readonly segmentBytes: number
  private readonly sync: boolean
  private readonly logger: Logger | undefined

  private constructor(
    readonly info: LogInfo,
    init: FileFrameStoreInit,
    private segments: Segment[],
    private _low: number,
    private _head: number,
  ) {
    const d = FILE_FRAME_STORE_DEFAULTS
    this.dir = init.dir
    this.maxBytes = init.maxBytes ?? d.maxBytes
    this.segmentBytes = Math.max(
      d.minSegmentBytes,
      Math.min(init.segmentBytes ?? d.segmentBytes, Math.floor(this.maxBytes / 4)),
    )
    this.sync = init.fsync === 'batch'
    this.logger = init.logger
    this.cache = new TailCache(init.tailCacheBytes ?? d.tailCacheBytes, _head + 1)
  }

  static async open(init: FileFrameStoreInit): Promise<FileFrameStore> {
    try {
      await mkdir(init.dir, { recursive: true })
      const r = await recoverLog({
        dir: init.dir,
        info: init.info,
        verifyTailBytes: FILE_FRAME_STORE_DEFAULTS.verifyTailBytes,
        sync: init.fsync === 'batch',
        logger: init.logger,
      })
      const store = new FileFrameStore(init.info, init, r.segments, r.low, r.head)
      store.retain()
      return store
    } catch (err) {
      throw new RhioError('FRAME_STORE_OPEN_FAILED', `cannot open the frame store in ${init.dir}`, {
        cause: err,
      })
    }
  }

  get low(): number {
    return this._low
  }

  get head(): number {
    return this._head
  }

  stats(): FileFrameStoreStats {
    return {
      bytes: this.segments.reduce((n, s) => n + s.size, 0),
      segments: this.segments.length,
      cachedBatches: this.cache.size,
    }
  }

  append(stored: StoredBatch): Promise<void> {
    return this.exclusive(async () => {
      this.checkWritable()
      const h = stored.batch.header
      if (h.lastSeq <= this._head) return
      const rec = encodeBatchRecord(stored)
      const restart = h.firstSeq > this._head + 1
      const at = restart ? await this.writeRestart(h.firstSeq, rec) : await this.write(rec)
      // from here on synchronous: readers see the record, head and cache change together
      if (restart) this.replaceChain(at.seg)
      this.commit(at, rec.length, h.lastSeq)
      addIndexPoint(at.seg.index!, h.lastSeq, at.offset)
      this.cache.push(stored, rec.length)
      this.retain()
      this.signal.notify(this._head)
    })
  }

  advance(through: number): Promise<void> {
    return this.exclusive(async () => {
      this.checkWritable()
      if (through <= this._head) return
      const rec = encodeAdvanceRecord(through)
      this.commit(await this.write(rec), rec.length, through)
      this.retain()
      this.signal.notify(this._head)
    })
  }

  async *read(fromSeq: number): AsyncIterable<StoredBatch> {
    const cached = this.cache.slice(fromSeq)
    if (cached) {
      for (const b of cached) yield b
      return
    }
    yield* this.readFromDisk(fromSeq)
  }

  waitForHead(seq: number, signal: AbortSignal): Promise<void> {
    return this.signal.wait(seq, this._head, signal)
  }

  close(): Promise<void> {
    this.closing ??= this.exclusive(async () => {
      this.failure ??= new RhioError('FRAME_STORE_CLOSED', `frame store ${this.dir} is closed`)
      await this.writer?.close()
      this.writer = undefined
    }).finally(() => this.signal.releaseAll())
    return this.closing.then(() => this.unlinking)
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(fn)
  }

  private checkWritable(): void {
    if (this.failure) throw this.failure
  }

  /** Writes a record at the end of the newest segment (rolling it when full). */
  private async write(rec: Uint8Array): Promise<Written> {
    let seg = this.segments[this.segments.length - 1]
    if (!seg || (seg.size > 0 && seg.size + rec.length > this.segmentBytes)) seg = await this.roll()
    const offset = seg.size
    try {
      this.writer ??= await open(seg.path, 'a')
      const fh = this.writer
      if (rec.length <= SYNC_WRITE_MAX_BYTES) {
        for (let done = 0; done < rec.length;)
          done += writeSync(fh.fd, rec, done, rec.length - done)
      } else {
        for (let done = 0; done < rec.length;)
          done += (await fh.write(rec, done, rec.length - done)).bytesWritten
      }
      if (this.sync) await fh.datasync()
    } catch (err) {
      await this.undoPartialWrite(seg, offset)
      throw new RhioError('FRAME_STORE_WRITE_FAILED', `cannot write to ${seg.path}`, { cause: err })
    }
    return { seg, offset }
  }

  /** Makes a written record part of the store. */
  private commit(at: Written, length: number, head: number): void {
    at.seg.size = at.offset + length
    at.seg.end = head
    this._head = head
  }

  /** A partial record must not stay in front of the next one. */
  private async undoPartialWrite(seg: Segment, offset: number): Promise<void> {
    try {
      if (this.writer) await this.writer.truncate(offset)
    } catch (err) {
      this.failure = new RhioError(
        'FRAME_STORE_WRITE_FAILED',
        `cannot truncate ${seg.path} after a failed write; the store refuses further writes`,
        { cause: err },
      )
    }
  }

  /** Starts a new segment at head + 1. */
  private async roll(): Promise<Segment> {
    await this.writer?.close()
    this.writer = undefined
    const seg = newSegment(this.dir, this._head + 1)
    seg.index = { seqs: [], offsets: [] }
    try {
      this.writer = await open(seg.path, 'ax')
      if (this.sync) await syncDir(this.dir)
    } catch (err) {
      throw new RhioError('FRAME_STORE_WRITE_FAILED', `cannot create ${seg.path}`, { cause: err })
    }
    this.segments.push(seg)
    return seg
  }

  /**
   * An append that cannot extend the stored chain replaces it: a new segment
   * starting with a restart record (written to a temporary file, synced and
   * renamed, so that it appears complete or not at all), then the old
   * segments are deleted (replaceChain).
   */
  private async writeRestart(start: number, rec: Uint8Array): Promise<Written> {
    const seg = newSegment(this.dir, start)
    const marker = encodeRestartRecord(start)
    try {
      await writeFileAtomic(seg.path, concatBytes([marker, rec]), true)
      if (this.sync) await syncDir(this.dir)
      await this.writer?.close()
    } catch (err) {
      throw new RhioError('FRAME_STORE_WRITE_FAILED', `cannot create ${seg.path}`, { cause: err })
    }
    this.writer = undefined
    seg.index = { seqs: [], offsets: [] }
    seg.size = marker.length
    return { seg, offset: marker.length }
  }

  private replaceChain(seg: Segment): void {
    for (const old of this.segments) this.drop(old)
    this.segments = [seg]
    this._low = seg.start
    this.generation++
    this.cache.clear(0)
  }

  /** Deletes the oldest whole segments while over budget (never the newest). */
  private retain(): void {
    let bytes = this.segments.reduce((n, s) => n + s.size, 0)
    let dropped = false
    while (bytes > this.maxBytes && this.segments.length > 1) {
      const old = this.segments.shift()!
      bytes -= old.size
      this.drop(old)
      dropped = true
    }
    if (!dropped) return
    this._low = this.segments[0]!.start
    this.cache.dropBelow(this._low)
  }

  private drop(seg: Segment): void {
    seg.dropped = true
    if (seg.pins === 0) this.unlink(seg)
  }

  /** Deletes in drop order, so a crash leaves the newer segments (a consistent chain). */
  private unlink(seg: Segment): void {
    this.unlinking = this.unlinking.then(() =>
      rm(seg.path, { force: true }).catch((err: unknown) => {
        this.logger?.warn({ err, segment: seg.path }, 'cannot delete a dropped frame store segment')
      }),
    )
  }

  private unpin(seg: Segment): void {
    if (--seg.pins === 0 && seg.dropped) this.unlink(seg)
  }

  /**
   * Reacts to a damaged record: logs it once, drops the segment and all older
   * ones (rolling first if it is the newest) so that `low` moves past it, and
   * returns the error for the reader.
   */
  private async corrupt(seg: Segment, offset: number, reason: string): Promise<RhioError> {
    const err = new RhioError(
      'FRAME_STORE_CORRUPT',
      `damaged record in ${seg.path} at byte ${offset}: ${reason}`,
    )
    await this.exclusive(async () => {
      const k = this.segments.indexOf(seg)
      if (k < 0 || this.failure) return
      this.logger?.error(
        { segment: seg.path, offset, reason },
        'frame store segment is damaged: dropping it and older history (requesters fetch it elsewhere)',
      )
      if (k === this.segments.length - 1) await this.roll()
      for (const old of this.segments.splice(0, k + 1)) this.drop(old)
      this._low = this.segments[0]!.start
      this.cache.dropBelow(this._low)
    })
    return err
  }

  private indexOf(seg: Segment): Promise<SegmentIndex> {
    if (seg.index) return Promise.resolve(seg.index)
    seg.indexing ??= this.buildIndex(seg).catch((err: unknown) => {
      seg.indexing = undefined
      throw err
    })
    return seg.indexing
  }

  /** Scans a sealed segment: checks its records and that they reach its end, and indexes it. */
  private async buildIndex(seg: Segment): Promise<SegmentIndex> {
    const fh = await this.openSegment(seg)
    try {
      const scan = await scanSegment(fh, seg.start, seg.size)
      if (scan.invalid) throw await this.corrupt(seg, scan.invalid.offset, scan.invalid.reason)
      if (scan.head !== seg.end)
        throw await this.corrupt(seg, seg.size, `records end at ${scan.head}, expected ${seg.end}`)
      seg.index = scan.index
      return scan.index
    } finally {
      await fh.close()
    }
  }

  private async openSegment(seg: Segment): Promise<FileHandle> {
    try {
      return await open(seg.path, 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw await this.corrupt(seg, 0, 'segment file is missing')
      throw new RhioError('FRAME_STORE_READ_FAILED', `cannot open ${seg.path}`, { cause: err })
    }
  }

  /**
   * Streams batches with lastSeq >= fromSeq from the segments as they are now
   * (pinned, so retention cannot delete them under the reader), switching to
   * the tail cache as soon as it holds the rest.
   */
  private async *readFromDisk(fromSeq: number): AsyncGenerator<StoredBatch> {
    const generation = this.generation
    const plan = this.segments.filter((s) => s.end >= fromSeq)
    const sizes = plan.map((s) => s.size)
    const ends = plan.map((s) => s.end)
    for (const s of plan) s.pins++
    let next = fromSeq
    let released = 0
    let rest: StoredBatch[] | undefined
    try {
      for (let i = 0; i < plan.length && !rest; i++) {
        const seg = plan[i]!
        const offset = i === 0 ? startOffset(await this.indexOf(seg), next) : 0
        const fh = await this.openSegment(seg)
        try {
          const cursor = new SegmentCursor(fh, offset, sizes[i]!)
          let covered = seg.start - 1
          for (;;) {
            if (generation === this.generation && (rest = this.cache.slice(next))) break
            const step = await cursor.next((p) => p.type === 'batch' && p.lastSeq >= next)
            if (step.kind === 'end') break
            if (step.kind === 'invalid') throw await this.corrupt(seg, step.offset, step.reason)
            const p = step.peek
            covered = Math.max(
              covered,
              p.type === 'batch' ? p.lastSeq : p.type === 'advance' ? p.through : 0,
            )
            if (!step.payload) continue
            let stored: StoredBatch
            try {
              stored = decodeBatchPayload(step.payload)
            } catch (err) {
              throw await this.corrupt(seg, step.offset, (err as Error).message)
            }
            next = stored.batch.header.lastSeq + 1
            yield stored
          }
          if (!rest && covered !== ends[i])
            throw await this.corrupt(
              seg,
              sizes[i]!,
              `records end at ${covered}, expected ${ends[i]}`,
            )
        } finally {
          await fh.close()
        }
        this.unpin(seg)
        released = i + 1
      }
    } finally {
      for (let i = released; i < plan.length; i++) this.unpin(plan[i]!)
    }
    if (rest) for (const b of rest) yield b
  }
}

export interface FileFrameStoresInit {
  /** Directory under which each log gets its own (e.g. `<data_dir>/logs`). */
  root: string
  maxBytesPerLog?: number
  segmentBytes?: number
  tailCacheBytes?: number
  fsync?: FsyncMode
  logger?: Logger
}

/** A FrameStoreFactory keeping every log under `root` (see file-layout.ts). */
export function fileFrameStores(init: FileFrameStoresInit): FrameStoreFactory {
  return (info) =>
    FileFrameStore.open({
      dir: logDirOf(init.root, info),
      info,
      ...(init.maxBytesPerLog !== undefined ? { maxBytes: init.maxBytesPerLog } : {}),
      ...(init.segmentBytes !== undefined ? { segmentBytes: init.segmentBytes } : {}),
      ...(init.tailCacheBytes !== undefined ? { tailCacheBytes: init.tailCacheBytes } : {}),
      ...(init.fsync !== undefined ? { fsync: init.fsync } : {}),
      ...(init.logger ? { logger: init.logger.child({ log: info.logId }) } : {}),
    })
}

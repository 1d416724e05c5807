/**
 * Data access for the encoder: which byte spans a response reads, a reader that walks them in
 * order (one `readData` call per span), and fixed-size output chunks.
 */
import { concatBytes } from '../util/bytes.js'
import { CHUNK_LEN } from './blake3-core.js'
import { BlobLocalDataError } from './errors.js'

/** Reads `length` bytes of the blob from `offset`, as one stream (e.g. one S3 ranged GET). */
export type ReadData = (
  offset: number,
  length: number,
  opts: { readonly signal?: AbortSignal },
) => AsyncIterable<Uint8Array>

const EMPTY = new Uint8Array(0)

export interface Span {
  readonly start: number
  readonly end: number
}

/** Byte spans of the chunk groups a response touches, merged where adjacent. */
export function dataSpans(size: number, bs: readonly number[], blockLog: number): Span[] {
  if (size === 0 || bs.length === 0) return []
  const chunks = Math.ceil(size / CHUNK_LEN)
  const gc = 2 ** blockLog
  const groups = Math.ceil(chunks / gc)
  const out: Span[] = []
  for (let i = 0; i < bs.length; i += 2) {
    const a = bs[i]!
    const b = bs[i + 1] ?? Infinity
    const g0 = a >= chunks ? groups - 1 : Math.floor(a / gc)
    const g1 = a >= chunks ? groups : Math.ceil(Math.min(b, chunks) / gc)
    const last = out[out.length - 1]
    const start = g0 * gc * CHUNK_LEN
    const end = Math.min(size, g1 * gc * CHUNK_LEN)
    if (last !== undefined && start <= last.end) out[out.length - 1] = { start: last.start, end }
    else out.push({ start, end })
  }
  return out
}

/** Delivers the data of the selected groups in order, one readData call per span. */
export class GroupReader {
  readonly #spans: Span[]
  readonly #read: ReadData
  readonly #signal: AbortSignal | undefined
  #span = -1
  #it: AsyncIterator<Uint8Array> | undefined
  #carry: Uint8Array = new Uint8Array(0)
  #pos = 0

  constructor(spans: Span[], read: ReadData, signal: AbortSignal | undefined) {
    this.#spans = spans
    this.#read = read
    this.#signal = signal
  }

  /** Bytes [start, end) if they are already buffered (no await needed), else undefined. */
  tryBytes(start: number, end: number): Uint8Array | undefined {
    if (start === end) return EMPTY
    const span = this.#spans[this.#span]
    const want = end - start
    if (span === undefined || start !== this.#pos || end > span.end || this.#carry.length < want) {
      return undefined
    }
    const out = this.#carry.subarray(0, want)
    this.#carry = this.#carry.subarray(want)
    this.#pos = end
    return out
  }

  /** Bytes [start, end) of the blob; calls must go forward through the spans. */
  async bytes(start: number, end: number): Promise<Uint8Array> {
    if (start === end) return EMPTY
    if (this.#span < 0 || start >= this.#spans[this.#span]!.end) await this.#nextSpan(start)
    if (start !== this.#pos)
      throw new RangeError(`GroupReader: expected offset ${this.#pos}, got ${start}`)
    const want = end - start
    let piece = this.#carry
    if (piece.length === 0) piece = await this.#pull(start)
    if (piece.length >= want) {
      this.#carry = piece.subarray(want)
      this.#pos = end
      return piece.subarray(0, want)
    }
    const out = new Uint8Array(want)
    let filled = 0
    for (;;) {
      const n = Math.min(piece.length, want - filled)
      out.set(piece.subarray(0, n), filled)
      filled += n
      if (filled === want) {
        this.#carry = piece.subarray(n)
        break
      }
      piece = await this.#pull(start + filled)
    }
    this.#pos = end
    return out
  }

  async #pull(at: number): Promise<Uint8Array> {
    for (;;) {
      const r = await this.#it!.next()
      if (r.done === true) throw new BlobLocalDataError('data-short', at, 'data reader ended early')
      if (r.value.length > 0) return r.value
    }
  }

  async #nextSpan(start: number): Promise<void> {
    await this.close()
    while (++this.#span < this.#spans.length && this.#spans[this.#span]!.end <= start);
    const span = this.#spans[this.#span]
    if (span === undefined || span.start > start) {
      throw new RangeError(`GroupReader: offset ${start} is outside the planned spans`)
    }
    const opts = this.#signal === undefined ? {} : { signal: this.#signal }
    this.#it = this.#read(span.start, span.end - span.start, opts)[Symbol.asyncIterator]()
    this.#pos = span.start
  }

  /** Stops reading (after an error or early return); never throws. */
  async cancel(): Promise<void> {
    const it = this.#it
    this.#it = undefined
    try {
      await it?.return?.()
    } catch {
      // the reader failing to stop adds nothing to the error being handled
    }
  }

  /** Ends the current span, checking that the reader delivered no more than asked. */
  async close(): Promise<void> {
    const it = this.#it
    if (it === undefined) return
    this.#it = undefined
    const extra = this.#carry.length > 0 ? this.#carry.length : 0
    this.#carry = new Uint8Array(0)
    if (extra > 0) {
      await it.return?.()
      throw new BlobLocalDataError('data-long', this.#pos, 'data reader returned extra bytes')
    }
    const r = await it.next()
    if (r.done !== true) {
      await it.return?.()
      if (r.value.length > 0) {
        throw new BlobLocalDataError('data-long', this.#pos, 'data reader returned extra bytes')
      }
    }
  }
}

/**
 * Collects output into pieces of at most `size` bytes, each a list of views of the written
 * arrays (no copy): callers must not change an array after writing it.
 */
export class PieceOutput {
  readonly #size: number
  #views: Uint8Array[] = []
  #len = 0
  readonly ready: Uint8Array[][] = []

  constructor(size: number) {
    this.#size = size
  }

  write(bytes: Uint8Array): void {
    let off = 0
    while (off < bytes.length) {
      const n = Math.min(this.#size - this.#len, bytes.length - off)
      this.#views.push(n === bytes.length ? bytes : bytes.subarray(off, off + n))
      this.#len += n
      off += n
      if (this.#len === this.#size) this.#cut()
    }
  }

  flush(): void {
    if (this.#len > 0) this.#cut()
  }

  #cut(): void {
    this.ready.push(this.#views)
    this.#views = []
    this.#len = 0
  }
}

/** The bytes of a piece as one array (a copy unless the piece is a single view). */
export function joinPiece(views: readonly Uint8Array[]): Uint8Array {
  return views.length === 1 ? views[0]! : concatBytes(views)
}

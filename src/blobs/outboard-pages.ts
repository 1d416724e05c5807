/**
 * The provider's view of outboards (`.rhio/<key>.rhio.bao4`): read from the object store in
 * pages (one ranged GET each) and kept in an LRU bounded by bytes, so a blob of any size is
 * served with bounded memory and a popular one without re-reading its outboard. Pages are keyed
 * by location *and* hash: an overwritten object's new outboard never mixes with cached pages of
 * the old one (and encodeRanges validates every pair anyway).
 */
import { hashToHex, outboardSize, type BlobHash, type ReadOutboard } from '../bao/index.js'
import type { ObjectStore } from '../store/index.js'
import { outboardKey } from '../store/layout.js'
import { OUTBOARD_CACHE_BYTES, OUTBOARD_PAGE_BYTES } from './constants.js'
import type { BlobLocation } from './types.js'

export interface OutboardPagesOptions {
  maxBytes?: number
  /** A multiple of 64 (whole pairs per page). */
  pageBytes?: number
}

export class OutboardPages {
  readonly #store: ObjectStore
  readonly #maxBytes: number
  readonly #pageBytes: number
  readonly #pages = new Map<string, Uint8Array>()
  readonly #loading = new Map<string, Promise<Uint8Array>>()
  #bytes = 0
  /** Pages read from the store (for tests and logs). */
  loads = 0

  constructor(store: ObjectStore, opts: OutboardPagesOptions = {}) {
    this.#store = store
    this.#maxBytes = opts.maxBytes ?? OUTBOARD_CACHE_BYTES
    this.#pageBytes = opts.pageBytes ?? OUTBOARD_PAGE_BYTES
    if (this.#pageBytes <= 0 || this.#pageBytes % 64 !== 0) {
      throw new RangeError('outboard page size must be a positive multiple of 64')
    }
  }

  /** Bytes held in the cache. */
  get bytes(): number {
    return this.#bytes
  }

  /** Random access to the outboard of `hash` at `loc`, for encodeRanges. */
  reader(hash: BlobHash, loc: BlobLocation): ReadOutboard {
    const prefix = `${loc.bucket}\0${loc.key}\0${hashToHex(hash)}\0`
    const total = outboardSize(loc.size)
    return (offset, length) => {
      const page = Math.floor(offset / this.#pageBytes)
      const at = offset - page * this.#pageBytes
      const id = prefix + page
      const cached = this.#pages.get(id)
      if (cached !== undefined) {
        this.#pages.delete(id) // most recently used goes last
        this.#pages.set(id, cached)
        return cached.subarray(at, at + length)
      }
      const start = page * this.#pageBytes
      const end = Math.min(start + this.#pageBytes, total)
      if (start >= end) return new Uint8Array(0)
      return this.#load(id, loc, start, end).then((p) => p.subarray(at, at + length))
    }
  }

  /** Forgets every cached page of (bucket, key). */
  invalidate(bucket: string, key: string): void {
    const prefix = `${bucket}\0${key}\0`
    for (const [id, page] of this.#pages) {
      if (!id.startsWith(prefix)) continue
      this.#pages.delete(id)
      this.#bytes -= page.length
    }
  }

  /** One shared read per page (no abort signal: a page is small and other requests may wait on it). */
  #load(id: string, loc: BlobLocation, start: number, end: number): Promise<Uint8Array> {
    let p = this.#loading.get(id)
    if (p === undefined) {
      p = this.#read(loc, start, end).finally(() => this.#loading.delete(id))
      this.#loading.set(id, p)
      p.then(
        (page) => this.#insert(id, page),
        () => {},
      )
    }
    return p
  }

  async #read(loc: BlobLocation, start: number, end: number): Promise<Uint8Array> {
    this.loads++
    const r = await this.#store.get(loc.bucket, outboardKey(loc.key), { start, end })
    const out = new Uint8Array(r.end - r.start)
    let filled = 0
    for await (const chunk of r.body as AsyncIterable<Uint8Array>) {
      const n = Math.min(chunk.length, out.length - filled)
      out.set(chunk.subarray(0, n), filled)
      filled += n
    }
    return out.subarray(0, filled)
  }

  #insert(id: string, page: Uint8Array): void {
    if (page.length > this.#maxBytes || this.#pages.has(id)) return
    this.#pages.set(id, page)
    this.#bytes += page.length
    for (const [old, p] of this.#pages) {
      if (this.#bytes <= this.#maxBytes) break
      this.#pages.delete(old)
      this.#bytes -= p.length
    }
  }
}

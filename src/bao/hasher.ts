/**
 * Plain BLAKE3 hashing (32-byte output) of inputs of any size, on the fastest backend.
 * Blob ids, message ids and topic ids all use this.
 */
import type { Blake3Backend } from './backend.js'
import { CHUNK_LEN } from './blake3-core.js'
import { defaultBlake3Backend } from './wasm-backend.js'
import { concatBytes } from '../util/bytes.js'

/** Bytes hashed per backend call: a power-of-two number of chunks. */
const BATCH = 64 * CHUNK_LEN
const BATCH_CHUNKS = BATCH / CHUNK_LEN

export interface HasherOptions {
  readonly backend?: Blake3Backend
}

/**
 * Incremental BLAKE3. Input is hashed in 64 KiB subtrees whose chaining values are merged on a
 * stack; a subtree is only hashed once more input follows it, so the last one can take the
 * ROOT flag (or the whole input, when it is small) at `digest()`.
 */
export class Blake3Hasher {
  readonly #backend: Blake3Backend
  readonly #buf = new Uint8Array(BATCH)
  #bufLen = 0
  #batches = 0
  // CV stack; entry i at [32i, 32i+32), so the top two entries form a contiguous pair.
  readonly #stack = new Uint8Array(64 * 32)
  #depth = 0

  constructor(opts: HasherOptions = {}) {
    this.#backend = opts.backend ?? defaultBlake3Backend()
  }

  update(data: Uint8Array): this {
    let off = 0
    while (off < data.length) {
      if (this.#bufLen === BATCH) {
        this.#commit(this.#buf)
        this.#bufLen = 0
      }
      if (this.#bufLen === 0 && data.length - off > BATCH) {
        // Hash whole batches straight from the input, keeping at least one byte back.
        const whole = Math.floor((data.length - off - 1) / BATCH)
        for (let i = 0; i < whole; i++, off += BATCH) this.#commit(data.subarray(off, off + BATCH))
        continue
      }
      const n = Math.min(BATCH - this.#bufLen, data.length - off)
      this.#buf.set(data.subarray(off, off + n), this.#bufLen)
      this.#bufLen += n
      off += n
    }
    return this
  }

  /** The 32-byte hash of everything passed to `update` so far; the hasher stays usable. */
  digest(): Uint8Array {
    const tail = this.#buf.subarray(0, this.#bufLen)
    if (this.#batches === 0) return this.#backend.subtreeCv(tail, 0, true)
    const work = this.#stack.slice(0, (this.#depth + 1) * 32)
    work.set(this.#backend.subtreeCv(tail, this.#batches * BATCH_CHUNKS, false), this.#depth * 32)
    for (let i = this.#depth - 1; i >= 0; i--) {
      this.#backend.parentCv(work, i * 32, i === 0, work, i * 32)
    }
    return work.slice(0, 32)
  }

  reset(): this {
    this.#bufLen = 0
    this.#batches = 0
    this.#depth = 0
    return this
  }

  #commit(batch: Uint8Array): void {
    const cv = this.#backend.subtreeCv(batch, this.#batches * BATCH_CHUNKS, false)
    this.#stack.set(cv, this.#depth * 32)
    let total = ++this.#batches
    while (total % 2 === 0) {
      this.#depth--
      this.#backend.parentCv(this.#stack, this.#depth * 32, false, this.#stack, this.#depth * 32)
      total /= 2
    }
    this.#depth++
  }
}

/** BLAKE3 hash (32 bytes) of the concatenation of `parts`. */
export function blake3Parts(parts: readonly Uint8Array[], opts: HasherOptions = {}): Uint8Array {
  const backend = opts.backend ?? defaultBlake3Backend()
  let total = 0
  for (const p of parts) total += p.length
  if (total <= BATCH) {
    const direct = backend.hashParts?.(parts, total)
    if (direct !== undefined) return direct
    return backend.subtreeCv(concatBytes(parts), 0, true)
  }
  const h = new Blake3Hasher({ backend })
  for (const p of parts) h.update(p)
  return h.digest()
}

/** BLAKE3 hash (32 bytes) of `data`. */
export function blake3(data: Uint8Array, opts: HasherOptions = {}): Uint8Array {
  const backend = opts.backend ?? defaultBlake3Backend()
  if (data.length <= BATCH) return backend.subtreeCv(data, 0, true)
  return new Blake3Hasher({ backend }).update(data).digest()
}

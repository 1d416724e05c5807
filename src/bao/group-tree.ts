/**
 * Builds the tree above the chunk groups from the groups' chaining values, fed in order: the
 * root hash and the pre-order outboard (bao-tree `PreOrderOutboard`, no size prefix: byte-equal
 * to rhio's `.rhio.bao4`).
 *
 * While feeding, CVs are merged on a stack as in BLAKE3's incremental hasher (a CV is merged
 * only once the next one arrives, so the top merge can take the ROOT flag), and every pair is
 * kept in in-order position: the pair of the node whose right child starts at group `m` goes to
 * slot `m - 1`. Pre-order offsets depend on the final size, so the pre-order outboard is laid
 * out from those slots at the end. Memory: 64 bytes per group, twice at `finish()`.
 */
import type { Blake3Backend } from './backend.js'
import { OUT_LEN, pow2AtMost } from './blake3-core.js'

const SLOTS_PER_BLOCK = 1024

/** Storage of 64-byte pairs by slot index, in 64 KiB blocks. */
class PairSlots {
  readonly #blocks: Uint32Array[] = []
  readonly #bytes: Uint8Array[] = [] // the same blocks as bytes

  /** Stores `src[at..at+64]`. */
  put(slot: number, src: Uint8Array, at: number): void {
    const b = Math.floor(slot / SLOTS_PER_BLOCK)
    while (this.#blocks.length <= b) {
      const block = new Uint32Array(SLOTS_PER_BLOCK * 16)
      this.#blocks.push(block)
      this.#bytes.push(new Uint8Array(block.buffer))
    }
    this.#bytes[b]!.set(src.subarray(at, at + 64), (slot % SLOTS_PER_BLOCK) * 64)
  }

  /** Copies the pair of `slot` to `out[word..word+16]` (as bytes: a plain copy, no allocation). */
  copyTo(slot: number, out: Uint32Array, word: number): void {
    const block = this.#blocks[Math.floor(slot / SLOTS_PER_BLOCK)]!
    const from = (slot % SLOTS_PER_BLOCK) * 16
    for (let k = 0; k < 16; k++) out[word + k] = block[from + k]!
  }
}

export interface TreeResult {
  /** BLAKE3 hash of the blob. */
  readonly hash: Uint8Array
  /** Pre-order outboard: 64-byte pairs, no size prefix. */
  readonly outboard: Uint8Array
}

export class GroupTreeBuilder {
  readonly #backend: Blake3Backend
  readonly #slots = new PairSlots()
  // Stack of complete subtrees: CV i at [32i, 32i+32) so the top two form a contiguous pair.
  readonly #stack = new Uint8Array(66 * OUT_LEN)
  readonly #spans: number[] = [] // groups covered by each stack entry
  #depth = 0
  #committed = 0
  readonly #pending = new Uint8Array(OUT_LEN)
  #hasPending = false

  constructor(backend: Blake3Backend) {
    this.#backend = backend
  }

  /** Number of group CVs pushed so far. */
  get groups(): number {
    return this.#committed + (this.#hasPending ? 1 : 0)
  }

  /** Appends the (non-root) CV of the next group, read from `cv[offset..offset+32]`. */
  push(cv: Uint8Array, offset = 0): void {
    if (this.#hasPending) this.#commit()
    this.#pending.set(cv.subarray(offset, offset + OUT_LEN))
    this.#hasPending = true
  }

  #commit(): void {
    const stack = this.#stack
    stack.set(this.#pending, this.#depth * OUT_LEN)
    let span = 1
    let total = ++this.#committed
    const end = total // groups covered so far: [0, end)
    while (total % 2 === 0) {
      this.#depth--
      const at = this.#depth * OUT_LEN
      this.#slots.put(end - span - 1, stack, at)
      this.#backend.parentCv(stack, at, false, stack, at)
      this.#spans.pop()
      span *= 2
      total /= 2
    }
    this.#spans.push(span)
    this.#depth++
  }

  /**
   * The root hash and pre-order outboard. With a single group the outboard is empty and the
   * hash is the pushed value itself, which must then be the root hash (a single group's CV in
   * its tree is the root's).
   */
  finish(): TreeResult {
    const steps = this.finishSteps()
    for (;;) {
      const r = steps.next()
      if (r.done === true) return r.value
    }
  }

  /**
   * `finish()` in slices: the generator pauses after laying out every `slice` parents (about
   * 2 ms of work), so an async caller can let the event loop run in between (4 GiB: ~262k).
   */
  *finishSteps(slice = 32768): Generator<void, TreeResult, undefined> {
    if (!this.#hasPending) throw new RangeError('GroupTreeBuilder.finish: no groups pushed')
    const groups = this.groups
    if (groups === 1) return { hash: this.#pending.slice(), outboard: new Uint8Array(0) }
    const work = this.#stack.slice(0, (this.#depth + 1) * OUT_LEN)
    work.set(this.#pending, this.#depth * OUT_LEN)
    let curStart = groups - 1
    for (let i = this.#depth - 1; i >= 0; i--) {
      const at = i * OUT_LEN
      this.#slots.put(curStart - 1, work, at)
      this.#backend.parentCv(work, at, i === 0, work, at)
      curStart -= this.#spans[i]!
    }
    // Pre-order walk over (first group, group count) with an explicit stack.
    const words = new Uint32Array(16 * (groups - 1))
    const todo: number[] = [0, groups]
    for (let pos = 0; todo.length > 0;) {
      const count = todo.pop()!
      const first = todo.pop()!
      if (count === 1) continue
      // a complete subtree splits in half; only the right edge needs the general rule
      const left =
        count < 2 ** 30 && (count & (count - 1)) === 0 ? count / 2 : pow2AtMost(count - 1)
      this.#slots.copyTo(first + left - 1, words, pos)
      pos += 16
      todo.push(first + left, count - left, first, left)
      if ((pos / 16) % slice === 0) yield
    }
    return { hash: work.slice(0, OUT_LEN), outboard: new Uint8Array(words.buffer) }
  }
}

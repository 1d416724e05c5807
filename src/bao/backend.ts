/**
 * The BLAKE3 tree operations bao needs, behind one interface with two implementations: the
 * plain-TS reference (`jsBackend`, always available) and the WASM SIMD fast path
 * (`wasm-backend.ts`). Both produce identical bytes; tests cross-check them.
 */
import { CHUNK_LEN, OUT_LEN, parentCv, subtreeCv } from './blake3-core.js'

export interface Blake3Backend {
  /** Which implementation this is. */
  readonly kind: 'wasm-simd' | 'js'
  /** Why a fallback was chosen, when it was. */
  readonly note: string | undefined
  /**
   * Chaining value of the subtree formed by `data`, whose first chunk has index `startChunk`
   * (a multiple of the subtree's power-of-two chunk span). With `isRoot`: the BLAKE3 hash.
   */
  subtreeCv(data: Uint8Array, startChunk: number, isRoot: boolean): Uint8Array
  /**
   * Non-root chaining values of the consecutive groups of 2^blockLog chunks in `data` (the last
   * group may be short), the first group starting at chunk `startChunk`. Writes 32 bytes per
   * group to `out` from `outOffset`; returns the number of groups.
   */
  groupCvs(
    data: Uint8Array,
    startChunk: number,
    blockLog: number,
    out: Uint8Array,
    outOffset: number,
  ): number
  /**
   * BLAKE3 hash of the concatenation of `parts` (`total` bytes), without joining them first;
   * undefined when the backend cannot (then join and use subtreeCv). For many small inputs,
   * where a joined copy would be an allocation per hash.
   */
  hashParts?(parts: readonly Uint8Array[], total: number): Uint8Array | undefined
  /** Parent chaining value of `pair[pairOffset..+64]` (left CV ‖ right CV), to `out[outOffset..]`. */
  parentCv(
    pair: Uint8Array,
    pairOffset: number,
    isRoot: boolean,
    out: Uint8Array,
    outOffset: number,
  ): void
}

/** Largest supported chunk-group log: groups of up to 1 MiB. */
export const MAX_BLOCK_LOG = 10

export function checkBlockLog(blockLog: number): void {
  if (!Number.isInteger(blockLog) || blockLog < 0 || blockLog > MAX_BLOCK_LOG) {
    throw new RangeError(`blockLog must be an integer in 0..${MAX_BLOCK_LOG}, got ${blockLog}`)
  }
}

/** Number of groups of 2^blockLog chunks that `len` bytes span (at least 1). */
export function groupCount(len: number, blockLog: number): number {
  return len === 0 ? 1 : Math.ceil(len / (CHUNK_LEN << blockLog))
}

function jsGroupCvs(
  data: Uint8Array,
  startChunk: number,
  blockLog: number,
  out: Uint8Array,
  outOffset: number,
): number {
  const groupBytes = CHUNK_LEN << blockLog
  const groups = groupCount(data.length, blockLog)
  for (let g = 0; g < groups; g++) {
    const piece = data.subarray(g * groupBytes, (g + 1) * groupBytes)
    out.set(subtreeCv(piece, startChunk + (g << blockLog), false), outOffset + g * OUT_LEN)
  }
  return groups
}

/** The plain-TypeScript reference backend. Stateless. */
export const jsBackend: Blake3Backend = {
  kind: 'js',
  note: undefined,
  subtreeCv,
  groupCvs: jsGroupCvs,
  parentCv,
}

/** The same reference backend, labelled with the reason the fast path was not used. */
export function jsFallback(note: string): Blake3Backend {
  return { ...jsBackend, note }
}

/**
 * The one list of "interesting sizes" for blob and store tests, each with the
 * reason it is interesting. Use these rather than ad-hoc numbers, and add a
 * size here (with its reason) when a new boundary appears.
 */
export const KiB = 1024
export const MiB = 1024 * KiB

/** BLAKE3 chunk: the unit of the hash tree. */
export const CHUNK = 1 * KiB
/** bao chunk group used by iroh and rhio (chunk_log 4): the unit of verification. */
export const GROUP = 16 * KiB
/** S3's minimum size of every multipart part but the last. */
export const S3_MIN_PART = 5 * MiB
/** The original rhio's multipart part size (16 KiB x 1000); a whole number of groups. */
export const ORIGINAL_PART = 16_384_000

export interface InterestingSize {
  size: number
  why: string
}

export const INTERESTING_SIZES: readonly InterestingSize[] = [
  { size: 0, why: 'empty object: no chunks, empty outboard; the original panicked on it' },
  { size: 1, why: 'smallest non-empty object: one partial chunk' },
  { size: CHUNK - 1, why: 'one byte short of a full BLAKE3 chunk' },
  { size: CHUNK, why: 'exactly one BLAKE3 chunk' },
  { size: CHUNK + 1, why: 'first size with two chunks, so the first with a parent node' },
  { size: GROUP - 1, why: 'one byte short of a chunk group: still no outboard' },
  { size: GROUP, why: 'exactly one chunk group: the largest object with an empty outboard' },
  { size: GROUP + 1, why: 'first size with two groups, so the first with an outboard entry' },
  { size: S3_MIN_PART - 1, why: 'one byte below the S3 minimum part size' },
  { size: S3_MIN_PART, why: 'exactly the S3 minimum part size' },
  { size: S3_MIN_PART + 1, why: 'one byte into a second S3 part' },
  { size: ORIGINAL_PART - 1, why: "one byte short of the original's part size" },
  { size: ORIGINAL_PART, why: "exactly the original's part size" },
  { size: ORIGINAL_PART + 1, why: "one byte into the original's second part" },
  { size: 3 * S3_MIN_PART + 12_345, why: 'several parts and a short last part' },
]

/** The sizes up to `max` bytes (keeps fast tests fast). */
export function sizesUpTo(max: number): InterestingSize[] {
  return INTERESTING_SIZES.filter((s) => s.size <= max)
}

/**
 * Deterministic test content: byte i is (i + seed) mod 251, a prime period so
 * that no chunk, group or part boundary lines up with the pattern and swapped
 * or shifted ranges are detected. `offset` gives the bytes of a larger object
 * starting there.
 */
export function testBytes(size: number, seed = 0, offset = 0): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (offset + i + seed) % 251
  return out
}

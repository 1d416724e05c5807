/**
 * Shared pieces of the fuzz tests: run counts, byte-level mutations of valid
 * encodings (structure-aware inputs), and the "typed errors only" check.
 *
 * Run counts: every fuzz property runs `fuzzRuns()` cases (10 000 by default,
 * what CI runs); `RHIO_FUZZ_RUNS=200000 node scripts/test.mjs fuzz` raises it
 * for runs by hand. `RHIO_FUZZ_SEED` replays a failure fast-check reported.
 * The stream-level fuzzing against a real node (test/integration/
 * p2p-fuzz-streams.test.ts) runs 60 rounds; `RHIO_FUZZ_STREAM_RUNS` raises that.
 */
import fc from 'fast-check'
import { RhioError } from '../../src/errors/index.js'

/** Cases per fuzz property: `base` (10 000 by default), or RHIO_FUZZ_RUNS when set. */
export function fuzzRuns(base = 10_000): number {
  const env = Number(process.env.RHIO_FUZZ_RUNS)
  return Number.isSafeInteger(env) && env > 0 ? env : base
}

/** fast-check parameters for a fuzz property (runs, optional replay seed). */
export function fuzzParams(base?: number): fc.Parameters<unknown> {
  const seed = Number(process.env.RHIO_FUZZ_SEED)
  return {
    numRuns: fuzzRuns(base),
    ...(Number.isSafeInteger(seed) ? { seed } : {}),
  }
}

/**
 * Runs `fn` on peer input: returns its value, or the RhioError it threw.
 * Anything else (TypeError, RangeError, a string...) fails the property with
 * the offending input in the message.
 */
export function typedOnly<T>(fn: () => T, input: unknown): T | RhioError {
  try {
    return fn()
  } catch (err) {
    if (err instanceof RhioError) return err
    throw new Error(
      `untyped ${err instanceof Error ? err.name : typeof err} on input ${show(input)}: ${String(err)}`,
      { cause: err },
    )
  }
}

/** Async variant of `typedOnly`. */
export async function typedOnlyAsync<T>(
  fn: () => Promise<T>,
  input: unknown,
): Promise<T | RhioError> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof RhioError) return err
    throw new Error(
      `untyped ${err instanceof Error ? err.name : typeof err} on input ${show(input)}: ${String(err)}`,
      { cause: err },
    )
  }
}

function show(v: unknown): string {
  if (v instanceof Uint8Array) {
    const hex = Buffer.from(v).toString('hex')
    return hex.length > 400 ? `${hex.slice(0, 400)}… (${v.length} bytes)` : hex
  }
  try {
    const s = JSON.stringify(v)
    return s.length > 400 ? `${s.slice(0, 400)}…` : s
  } catch {
    return String(v)
  }
}

/** One edit of a byte string. */
export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number }
  | { op: 'truncate'; at: number }
  | { op: 'duplicate'; at: number; count: number }
  /** Overwrites with a varint: plausible lengths and counts, huge ones included. */
  | { op: 'varint'; at: number; value: number }

/** Interesting values for length and count fields: 0, small, limits +/- 1, huge. */
export const edgeNumbers: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, 1023, 1024, 1025),
  fc.constantFrom(4095, 4096, 4097, 65_535, 65_536, 65_537, 2 ** 20, 2 ** 24, 2 ** 31, 2 ** 32),
  fc.constantFrom(2 ** 53 - 1, 2 ** 48),
  fc.nat(),
)

/** A mutation; positions are fractions of the length so they fit any input. */
const mutationSpec: fc.Arbitrary<(len: number) => Mutation> = fc.oneof(
  fc
    .tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 7 }))
    .map(([p, bit]) => (len: number): Mutation => ({ op: 'flip', at: pos(p, len), bit })),
  fc
    .tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1, 0x7f, 0x80, 0xff))
    .map(([p, value]) => (len: number): Mutation => ({ op: 'set', at: pos(p, len), value })),
  fc
    .tuple(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.uint8Array({ minLength: 1, maxLength: 8 }),
    )
    .map(([p, bytes]) => (len: number): Mutation => ({ op: 'insert', at: pos(p, len + 1), bytes })),
  fc
    .tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 16 }))
    .map(([p, count]) => (len: number): Mutation => ({ op: 'delete', at: pos(p, len), count })),
  fc
    .double({ min: 0, max: 1, noNaN: true })
    .map((p) => (len: number): Mutation => ({ op: 'truncate', at: pos(p, len) })),
  fc
    .tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 64 }))
    .map(([p, count]) => (len: number): Mutation => ({ op: 'duplicate', at: pos(p, len), count })),
  fc
    .tuple(fc.double({ min: 0, max: 1, noNaN: true }), edgeNumbers)
    .map(([p, value]) => (len: number): Mutation => ({ op: 'varint', at: pos(p, len), value })),
)

function pos(p: number, len: number): number {
  return Math.min(len - 1, Math.floor(p * len))
}

/** Applies one mutation (a no-op on empty input, except insert). */
export function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const b = Buffer.from(bytes)
  const at = Math.max(0, m.at)
  switch (m.op) {
    case 'flip':
      if (b.length === 0) return bytes
      b[at] = b[at]! ^ (1 << m.bit)
      return new Uint8Array(b)
    case 'set':
      if (b.length === 0) return bytes
      b[at] = m.value
      return new Uint8Array(b)
    case 'insert':
      return new Uint8Array(Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]))
    case 'delete':
      return new Uint8Array(Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]))
    case 'truncate':
      return new Uint8Array(b.subarray(0, at))
    case 'duplicate':
      return new Uint8Array(
        Buffer.concat([
          b.subarray(0, at + m.count),
          b.subarray(at, at + m.count),
          b.subarray(at + m.count),
        ]),
      )
    case 'varint': {
      const v: number[] = []
      let n = m.value
      while (n >= 0x80) {
        v.push((n % 0x80) | 0x80)
        n = Math.floor(n / 0x80)
      }
      v.push(n)
      const out = Buffer.from(b)
      for (let i = 0; i < v.length && at + i < out.length; i++) out[at + i] = v[i]!
      return new Uint8Array(out)
    }
  }
}

/** A list of 1..`max` mutations, to apply to any bytes with `applyMutations`. */
export function mutationsArb(max = 4): fc.Arbitrary<Array<(len: number) => Mutation>> {
  return fc.array(mutationSpec, { minLength: 1, maxLength: max })
}

/** Applies mutation specs in turn; returns the result and the concrete mutations. */
export function applyMutations(
  original: Uint8Array,
  specs: ReadonlyArray<(len: number) => Mutation>,
): { bytes: Uint8Array; mutations: Mutation[] } {
  let bytes = original
  const mutations: Mutation[] = []
  for (const spec of specs) {
    const m = spec(bytes.length)
    mutations.push(m)
    bytes = mutate(bytes, m)
  }
  return { bytes, mutations }
}

/** 1..`max` mutations of a valid encoding drawn from `valid`. */
export function mutated(
  valid: fc.Arbitrary<Uint8Array>,
  max = 4,
): fc.Arbitrary<{ original: Uint8Array; bytes: Uint8Array; mutations: Mutation[] }> {
  return fc
    .tuple(valid, mutationsArb(max))
    .map(([original, specs]) => ({ original, ...applyMutations(original, specs) }))
}

/** Pure noise, biased towards short inputs and leading type bytes a decoder knows. */
export function noiseBytes(
  maxLength = 256,
  knownFirstBytes: number[] = [],
): fc.Arbitrary<Uint8Array> {
  const plain = fc.uint8Array({ maxLength })
  if (knownFirstBytes.length === 0) return plain
  return fc.oneof(
    plain,
    fc
      .tuple(fc.constantFrom(...knownFirstBytes), fc.uint8Array({ maxLength }))
      .map(([first, rest]) => Uint8Array.of(first, ...rest)),
  )
}

/**
 * fast-check arbitraries for valid wire values (entries, batch headers,
 * signed batches, hello and sync messages), the seeds that fuzz tests mutate.
 * Signing is slow next to decoding, so signed batches come from a small pool
 * built once and subsetted per case.
 */
import fc from 'fast-check'
import {
  encodeHeader,
  encodeSignedBatch,
  signBatch,
  subsetBatch,
  type BatchHeader,
  type SignedBatch,
} from '../../src/core/batch.js'
import { Writer } from '../../src/core/codec.js'
import type { Entry } from '../../src/core/entry.js'
import { leafHash } from '../../src/core/hash.js'
import { entryContext } from '../../src/core/entry.js'
import { natsLogId } from '../../src/core/selector.js'
import type { Hello, Selector, SyncMessage } from '../../src/sync/wire.js'
import { testKey } from './keys.js'

export const FUZZ_NETWORK = new Uint8Array(32).fill(11)
export const FUZZ_AUTHOR = testKey(new Uint8Array(32).fill(12))
export const FUZZ_LOG = natsLogId('fuzz.>', 'FUZZ', 1_700_000_000_000)
/** Limits the fuzzed decoders run with (small, so limit checks are reached). */
export const FUZZ_LIMITS = { maxEntries: 64, maxEntryBytes: 4096 }

/** fc.record with plain objects, as decoders produce them (not null-prototype ones). */
const rec = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> =>
  fc.record(model, { noNullPrototype: true })

const seqArb = fc.oneof(fc.nat({ max: 1000 }), fc.constantFrom(0, 127, 128, 2 ** 53 - 1))
const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'grapheme', maxLength })
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })

export const entryArb: fc.Arbitrary<Entry> = fc.oneof(
  rec({
    seq: seqArb,
    body: rec({
      kind: fc.constant('nats' as const),
      subject: text(40),
      headers: fc.array(fc.tuple(text(12), text(12)), { maxLength: 4 }),
      payload: fc.uint8Array({ maxLength: 200 }),
    }),
  }),
  rec({
    seq: seqArb,
    body: rec({
      kind: fc.constant('blob-put' as const),
      key: text(40),
      hash: bytes32,
      size: seqArb,
    }),
  }),
  rec({
    seq: seqArb,
    body: rec({ kind: fc.constant('blob-delete' as const), key: text(40) }),
  }),
)

export const headerArb: fc.Arbitrary<BatchHeader> = fc
  .record({
    networkId: bytes32,
    author: bytes32,
    logId: text(60),
    firstSeq: seqArb,
    span: fc.nat({ max: 2000 }),
    count: fc.integer({ min: 1, max: 2000 }),
    root: bytes32,
    timestamp: fc.nat(),
  })
  .map(({ span, ...h }) => ({ ...h, lastSeq: Math.min(2 ** 53 - 1, h.firstSeq + span) }))

export const headerBytesArb: fc.Arbitrary<Uint8Array> = headerArb.map(encodeHeader)

/** Entries with strictly increasing seqs starting at 1 (gaps allowed). */
function entriesFor(n: number, gaps: number[]): Entry[] {
  let seq = 0
  return Array.from({ length: n }, (_, i) => {
    seq += 1 + (gaps[i % gaps.length] ?? 0)
    return {
      seq,
      body: {
        kind: 'nats',
        subject: `fuzz.${i % 5}`,
        headers: i % 2 === 0 ? [['X-I', String(i)]] : [],
        payload: Uint8Array.from({ length: (i * 37) % 90 }, (_, j) => (i + j) & 0xff),
      },
    }
  })
}

/** A signed batch with its leaf hashes (from the author's view). */
export interface PooledBatch {
  batch: SignedBatch
  leaves: Uint8Array[]
}

let pool: PooledBatch[] | undefined

/** Signed full batches of 1..40 entries (built once per process). */
export function batchPool(): PooledBatch[] {
  pool ??= [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 40].map((n, k) => {
    const batch = signBatch({
      networkId: FUZZ_NETWORK,
      author: FUZZ_AUTHOR.publicKey,
      logId: FUZZ_LOG,
      firstSeq: 1,
      entries: entriesFor(n, [0, k % 3, 1]),
      sign: FUZZ_AUTHOR.sign,
      timestamp: 1_700_000_000_000 + k,
    })
    const ctx = entryContext(FUZZ_AUTHOR.publicKey, FUZZ_LOG)
    return { batch, leaves: batch.items.map((it) => leafHash(ctx, it.bytes)) }
  })
  return pool
}

/** A pooled batch or a subset of one (with a valid multiproof). */
export const signedBatchArb: fc.Arbitrary<SignedBatch> = fc
  .tuple(fc.nat(), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), fc.boolean())
  .map(([i, picks, whole]) => {
    const all = batchPool()
    const p = all[i % all.length]!
    if (whole) return p.batch
    const keep = p.batch.items.map((_, k) => k).filter((k) => picks[k])
    return subsetBatch(p.batch, p.leaves, keep)
  })

export function encodeBatchWire(b: SignedBatch): Uint8Array {
  const w = new Writer()
  encodeSignedBatch(w, b)
  return w.finish()
}

export const batchWireArb: fc.Arbitrary<Uint8Array> = signedBatchArb.map(encodeBatchWire)

export const selectorArb: fc.Arbitrary<Selector> = rec({
  author: bytes32,
  kind: fc.constantFrom('nats' as const, 'blobs' as const),
  filters: fc.array(fc.oneof(fc.constantFrom('>', 'a.*', 'a.>', 'bucket-1'), text(20)), {
    maxLength: 4,
  }),
})

export const helloArb: fc.Arbitrary<Hello> = rec({
  version: fc.nat({ max: 3 }),
  holds: fc.array(selectorArb, { maxLength: 4 }),
  wants: fc.array(selectorArb, { maxLength: 4 }),
})

const logIdArb = fc.oneof(fc.constant(FUZZ_LOG), text(40))

export const syncMessageArb: fc.Arbitrary<SyncMessage> = fc.oneof(
  rec({
    type: fc.constant('request' as const),
    selector: selectorArb,
    known: fc.array(rec({ logId: logIdArb, height: seqArb }), { maxLength: 4 }),
  }),
  rec({ type: fc.constant('log' as const), logId: logIdArb, low: seqArb, head: seqArb }),
  rec({ type: fc.constant('batch' as const), batch: signedBatchArb }),
  rec({
    type: fc.constant('progress' as const),
    logId: logIdArb,
    through: seqArb,
    head: seqArb,
  }),
  rec({ type: fc.constant('unavailable' as const), logId: logIdArb, low: seqArb }),
  rec({ type: fc.constant('reject' as const), code: text(20), message: text(60) }),
  fc.constant({ type: 'ping' as const }),
)

/**
 * Fuzzing decodeBaoMeta, which reads `.rhio/<key>.rhio.json` objects that any
 * writer of the bucket (or an older/newer rhio) may have left: a BaoMeta or
 * S3_META_INVALID, never another exception; what decodes re-encodes and
 * decodes to the same value.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { RhioError } from '../../src/errors/index.js'
import { decodeBaoMeta, encodeBaoMeta, type BaoMeta } from '../../src/store/meta.js'
import { fuzzParams, mutated, noiseBytes, typedOnly } from '../helpers/fuzz.js'

const base32 = fc
  .array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz234567'), { minLength: 52, maxLength: 52 })
  .map((a) => a.join(''))
const hexOf = (n: number): fc.Arbitrary<string> =>
  fc.uint8Array({ minLength: n / 2, maxLength: n / 2 }).map((b) => Buffer.from(b).toString('hex'))

const metaArb: fc.Arbitrary<BaoMeta> = fc
  .record(
    {
      hash: base32,
      size: fc.maxSafeNat(),
      complete: fc.boolean(),
      key: fc.string({ minLength: 1, maxLength: 30 }),
      remote_bucket_name: fc.string({ maxLength: 20 }),
      signed: fc.option(fc.tuple(hexOf(64), hexOf(128)), { nil: undefined }),
      seq: fc.option(fc.maxSafeNat(), { nil: undefined }),
      etag: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      deleted: fc.option(fc.boolean(), { nil: undefined }),
    },
    { noNullPrototype: true },
  )
  .map(({ signed, seq, etag, deleted, ...m }) => ({
    ...m,
    ...(signed ? { public_key: signed[0], signature: signed[1] } : {}),
    ...(seq !== undefined ? { seq } : {}),
    ...(etag !== undefined ? { etag } : {}),
    ...(deleted !== undefined ? { deleted } : {}),
  }))

function check(input: Uint8Array | string): void {
  const r = typedOnly(() => decodeBaoMeta(input), input)
  if (r instanceof RhioError) {
    assert.equal(r.code, 'S3_META_INVALID')
    return
  }
  assert.deepEqual(decodeBaoMeta(encodeBaoMeta(r)), r)
}

test('decodeBaoMeta: valid metas round-trip', () => {
  fc.assert(
    fc.property(metaArb, (m) => {
      assert.deepEqual(decodeBaoMeta(encodeBaoMeta(m)), m)
    }),
    fuzzParams(2_000),
  )
})

test('decodeBaoMeta: random bytes, random JSON and mutated metas give a meta or S3_META_INVALID', () => {
  const mutatedMeta = mutated(metaArb.map(encodeBaoMeta)).map((m) => m.bytes)
  // valid metas with one field replaced by any JSON value (or a key added)
  const edited = fc
    .tuple(
      metaArb,
      fc.constantFrom(
        'hash',
        'size',
        'complete',
        'key',
        'remote_bucket_name',
        'public_key',
        'signature',
        'seq',
        'etag',
        'deleted',
        '__proto__',
        'constructor',
        'x',
      ),
      fc.jsonValue({ maxDepth: 2 }),
    )
    .map(([m, k, v]) => {
      const text = JSON.stringify(m)
      return `${text.slice(0, -1)},${JSON.stringify(k)}:${JSON.stringify(v)}}`
    })
  fc.assert(
    fc.property(fc.oneof(noiseBytes(200), fc.json({ maxDepth: 3 }), mutatedMeta, edited), check),
    fuzzParams(),
  )
})

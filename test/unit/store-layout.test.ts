import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { hasCode } from '../../src/errors/index.js'
import { StoreErrorCode } from '../../src/store/errors.js'
import {
  blobKeys,
  dataKeyOfMeta,
  dataKeyOfOutboard,
  isInternalKey,
  metaKey,
  outboardKey,
} from '../../src/store/layout.js'
import { decodeBaoMeta, encodeBaoMeta, type BaoMeta } from '../../src/store/meta.js'

const FIXTURES = new URL('../../../test/fixtures/', import.meta.url)
const HASH = 'jb4mubbfy447uqt7p3ncb7uel5vs4rv2l7rkctpvwhrs6udagikq'
const PK = 'e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b51620'
const SIG =
  '3a14788e8a4e395d0e84608beaba6504359d473f72435038933068f42a0c9087e924245162a2f0e51481591a3e6d4e0512a66b2f5ccd2d34e09e88b5da42a101'

describe('rhio S3 layout', () => {
  test('meta and outboard keys live under .rhio/ with the original suffixes', () => {
    assert.equal(metaKey('path/to/file.txt'), '.rhio/path/to/file.txt.rhio.json')
    assert.equal(outboardKey('path/to/file.txt'), '.rhio/path/to/file.txt.rhio.bao4')
    assert.deepEqual(blobKeys('a b/ü'), {
      data: 'a b/ü',
      meta: '.rhio/a b/ü.rhio.json',
      outboard: '.rhio/a b/ü.rhio.bao4',
    })
  })

  test('internal keys: anything under .rhio/ or ending in a rhio suffix', () => {
    for (const k of ['.rhio/x', '.rhio/a.rhio.json', 'a.rhio.json', 'dir/a.rhio.bao4', '.rhio/']) {
      assert.equal(isInternalKey(k), true, k)
    }
    for (const k of [
      'x',
      '.rhiox/a',
      'a/.rhio',
      'a.rhio.json.bak',
      'rhio/a',
      'a.rhio',
      'x/.rhio/y',
    ]) {
      assert.equal(isInternalKey(k), false, k)
    }
    assert.throws(() => metaKey('.rhio/x'), RangeError)
    assert.throws(() => outboardKey('x.rhio.bao4'), RangeError)
    assert.throws(() => blobKeys(''), RangeError)
  })

  test('data keys are recovered from meta and outboard keys, and only from those', () => {
    assert.equal(dataKeyOfMeta('.rhio/path/to/file.txt.rhio.json'), 'path/to/file.txt')
    assert.equal(dataKeyOfOutboard('.rhio/path/to/file.txt.rhio.bao4'), 'path/to/file.txt')
    assert.equal(dataKeyOfMeta('.rhio/x.rhio.bao4'), undefined)
    assert.equal(dataKeyOfMeta('x.rhio.json'), undefined)
    assert.equal(dataKeyOfMeta('.rhio/.rhio.json'), undefined)
    assert.equal(dataKeyOfMeta('.rhio/.rhio/x.rhio.json'), undefined, 'data key would be internal')
    assert.equal(dataKeyOfOutboard('.rhio/a.rhio.json.rhio.bao4'), undefined)
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (key) => {
        fc.pre(!isInternalKey(key))
        assert.equal(dataKeyOfMeta(metaKey(key)), key)
        assert.equal(dataKeyOfOutboard(outboardKey(key)), key)
        assert.equal(isInternalKey(metaKey(key)), true)
        assert.equal(isInternalKey(outboardKey(key)), true)
      }),
    )
  })
})

describe('BaoMeta JSON', () => {
  const own: BaoMeta = {
    hash: HASH,
    size: 5911,
    complete: true,
    key: 'path/to/my.file',
    remote_bucket_name: 'bucket-out',
  }
  const downloaded: BaoMeta = { ...own, complete: false, public_key: PK, signature: SIG }

  test('encodes byte for byte as the original rhio writes it', async () => {
    const ownBytes = await readFile(new URL('store-meta-original-own.rhio.json', FIXTURES))
    const downBytes = await readFile(new URL('store-meta-original-downloaded.rhio.json', FIXTURES))
    assert.ok(Buffer.from(encodeBaoMeta(own)).equals(ownBytes))
    assert.ok(Buffer.from(encodeBaoMeta(downloaded)).equals(downBytes))
    assert.deepEqual(decodeBaoMeta(ownBytes), own)
    assert.deepEqual(decodeBaoMeta(downBytes), downloaded)
    assert.notEqual(downBytes.at(-1), 0x0a, 'no trailing newline')
  })

  test('field order is fixed whatever the order of the input object', () => {
    const shuffled = {
      deleted: true,
      etag: '"abc"',
      seq: 7,
      signature: SIG,
      public_key: PK,
      remote_bucket_name: 'b',
      key: 'k',
      complete: true,
      size: 1,
      hash: HASH,
    }
    const text = new TextDecoder().decode(encodeBaoMeta(shuffled))
    assert.equal(
      text,
      `{\n  "hash": "${HASH}",\n  "size": 1,\n  "complete": true,\n  "key": "k",\n` +
        `  "remote_bucket_name": "b",\n  "public_key": "${PK}",\n  "signature": "${SIG}",\n` +
        `  "seq": 7,\n  "etag": "\\"abc\\"",\n  "deleted": true\n}`,
    )
  })

  test('strings are escaped as serde_json escapes them', () => {
    const key = 'q"b\\s/n\nt\tc\u0001é😀\u007f'
    const text = new TextDecoder().decode(encodeBaoMeta({ ...own, key }))
    assert.ok(text.includes('"key": "q\\"b\\\\s/n\\nt\\tc\\u0001é😀\u007f"'), text)
    assert.equal(decodeBaoMeta(text).key, key)
  })

  test('round-trips any valid meta', () => {
    const hex = (n: number): fc.Arbitrary<string> =>
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n })
    const meta = fc.record(
      {
        hash: fc.string({
          unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz234567'),
          minLength: 52,
          maxLength: 52,
        }),
        size: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        complete: fc.boolean(),
        key: fc.string({ minLength: 1 }),
        remote_bucket_name: fc.string(),
        seq: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        etag: fc.string(),
        deleted: fc.boolean(),
      },
      { requiredKeys: ['hash', 'size', 'complete', 'key', 'remote_bucket_name'] },
    )
    const signed = fc.option(fc.record({ public_key: hex(64), signature: hex(128) }), {
      nil: undefined,
    })
    fc.assert(
      fc.property(meta, signed, (m, s) => {
        const value = { ...m, ...s } as BaoMeta
        assert.deepEqual(decodeBaoMeta(encodeBaoMeta(value)), value)
      }),
    )
  })

  test('the decoder rejects malformed meta with S3_META_INVALID', () => {
    const good = JSON.parse(new TextDecoder().decode(encodeBaoMeta(own))) as Record<string, unknown>
    const bad: [string, string | Uint8Array][] = [
      ['not JSON', '{"hash": '],
      ['not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
      ['an array', '[]'],
      ['null', 'null'],
      ['missing hash', JSON.stringify({ ...good, hash: undefined })],
      ['missing complete', JSON.stringify({ ...good, complete: undefined })],
      ['missing remote_bucket_name', JSON.stringify({ ...good, remote_bucket_name: undefined })],
      ['hex hash', JSON.stringify({ ...good, hash: PK })],
      ['upper-case hash', JSON.stringify({ ...good, hash: HASH.toUpperCase() })],
      ['string size', JSON.stringify({ ...good, size: '5911' })],
      ['negative size', JSON.stringify({ ...good, size: -1 })],
      ['fractional size', JSON.stringify({ ...good, size: 1.5 })],
      [
        'unsafe size',
        '{"hash":"' +
          HASH +
          '","size":9007199254740993,"complete":true,"key":"k","remote_bucket_name":"b"}',
      ],
      ['string complete', JSON.stringify({ ...good, complete: 'true' })],
      ['empty key', JSON.stringify({ ...good, key: '' })],
      ['numeric bucket', JSON.stringify({ ...good, remote_bucket_name: 5 })],
      ['public key without signature', JSON.stringify({ ...good, public_key: PK })],
      ['signature without public key', JSON.stringify({ ...good, signature: SIG })],
      ['short public key', JSON.stringify({ ...good, public_key: PK.slice(2), signature: SIG })],
      [
        'upper-case signature',
        JSON.stringify({ ...good, public_key: PK, signature: SIG.toUpperCase() }),
      ],
      ['string seq', JSON.stringify({ ...good, seq: '1' })],
      ['numeric etag', JSON.stringify({ ...good, etag: 1 })],
      ['string deleted', JSON.stringify({ ...good, deleted: 'yes' })],
    ]
    for (const [why, input] of bad) {
      assert.throws(
        () => decodeBaoMeta(input),
        (err) => hasCode(err, StoreErrorCode.META_INVALID),
        why,
      )
    }
    assert.throws(
      () => encodeBaoMeta({ ...own, size: -1 }),
      (err) => hasCode(err, StoreErrorCode.META_INVALID),
    )
  })

  test('unknown fields are ignored and null optionals are absent (as serde reads them)', () => {
    const text = JSON.stringify({
      ...own,
      future_field: [1],
      public_key: null,
      signature: null,
      seq: null,
    })
    assert.deepEqual(decodeBaoMeta(text), own)
  })
})

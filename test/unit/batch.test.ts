import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  SignatureCache,
  decodeSignedBatch,
  encodeSignedBatch,
  signBatch,
  subsetBatch,
  verifyBatch,
  type SignedBatch,
} from '../../src/core/batch.js'
import { Reader, Writer } from '../../src/core/codec.js'
import { decodeEntry, encodeEntry, type Entry } from '../../src/core/entry.js'
import { merkleRoot } from '../../src/core/merkle.js'
import { testKey, testVerify } from '../helpers/keys.js'

const net = new Uint8Array(32).fill(9)
const author = testKey(new Uint8Array(32).fill(1))
const other = testKey(new Uint8Array(32).fill(2))

function natsEntries(n: number, firstSeq = 1, stride = 1): Entry[] {
  return Array.from({ length: n }, (_, i) => ({
    seq: firstSeq + i * stride,
    body: {
      kind: 'nats' as const,
      subject: `s.${i % 3}`,
      headers: [
        ['B', 'x'],
        ['A', String(i)],
        ['B', 'y'],
      ] as Array<[string, string]>,
      payload: new Uint8Array([i & 255, (i >> 8) & 255]),
    },
  }))
}

const opts = { networkId: net, verify: testVerify, maxEntries: 4096 }

function roundTrip(b: SignedBatch): SignedBatch {
  const w = new Writer()
  encodeSignedBatch(w, b)
  const r = new Reader(w.finish())
  const out = decodeSignedBatch(r, { maxEntries: 4096, maxEntryBytes: 1 << 20 })
  r.end()
  return out
}

test('entry encoding round-trips every body kind, header order kept', () => {
  const entries: Entry[] = [
    ...natsEntries(2),
    {
      seq: 7,
      body: {
        kind: 'blob-put',
        key: 'a/b.txt',
        hash: new Uint8Array(32).fill(3),
        size: 5_000_000_000,
      },
    },
    { seq: 8, body: { kind: 'blob-delete', key: 'a/b.txt' } },
  ]
  for (const e of entries) assert.deepEqual(decodeEntry(encodeEntry(e)), e)
})

test('a signed batch verifies and yields its entries in order', () => {
  const b = roundTrip(
    signBatch({
      networkId: net,
      author: author.publicKey,
      logId: 'L',
      firstSeq: 1,
      entries: natsEntries(10, 5, 3),
      sign: author.sign,
    }),
  )
  assert.equal(b.header.firstSeq, 1)
  assert.equal(b.header.lastSeq, 5 + 9 * 3)
  const r = verifyBatch(b, { ...opts, author: author.publicKey, logId: 'L' })
  assert.ok(r.ok)
  assert.deepEqual(
    r.entries.map((e) => e.seq),
    Array.from({ length: 10 }, (_, i) => 5 + i * 3),
  )
  assert.deepEqual(b.header.root, merkleRoot(r.leaves))
})

test('rejections carry a reason', () => {
  const b = signBatch({
    networkId: net,
    author: author.publicKey,
    logId: 'L',
    firstSeq: 1,
    entries: natsEntries(4),
    sign: author.sign,
  })
  const check = (
    x: SignedBatch,
    o: Partial<Parameters<typeof verifyBatch>[1]>,
    reason: string,
  ): void => {
    const r = verifyBatch(x, { ...opts, ...o })
    assert.equal(r.ok, false)
    if (!r.ok) assert.equal(r.reason, reason)
  }
  check(b, { networkId: new Uint8Array(32) }, 'wrong-network')
  check(b, { author: other.publicKey }, 'wrong-author')
  check(b, { logId: 'M' }, 'wrong-log')
  check({ ...b, signature: other.sign(b.headerBytes) }, {}, 'bad-signature')
  const tampered = {
    ...b,
    items: b.items.map((it, i) =>
      i === 2
        ? { ...it, bytes: it.bytes.map((x, j) => (j === it.bytes.length - 1 ? x ^ 1 : x)) }
        : it,
    ),
  }
  check(tampered, {}, 'bad-proof')
  const swapped = { ...b, items: [b.items[1]!, b.items[0]!, b.items[2]!, b.items[3]!] }
  check(swapped, {}, 'bad-seq')
  check(b, { maxEntries: 3 }, 'oversized')
  const garbage = { ...b, items: [{ index: 0, bytes: new Uint8Array([99, 1]) }] }
  check(garbage, {}, 'malformed')
})

test('signature cache skips re-verification of known headers', () => {
  const b = signBatch({
    networkId: net,
    author: author.publicKey,
    logId: 'L',
    firstSeq: 1,
    entries: natsEntries(3),
    sign: author.sign,
  })
  let calls = 0
  const cache = new SignatureCache(4)
  const counting = (pk: Uint8Array, m: Uint8Array, s: Uint8Array): boolean => (
    calls++,
    testVerify(pk, m, s)
  )
  assert.ok(verifyBatch(b, { ...opts, verify: counting, cache }).ok)
  assert.ok(verifyBatch(b, { ...opts, verify: counting, cache }).ok)
  assert.equal(calls, 1)
})

test('property: any subset, and any subset of a subset, verifies on its own', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 70 }),
      fc.array(fc.boolean(), { minLength: 70, maxLength: 70 }),
      fc.array(fc.boolean(), { minLength: 70, maxLength: 70 }),
      (n, pick1, pick2) => {
        const full = signBatch({
          networkId: net,
          author: author.publicKey,
          logId: 'L',
          firstSeq: 1,
          entries: natsEntries(n),
          sign: author.sign,
        })
        const v = verifyBatch(full, opts)
        assert.ok(v.ok)
        const keep1 = full.items.map((_, i) => i).filter((i) => pick1[i])
        const s1 = roundTrip(subsetBatch(full, v.leaves, keep1))
        const v1 = verifyBatch(s1, opts)
        assert.ok(v1.ok, 'subset verifies')
        assert.equal(v1.entries.length, keep1.length)
        const keep2 = s1.items.map((_, i) => i).filter((i) => pick2[i])
        const s2 = roundTrip(subsetBatch(s1, v1.leaves, keep2))
        const v2 = verifyBatch(s2, opts)
        assert.ok(v2.ok, 'subset of subset verifies')
        assert.deepEqual(
          v2.entries.map((e) => e.seq),
          keep2.map((i) => s1.items[i]!.index + 1),
        )
      },
    ),
    { numRuns: 200 },
  )
})

test('property: flipping any byte of a subset frame is detected or harmless', () => {
  const full = signBatch({
    networkId: net,
    author: author.publicKey,
    logId: 'L',
    firstSeq: 1,
    entries: natsEntries(9),
    sign: author.sign,
  })
  const v = verifyBatch(full, opts)
  assert.ok(v.ok)
  const sub = subsetBatch(full, v.leaves, [1, 4, 5])
  const w = new Writer()
  encodeSignedBatch(w, sub)
  const bytes = w.finish()
  const original = verifyBatch(sub, opts)
  assert.ok(original.ok)
  for (let i = 0; i < bytes.length; i++) {
    const copy = bytes.slice()
    copy[i]! ^= 0x40
    let decoded: SignedBatch
    try {
      const r = new Reader(copy)
      decoded = decodeSignedBatch(r, { maxEntries: 4096, maxEntryBytes: 1 << 20 })
      r.end()
    } catch {
      continue // rejected by the decoder
    }
    const res = verifyBatch(decoded, opts)
    if (res.ok) {
      // Only a change that leaves every verified fact intact may pass (e.g. the
      // informational header timestamp cannot change without breaking the signature).
      assert.deepEqual(
        res.entries.map((e) => [e.seq, e.body]),
        original.entries.map((e) => [e.seq, e.body]),
        `byte ${i}`,
      )
      assert.fail(`flipped byte ${i} was accepted`)
    }
  }
})

test('network id is BLAKE3 of the configured string, as the original', async () => {
  const { networkIdHash } = await import('../../src/core/network-id.js')
  const { toHex } = await import('../../src/core/codec.js')
  // formats-and-protocols.md §2.4: BLAKE3("rhio-default-network-1")
  assert.equal(
    toHex(networkIdHash('rhio-default-network-1')),
    '5650072118669c6b282be75aa7e84c84b04b167b11c111fc4e39272bb235b528',
  )
})

test('coverage-only batches: signed ranges without entries', () => {
  const cov = signBatch({
    networkId: net,
    author: author.publicKey,
    logId: 'L',
    firstSeq: 5,
    entries: [],
    lastSeq: 9,
    sign: author.sign,
  })
  assert.equal(cov.header.count, 0)
  const r = verifyBatch(roundTrip(cov), opts)
  assert.ok(r.ok)
  assert.equal(r.entries.length, 0)
  const withItem = { ...cov, items: [{ index: 0, bytes: encodeEntry(natsEntries(1, 5)[0]!) }] }
  const bad = verifyBatch(withItem, opts)
  assert.ok(!bad.ok && bad.reason === 'malformed')
  // a batch may also cover past its last entry
  const ext = signBatch({
    networkId: net,
    author: author.publicKey,
    logId: 'L',
    firstSeq: 1,
    entries: natsEntries(2),
    lastSeq: 7,
    sign: author.sign,
  })
  assert.equal(ext.header.lastSeq, 7)
  assert.ok(verifyBatch(ext, opts).ok)
  assert.throws(
    () =>
      signBatch({
        networkId: net,
        author: author.publicKey,
        logId: 'L',
        firstSeq: 1,
        entries: [],
        sign: author.sign,
      }),
    /lastSeq/,
  )
})

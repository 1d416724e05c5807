/**
 * Fuzzing the p2p message decoders (hello, sync) and what peer-chosen strings
 * reach afterwards (subject filters and log ids in selectors): typed errors
 * only, canonical round trips, and limits that hold whatever a peer sends.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  filterContains,
  filtersCovered,
  filtersOverlap,
  matchesAny,
  subjectMatches,
} from '../../src/core/subject.js'
import { RhioError } from '../../src/errors/index.js'
import {
  parseLogId,
  selectorCovers,
  selectorMatchesEntry,
  selectorMatchesLog,
} from '../../src/core/selector.js'
import { decodeHello, decodeSync, encodeHello, encodeSync } from '../../src/sync/wire.js'
import { fuzzParams, mutated, noiseBytes, typedOnly } from '../helpers/fuzz.js'
import { FUZZ_LIMITS, helloArb, selectorArb, syncMessageArb } from '../helpers/wire-arbitraries.js'

test('decodeHello: valid hellos round-trip; random and mutated bytes fail typed', () => {
  fc.assert(
    fc.property(helloArb, (h) => {
      assert.deepEqual(decodeHello(encodeHello(h)), h)
    }),
    fuzzParams(2_000),
  )
  fc.assert(
    fc.property(
      fc.oneof(
        noiseBytes(300, [1]),
        mutated(helloArb.map(encodeHello)).map((m) => m.bytes),
      ),
      (bytes) => {
        const r = typedOnly(() => decodeHello(bytes), bytes)
        if (!(r instanceof RhioError)) assert.deepEqual(encodeHello(r), bytes)
      },
    ),
    fuzzParams(),
  )
})

test('decodeSync: valid messages round-trip; random and mutated bytes fail typed', () => {
  fc.assert(
    fc.property(syncMessageArb, (m) => {
      assert.deepEqual(encodeSync(decodeSync(encodeSync(m), FUZZ_LIMITS)), encodeSync(m))
    }),
    fuzzParams(2_000),
  )
  fc.assert(
    fc.property(
      fc.oneof(
        noiseBytes(300, [1, 2, 3, 4, 5, 6, 7]),
        mutated(syncMessageArb.map(encodeSync)).map((m) => m.bytes),
      ),
      (bytes) => {
        const r = typedOnly(() => decodeSync(bytes, FUZZ_LIMITS), bytes)
        if (r instanceof RhioError) return
        assert.deepEqual(encodeSync(r), bytes)
        if (r.type === 'batch') {
          assert.ok(r.batch.items.length <= FUZZ_LIMITS.maxEntries)
          assert.ok(r.batch.items.every((it) => it.bytes.length <= FUZZ_LIMITS.maxEntryBytes))
        }
      },
    ),
    fuzzParams(),
  )
})

/** Strings as peers may send them: valid-looking filters, pieces of them, or anything. */
const peerString = fc.oneof(
  fc.constantFrom('>', '*', 'a', 'a.b', 'a.*', 'a.>', '*.>', '', '.', '..', 'a..b', '>.a', 'a.>.b'),
  fc
    .array(fc.constantFrom('a', 'b', '*', '>', '', ' ', 'é'), { maxLength: 6 })
    .map((t) => t.join('.')),
  fc.string({ maxLength: 12 }),
)

test('subject matching terminates and never throws on peer-chosen filters and subjects', () => {
  fc.assert(
    fc.property(peerString, peerString, fc.array(peerString, { maxLength: 3 }), (a, b, list) => {
      const results = [
        subjectMatches(a, b),
        filterContains(a, b),
        filtersOverlap(a, b),
        matchesAny(list, b),
        filtersCovered(list, [a, b]),
      ]
      assert.ok(results.every((r) => typeof r === 'boolean'))
      // containment implies overlap and matching for literal subjects
      if (filterContains(a, b) && b !== '' && !b.includes('*') && !b.includes('>'))
        assert.ok(subjectMatches(a, b) || b.split('.').includes(''), `${a} contains ${b}`)
    }),
    fuzzParams(),
  )
})

test('selectors and log ids from peers: total functions, no exceptions', () => {
  const logId = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.json({ maxDepth: 2 }),
    fc
      .tuple(fc.constantFrom('nats', 's3'), peerString, peerString, fc.oneof(fc.nat(), fc.string()))
      .map((t) => JSON.stringify(t)),
  )
  fc.assert(
    fc.property(selectorArb, selectorArb, logId, peerString, (a, b, id, subject) => {
      parseLogId(id)
      assert.equal(typeof selectorMatchesLog(a, id), 'boolean')
      assert.equal(typeof selectorCovers(a, b), 'boolean')
      assert.equal(
        typeof selectorMatchesEntry(a, {
          seq: 1,
          body: { kind: 'nats', subject, headers: [], payload: new Uint8Array(0) },
        }),
        'boolean',
      )
    }),
    fuzzParams(),
  )
})

/**
 * What every StateStore must do, run against each implementation
 * (MemoryStateStore, DirStateStore, KvStateStore on a real nats-server).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { hasCode } from '../../src/errors/index.js'
import type { Json, StateStore } from '../../src/state/state-store.js'

export interface StateStoreTarget {
  store: StateStore
  dispose(): Promise<void>
}

export const INVALID_KEYS = ['', '.', 'a.', '.a', 'a..b', 'a b', 'a*', 'a.>', 'a/b', 'ä', 'a\n']
export const INVALID_PREFIXES = ['.', 'a..', 'a*', '>', 'a.>', 'a b', '.a']

const badKey = (err: unknown): boolean => {
  assert.ok(hasCode(err, 'STATE_BAD_KEY'), `expected STATE_BAD_KEY, got ${String(err)}`)
  return true
}

export function stateStoreContract(name: string, setup: () => Promise<StateStoreTarget>): void {
  describe(`StateStore contract: ${name}`, () => {
    async function withStore(fn: (store: StateStore) => Promise<void>): Promise<void> {
      const target = await setup()
      try {
        await fn(target.store)
      } finally {
        await target.store.close()
        await target.dispose()
      }
    }

    test('a missing key reads as undefined', () =>
      withStore(async (store) => {
        assert.equal(await store.get('heights.none'), undefined)
        assert.deepEqual(await store.keys(''), [])
      }))

    test('JSON documents round-trip', () =>
      withStore(async (store) => {
        const values: Json[] = [
          null,
          true,
          false,
          0,
          -1.5,
          2 ** 53 - 1,
          '',
          'text with "quotes", \\ and ünïcödé 🚀',
          [],
          [1, 'two', null, [3]],
          {},
          {
            logId: 'nats/orders.>',
            height: 12345,
            filters: ['orders.*', 'x.>'],
            nested: { a: [] },
          },
          { big: 'x'.repeat(64 * 1024) },
        ]
        for (const [i, v] of values.entries()) await store.put(`doc.v${i}`, v)
        for (const [i, v] of values.entries()) assert.deepEqual(await store.get(`doc.v${i}`), v)
      }))

    test('put overwrites; delete removes; deleting a missing key is fine', () =>
      withStore(async (store) => {
        await store.put('transfers.x', { part: 1 })
        await store.put('transfers.x', { part: 2 })
        assert.deepEqual(await store.get('transfers.x'), { part: 2 })
        await store.delete('transfers.x')
        assert.equal(await store.get('transfers.x'), undefined)
        assert.deepEqual(await store.keys('transfers.'), [])
        await store.delete('transfers.never')
        await store.put('transfers.x', { part: 3 })
        assert.deepEqual(await store.get('transfers.x'), { part: 3 })
        assert.deepEqual(await store.keys('transfers.'), ['transfers.x'])
      }))

    test('keys(prefix) lists a subtree, sorted, without siblings that share a prefix', () =>
      withStore(async (store) => {
        const all = [
          'heights.a.x',
          'heights.a.y',
          'heights.a.y.deep',
          'heights.ab.z',
          'heights.b',
          'heights',
          'epochs.a',
        ]
        for (const k of [...all].reverse()) await store.put(k, k)
        assert.deepEqual(await store.keys('heights.a.'), [
          'heights.a.x',
          'heights.a.y',
          'heights.a.y.deep',
        ])
        assert.deepEqual(await store.keys('heights.'), [
          'heights.a.x',
          'heights.a.y',
          'heights.a.y.deep',
          'heights.ab.z',
          'heights.b',
        ])
        assert.deepEqual(await store.keys('heights.a'), [
          'heights.a.x',
          'heights.a.y',
          'heights.a.y.deep',
          'heights.ab.z',
        ])
        assert.deepEqual(
          await store.keys('heights'),
          all.filter((k) => k.startsWith('heights')).sort(),
        )
        assert.deepEqual(await store.keys(''), [...all].sort())
        assert.deepEqual(await store.keys('nothing.'), [])
        assert.deepEqual(await store.keys('heights.a.x'), ['heights.a.x'])
      }))

    test('invalid keys and prefixes are rejected with STATE_BAD_KEY', () =>
      withStore(async (store) => {
        for (const key of INVALID_KEYS) {
          await assert.rejects(store.get(key), badKey, `get '${key}'`)
          await assert.rejects(store.put(key, 1), badKey, `put '${key}'`)
          await assert.rejects(store.delete(key), badKey, `delete '${key}'`)
        }
        for (const prefix of INVALID_PREFIXES)
          await assert.rejects(store.keys(prefix), badKey, `keys '${prefix}'`)
        assert.deepEqual(await store.keys(''), [])
      }))

    test('a stored document is a copy of the value put', () =>
      withStore(async (store) => {
        const doc = { list: [1, 2] }
        await store.put('copy.a', doc)
        doc.list.push(3)
        const got = await store.get<{ list: number[] }>('copy.a')
        assert.deepEqual(got, { list: [1, 2] })
        got!.list.push(4)
        assert.deepEqual(await store.get('copy.a'), { list: [1, 2] })
      }))
  })
}

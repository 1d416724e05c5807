/**
 * What every FrameStore must do, run against each implementation
 * (MemoryFrameStore, FileFrameStore in several configurations).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { verifyBatch } from '../../src/core/batch.js'
import type { FrameStore, LogInfo, StoredBatch } from '../../src/log/frame-store.js'
import {
  BATCH_NETWORK,
  batchRun,
  collect,
  logInfo,
  makeBatch,
  plain,
  rangeOf,
  subsetOf,
} from './batches.js'
import { testVerify } from './keys.js'

export interface FrameStoreTarget {
  /** Opens a store; `maxBytes` bounds its size in the implementation's own measure. */
  open(info: LogInfo, opts?: { maxBytes?: number }): Promise<FrameStore>
  dispose(): Promise<void>
}

async function ranges(store: FrameStore, from: number): Promise<string[]> {
  return (await collect(store.read(from))).map(rangeOf)
}

/** Reads like a sync session: read from `next`, then wait for the head to pass it. */
async function follow(store: FrameStore, until: number, seen: StoredBatch[]): Promise<void> {
  let next = 1
  const signal = AbortSignal.timeout(20_000)
  while (next <= until) {
    const headBefore = store.head
    for await (const b of store.read(next)) {
      seen.push(b)
      next = b.batch.header.lastSeq + 1
    }
    if (headBefore >= next) next = headBefore + 1
    if (next > until) return
    if (signal.aborted) throw new Error(`reader stuck at ${next}`)
    await store.waitForHead(next - 1, signal)
  }
}

export function frameStoreContract(name: string, setup: () => Promise<FrameStoreTarget>): void {
  describe(`FrameStore contract: ${name}`, () => {
    async function withStore(
      fn: (store: FrameStore) => Promise<void>,
      opts?: { maxBytes?: number },
    ): Promise<void> {
      const target = await setup()
      const store = await target.open(logInfo(), opts)
      try {
        await fn(store)
      } finally {
        await store.close()
        await target.dispose()
      }
    }

    test('a new store is empty', () =>
      withStore(async (store) => {
        assert.equal(store.low, 1)
        assert.equal(store.head, 0)
        assert.deepEqual(await ranges(store, 0), [])
        assert.deepEqual(await ranges(store, 1), [])
      }))

    test('appends extend the head; read(from) yields batches ending at or after from, in order', () =>
      withStore(async (store) => {
        const batches = [makeBatch(1, 3), makeBatch(4, 1), makeBatch(5, 5)]
        for (const b of batches) await store.append(b)
        assert.equal(store.head, 9)
        assert.equal(store.low, 1)
        assert.deepEqual(await ranges(store, 1), ['1-3', '4-4', '5-9'])
        assert.deepEqual(await ranges(store, 3), ['1-3', '4-4', '5-9'])
        assert.deepEqual(await ranges(store, 4), ['4-4', '5-9'])
        assert.deepEqual(await ranges(store, 6), ['5-9'])
        assert.deepEqual(await ranges(store, 9), ['5-9'])
        assert.deepEqual(await ranges(store, 10), [])
        assert.deepEqual((await collect(store.read(1))).map(plain), batches.map(plain))
      }))

    test('appends that do not pass the head are ignored', () =>
      withStore(async (store) => {
        await store.append(makeBatch(1, 3))
        await store.append(makeBatch(1, 2))
        await store.append(makeBatch(2, 2))
        assert.equal(store.head, 3)
        assert.deepEqual(await ranges(store, 1), ['1-3'])
      }))

    test('a batch overlapping the head extends it (forwarded subsets)', () =>
      withStore(async (store) => {
        await store.append(makeBatch(1, 5))
        const wide = makeBatch(3, 6)
        await store.append(subsetOf(wide, [3, 4, 5]))
        assert.equal(store.head, 8)
        assert.deepEqual(await ranges(store, 1), ['1-5', '3-8'])
        assert.deepEqual(await ranges(store, 6), ['3-8'])
      }))

    test('a batch after a gap restarts the store at that batch', () =>
      withStore(async (store) => {
        await store.append(makeBatch(1, 3))
        await store.append(makeBatch(10, 3))
        assert.equal(store.low, 10)
        assert.equal(store.head, 12)
        assert.deepEqual(await ranges(store, 1), ['10-12'])
        await store.append(makeBatch(13, 2))
        assert.deepEqual(await ranges(store, 11), ['10-12', '13-14'])
      }))

    test('advance moves the head without entries; later batches chain on', () =>
      withStore(async (store) => {
        await store.append(makeBatch(1, 3))
        await store.advance(7)
        await store.advance(5)
        assert.equal(store.head, 7)
        assert.deepEqual(await ranges(store, 4), [])
        await store.append(makeBatch(8, 2))
        assert.equal(store.head, 9)
        assert.equal(store.low, 1)
        assert.deepEqual(await ranges(store, 1), ['1-3', '8-9'])
        assert.deepEqual(await ranges(store, 5), ['8-9'])
      }))

    test('an advance on an empty store covers from 1', () =>
      withStore(async (store) => {
        await store.advance(4)
        assert.equal(store.low, 1)
        assert.equal(store.head, 4)
        await store.append(makeBatch(5, 1))
        assert.deepEqual(await ranges(store, 1), ['5-5'])
      }))

    test('a partial batch with its multiproof round-trips and still verifies', () =>
      withStore(async (store) => {
        const part = subsetOf(makeBatch(1, 4), [0, 2])
        await store.append(part)
        const [got] = await collect(store.read(1))
        assert.ok(got)
        assert.deepEqual(plain(got), plain(part))
        const v = verifyBatch(got.batch, {
          networkId: BATCH_NETWORK,
          verify: testVerify,
          maxEntries: 16,
        })
        assert.equal(v.ok, true)
      }))

    test('waitForHead resolves once the head passes, on abort, and on close', async () => {
      const target = await setup()
      const store = await target.open(logInfo())
      try {
        const never = new AbortController().signal
        await store.append(makeBatch(1, 2))
        await store.waitForHead(1, never)
        let passed = false
        const waiting = store.waitForHead(2, never).then(() => (passed = true))
        await new Promise((r) => setImmediate(r))
        assert.equal(passed, false)
        await store.append(makeBatch(3, 1))
        await waiting
        const viaAdvance = store.waitForHead(3, never)
        await store.advance(4)
        await viaAdvance
        const ac = new AbortController()
        const aborted = store.waitForHead(100, ac.signal)
        ac.abort()
        await aborted
        const closing = store.waitForHead(100, never)
        await store.close()
        await closing
      } finally {
        await store.close()
        await target.dispose()
      }
    })

    test('retention drops the oldest batches and raises low', () =>
      withStore(
        async (store) => {
          const batches = batchRun(100, 4, { payload: 500 })
          for (const b of batches) await store.append(b)
          assert.equal(store.head, 400)
          assert.ok(store.low > 1, `low ${store.low} was not raised`)
          const kept = await collect(store.read(1))
          assert.ok(kept.length < batches.length)
          assert.ok(kept[0]!.batch.header.lastSeq >= store.low)
          assert.equal(kept[kept.length - 1]!.batch.header.lastSeq, 400)
          for (let i = 1; i < kept.length; i++)
            assert.equal(kept[i]!.batch.header.firstSeq, kept[i - 1]!.batch.header.lastSeq + 1)
          assert.deepEqual((await collect(store.read(store.low))).map(rangeOf), kept.map(rangeOf))
        },
        { maxBytes: 64 * 1024 },
      ))

    test('a reader following the head sees every batch exactly once while appends go on', () =>
      withStore(async (store) => {
        const batches = batchRun(300, 3, { payload: 200 })
        const seen: StoredBatch[] = []
        const reader = follow(store, 900, seen)
        for (const [i, b] of batches.entries()) {
          await store.append(b)
          if (i % 7 === 0) await new Promise((r) => setImmediate(r))
        }
        await reader
        assert.deepEqual(seen.map(rangeOf), batches.map(rangeOf))
      }))

    test('an abandoned read leaves the store usable', () =>
      withStore(async (store) => {
        for (const b of batchRun(20, 2)) await store.append(b)
        for await (const b of store.read(1)) {
          assert.equal(rangeOf(b), '1-2')
          break
        }
        await store.append(makeBatch(41, 1))
        assert.equal((await collect(store.read(1))).length, 21)
      }))
  })
}

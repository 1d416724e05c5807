import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { decodeEntry } from '../../src/core/entry.js'
import { hasCode } from '../../src/errors/index.js'
import { MemoryFrameStore, type FrameStore } from '../../src/log/frame-store.js'
import {
  FileFrameStore,
  fileFrameStores,
  type FileFrameStoreInit,
} from '../../src/log/file-frame-store.js'
import { logDirOf, segmentFileName } from '../../src/log/file-layout.js'
import { natsLogId } from '../../src/core/selector.js'
import {
  BATCH_AUTHOR,
  batchRun,
  collect,
  logInfo,
  makeBatch,
  plain,
  rangeOf,
} from '../helpers/batches.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

const info = logInfo()

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort()
}

function opener(root: string, extra: Partial<FileFrameStoreInit> = {}) {
  return (): Promise<FileFrameStore> =>
    FileFrameStore.open({ dir: logDirOf(root, info), info, ...extra })
}

describe('FileFrameStore', () => {
  test('lays a log out under <root>/<author>/<sha256(logId)>/ with log.json and 16-digit segments', async () => {
    await using tmp = await tempDir()
    const factory = fileFrameStores({ root: tmp.path, segmentBytes: 4096 })
    const store = await factory(info)
    for (const b of batchRun(10, 2, { payload: 400 })) await store.append(b)
    await store.close()
    const id = createHash('sha256').update(info.logId).digest('hex').slice(0, 32)
    const dir = join(tmp.path, BATCH_AUTHOR.publicKeyHex, id)
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'log.json'), 'utf8')), {
      version: 1,
      author: BATCH_AUTHOR.publicKeyHex,
      logId: info.logId,
      kind: 'nats',
    })
    const segs = await segmentFiles(dir)
    assert.ok(segs.length > 1, 'segments were rolled')
    assert.equal(segs[0], '0000000000000001.seg')
    for (const s of segs) assert.match(s, /^\d{16}\.seg$/)
  })

  test('reopening keeps batches, advances, low and head', async () => {
    await using tmp = await tempDir()
    const open = opener(tmp.path, { segmentBytes: 4096, tailCacheBytes: 1024 })
    const first = await open()
    for (const b of batchRun(30, 3, { payload: 100 })) await first.append(b)
    await first.advance(95)
    await first.append(makeBatch(96, 2))
    await first.advance(120)
    const before = (await collect(first.read(1))).map(plain)
    await first.close()

    const second = await open()
    assert.equal(second.low, 1)
    assert.equal(second.head, 120)
    assert.deepEqual((await collect(second.read(1))).map(plain), before)
    assert.deepEqual((await collect(second.read(90))).map(rangeOf), ['88-90', '96-97'])
    assert.deepEqual((await collect(second.read(91))).map(rangeOf), ['96-97'])
    assert.deepEqual((await collect(second.read(98))).map(rangeOf), [])
    await second.append(makeBatch(121, 1))
    // a gap restarts the log; the restart survives a reopen too
    await second.append(makeBatch(200, 5))
    await second.close()

    const third = await open()
    assert.equal(third.low, 200)
    assert.equal(third.head, 204)
    assert.deepEqual((await collect(third.read(1))).map(rangeOf), ['200-204'])
    assert.equal((await segmentFiles(third.dir)).length, 1)
    await third.close()
  })

  test('a crashed process (no close) loses no acknowledged append', async () => {
    await using tmp = await tempDir()
    const open = opener(tmp.path, { segmentBytes: 8192 })
    const crashed = await open()
    for (const b of batchRun(40, 2, { payload: 64 })) await crashed.append(b)
    await crashed.advance(85)
    const reopened = await open()
    assert.equal(reopened.head, 85)
    assert.equal((await collect(reopened.read(1))).length, 40)
    await reopened.close()
    await crashed.close()
  })

  test('appends after close are refused with FRAME_STORE_CLOSED', async () => {
    await using tmp = await tempDir()
    const store = await opener(tmp.path)()
    await store.append(makeBatch(1, 1))
    await store.close()
    await store.close()
    const closed = (err: unknown): boolean => hasCode(err, 'FRAME_STORE_CLOSED')
    await assert.rejects(store.append(makeBatch(2, 1)), closed)
    await assert.rejects(store.advance(9), closed)
    assert.deepEqual((await collect(store.read(1))).map(rangeOf), ['1-1'])
  })

  test('retention deletes whole segment files, bounds the bytes and survives a reopen', async () => {
    await using tmp = await tempDir()
    const maxBytes = 64 * 1024
    const open = opener(tmp.path, { maxBytes, segmentBytes: 16 * 1024 })
    const store = await open()
    for (const b of batchRun(200, 2, { payload: 700 })) await store.append(b)
    const stats = store.stats()
    assert.ok(stats.bytes <= maxBytes, `${stats.bytes} bytes kept`)
    assert.ok(store.low > 1)
    await waitFor(async () => (await segmentFiles(store.dir)).length === stats.segments)
    const segs = await segmentFiles(store.dir)
    assert.equal(Number(segs[0]!.slice(0, 16)), store.low)
    const kept = (await collect(store.read(1))).map(rangeOf)
    const low = store.low
    await store.close()

    const again = await open()
    assert.equal(again.low, low)
    assert.equal(again.head, 400)
    assert.deepEqual((await collect(again.read(1))).map(rangeOf), kept)
    await again.close()
  })

  test('a smaller maxBytes at open applies retention at once', async () => {
    await using tmp = await tempDir()
    const big = await opener(tmp.path, { segmentBytes: 8192 })()
    for (const b of batchRun(100, 2, { payload: 500 })) await big.append(b)
    await big.close()
    const small = await opener(tmp.path, { segmentBytes: 8192, maxBytes: 32 * 1024 })()
    assert.ok(small.low > 1)
    assert.ok(small.stats().bytes <= 32 * 1024)
    assert.equal(small.head, 200)
    await small.close()
  })

  test('100k entries are read back in order, from memory, from disk and after a reopen', async () => {
    await using tmp = await tempDir()
    const open = opener(tmp.path, { segmentBytes: 1024 * 1024, tailCacheBytes: 64 * 1024 })
    const store = await open()
    for (const b of batchRun(1000, 100, { payload: 8 })) await store.append(b)
    const check = async (s: FrameStore, from: number): Promise<void> => {
      let want = from
      for await (const b of s.read(from)) {
        for (const it of b.batch.items) {
          const seq = decodeEntry(it.bytes).seq
          if (seq < from) continue
          assert.equal(seq, want)
          want++
        }
      }
      assert.equal(want, 100_001)
    }
    await check(store, 1)
    await check(store, 54_321)
    await check(store, 99_990)
    await store.close()
    const reopened = await open()
    assert.ok(reopened.stats().segments > 1)
    await check(reopened, 1)
    await check(reopened, 54_321)
    await reopened.close()
  })

  test('a reader keeps the segments it reads while retention deletes them', async () => {
    await using tmp = await tempDir()
    const store = await opener(tmp.path, {
      maxBytes: 32 * 1024,
      segmentBytes: 8192,
      tailCacheBytes: 0,
    })()
    const first = batchRun(40, 2, { payload: 300 })
    for (const b of first) await store.append(b)
    const low = store.low
    const firstSeg = join(store.dir, segmentFileName(low))
    const iter = store.read(low)[Symbol.asyncIterator]()
    const seen = [(await iter.next()).value as (typeof first)[0]]
    for (const b of batchRun(80, 2, { payload: 300 }).slice(40)) await store.append(b)
    assert.ok(store.low > 80, 'the segments being read were dropped')
    assert.ok(existsSync(firstSeg), 'a segment in use stays until its reader is done')
    for (let r = await iter.next(); !r.done; r = await iter.next()) seen.push(r.value)
    const ranges = seen.map(rangeOf)
    assert.equal(ranges[ranges.length - 1], '79-80')
    for (let i = 1; i < seen.length; i++)
      assert.equal(seen[i]!.batch.header.firstSeq, seen[i - 1]!.batch.header.lastSeq + 1)
    await waitFor(() => !existsSync(firstSeg), { message: 'dropped segment deleted' })
    await store.close()
  })

  test('fsync "batch" mode writes and reopens the same', async () => {
    await using tmp = await tempDir()
    const open = opener(tmp.path, { fsync: 'batch', segmentBytes: 4096 })
    const store = await open()
    for (const b of batchRun(10, 2, { payload: 300 })) await store.append(b)
    await store.append(makeBatch(30, 1))
    await store.close()
    const again = await open()
    assert.equal(again.low, 30)
    assert.equal(again.head, 30)
    await again.close()
  })

  test('a directory whose log.json names another log is emptied', async () => {
    await using tmp = await tempDir()
    const store = await opener(tmp.path)()
    await store.append(makeBatch(1, 2))
    await store.close()
    const meta = join(store.dir, 'log.json')
    const other = JSON.parse(await readFile(meta, 'utf8')) as { logId: string }
    other.logId = natsLogId('other', 'OTHER', 1)
    await writeFile(meta, JSON.stringify(other))
    const again = await opener(tmp.path)()
    assert.equal(again.head, 0)
    assert.deepEqual(await segmentFiles(again.dir), [])
    assert.equal((JSON.parse(await readFile(meta, 'utf8')) as { logId: string }).logId, info.logId)
    await again.close()
  })

  test('behaves like MemoryFrameStore for any sequence of appends, advances and reopens', async () => {
    type Op =
      | { op: 'append'; offset: number; count: number; keep: boolean }
      | { op: 'advance'; by: number }
      | { op: 'reopen' }
      | { op: 'read'; back: number }
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        op: fc.constant('append' as const),
        offset: fc.integer({ min: -3, max: 3 }),
        count: fc.integer({ min: 1, max: 6 }),
        keep: fc.boolean(),
      }),
      fc.record({ op: fc.constant('advance' as const), by: fc.integer({ min: -2, max: 4 }) }),
      fc.record({ op: fc.constant('reopen' as const) }),
      fc.record({ op: fc.constant('read' as const), back: fc.integer({ min: 0, max: 30 }) }),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 25 }), async (ops) => {
        await using tmp = await tempDir()
        const open = opener(tmp.path, { segmentBytes: 4096, tailCacheBytes: 2048 })
        const model = new MemoryFrameStore(info)
        let store = await open()
        try {
          for (const o of ops) {
            if (o.op === 'append') {
              // offset < 0: overlaps the head, 0: chains on, > 0: leaves a gap
              const first = Math.max(1, model.head + 1 + o.offset)
              const count = Math.max(o.count, model.head + 1 - first + (o.keep ? 1 : 0))
              const b = makeBatch(first, count, { payload: 300 })
              await model.append(b)
              await store.append(b)
            } else if (o.op === 'advance') {
              const through = model.head + o.by
              await model.advance(through)
              await store.advance(through)
            } else if (o.op === 'reopen') {
              await store.close()
              store = await open()
            } else {
              const from = Math.max(0, model.head - o.back)
              const want = (await collect(model.read(from))).map(plain)
              assert.deepEqual((await collect(store.read(from))).map(plain), want)
            }
            assert.equal(store.head, model.head)
            assert.equal(store.low, model.low)
          }
          assert.deepEqual(
            (await collect(store.read(1))).map(plain),
            (await collect(model.read(1))).map(plain),
          )
        } finally {
          await store.close()
        }
      }),
      { numRuns: 100 },
    )
  })
})

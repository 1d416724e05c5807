/**
 * FileFrameStore after crashes and damage: torn tails are truncated at open,
 * damaged records are never served, and stale segments are removed.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import {
  appendFile,
  mkdir,
  readFile,
  readdir,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { hasCode } from '../../src/errors/index.js'
import type { StoredBatch } from '../../src/log/frame-store.js'
import { FileFrameStore, type FileFrameStoreInit } from '../../src/log/file-frame-store.js'
import { logDirOf } from '../../src/log/file-layout.js'
import { encodeBatchRecord } from '../../src/log/segment-format.js'
import { batchRun, collect, logInfo, makeBatch, plain, rangeOf } from '../helpers/batches.js'
import { captureLogs } from '../helpers/logs.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

const info = logInfo()

async function segmentPaths(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => join(dir, n))
}

/** Offsets of the records in a segment file. */
function recordOffsets(bytes: Buffer): number[] {
  const out: number[] = []
  for (let at = 0; at + 8 <= bytes.length; at += 8 + bytes.readUInt32LE(at)) out.push(at)
  return out
}

/** Flips one byte in the payload of the record at `offset`. */
function damage(bytes: Buffer, offset: number): void {
  const at = offset + 8 + bytes.readUInt32LE(offset) - 40
  bytes[at] = bytes[at]! ^ 0xff
}

async function setup(extra: Partial<FileFrameStoreInit> = {}) {
  const tmp = await tempDir('rhio-frames-')
  const capture = captureLogs()
  const logger = capture.logs.forComponent('frames')
  const open = (): Promise<FileFrameStore> =>
    FileFrameStore.open({ dir: logDirOf(tmp.path, info), info, logger, ...extra })
  return { tmp, capture, open }
}

describe('FileFrameStore recovery', () => {
  const nextRecord = encodeBatchRecord(makeBatch(41, 2, { payload: 100 }))
  const tails: Array<[string, Uint8Array]> = [
    ['half a record', nextRecord.subarray(0, nextRecord.length >> 1)],
    ['a record header only', nextRecord.subarray(0, 8)],
    ['garbage', randomBytes(1000)],
    ['zeros (file grown by a crash)', new Uint8Array(4096)],
    [
      'a whole record with a bad checksum',
      (() => {
        const b = Buffer.from(nextRecord)
        damage(b, 0)
        return b
      })(),
    ],
  ]
  for (const [what, tail] of tails) {
    test(`a torn tail (${what}) is truncated, logged, and the rest served`, async () => {
      const { tmp, capture, open } = await setup()
      await using _ = tmp
      const batches = batchRun(20, 2, { payload: 100 })
      const store = await open()
      for (const b of batches) await store.append(b)
      await store.close()
      const [seg] = await segmentPaths(store.dir)
      const size = (await stat(seg!)).size
      await appendFile(seg!, tail)

      const reopened = await open()
      assert.equal(reopened.head, 40)
      assert.deepEqual((await collect(reopened.read(1))).map(plain), batches.map(plain))
      assert.equal((await stat(seg!)).size, size)
      assert.ok(
        capture.messages('frames').some((m) => m.startsWith('truncating a torn or damaged tail')),
      )
      await reopened.append(makeBatch(41, 2))
      await reopened.close()
      const again = await open()
      assert.equal(again.head, 42)
      assert.equal((await collect(again.read(1))).length, 21)
      await again.close()
    })
  }

  async function threeSegments(extra: Partial<FileFrameStoreInit> = {}) {
    const s = await setup({ segmentBytes: 4096, tailCacheBytes: 0, ...extra })
    const batches = batchRun(30, 2, { payload: 300 })
    const store = await s.open()
    for (const b of batches) await store.append(b)
    await store.close()
    const segs = await segmentPaths(store.dir)
    assert.ok(segs.length >= 3)
    return { ...s, batches, segs }
  }

  /** Reads from 1 until the read fails; returns what was served and the error. */
  async function readUntilError(store: FileFrameStore): Promise<[StoredBatch[], unknown]> {
    const served: StoredBatch[] = []
    try {
      for await (const b of store.read(1)) served.push(b)
    } catch (err) {
      return [served, err]
    }
    return [served, undefined]
  }

  test('a damaged record in an older segment is never served; low moves past it', async () => {
    const { tmp, capture, open, batches, segs } = await threeSegments()
    await using _ = tmp
    const bytes = await readFile(segs[0]!)
    const offsets = recordOffsets(bytes)
    damage(bytes, offsets[1]!)
    await writeFile(segs[0]!, bytes)

    const store = await open()
    assert.equal(store.low, 1)
    const [served, err] = await readUntilError(store)
    assert.ok(
      hasCode(err, 'FRAME_STORE_CORRUPT'),
      `expected FRAME_STORE_CORRUPT, got ${String(err)}`,
    )
    assert.deepEqual(served.map(plain), batches.slice(0, 1).map(plain))
    const secondStart = Number(segs[1]!.slice(-20, -4))
    assert.equal(store.low, secondStart)
    const rest = await collect(store.read(store.low))
    assert.equal(rangeOf(rest[rest.length - 1]!), '59-60')
    assert.ok(rest[0]!.batch.header.lastSeq >= store.low)
    assert.ok(
      capture.messages('frames').some((m) => m.startsWith('frame store segment is damaged')),
    )
    await store.close()
    await waitFor(async () => !(await segmentPaths(store.dir)).includes(segs[0]!))
    const again = await open()
    assert.equal(again.low, secondStart)
    await again.close()
  })

  const missing: Array<[string, (segs: string[]) => Promise<void>]> = [
    [
      'a sealed segment lost its last record',
      async (segs) => {
        const bytes = await readFile(segs[0]!)
        const offsets = recordOffsets(bytes)
        await truncate(segs[0]!, offsets[offsets.length - 1]!)
      },
    ],
    ['a middle segment file is missing', (segs) => rm(segs[1]!)],
  ]
  for (const [what, harm] of missing) {
    test(`coverage is never claimed where records are missing (${what})`, async () => {
      const { tmp, open, segs } = await threeSegments()
      await using _ = tmp
      await harm(segs)
      const store = await open()
      const [served, err] = await readUntilError(store)
      assert.ok(
        hasCode(err, 'FRAME_STORE_CORRUPT'),
        `expected FRAME_STORE_CORRUPT, got ${String(err)}`,
      )
      assert.deepEqual(served, [])
      assert.ok(store.low > 1)
      const rest = await collect(store.read(store.low))
      for (let i = 1; i < rest.length; i++)
        assert.equal(rest[i]!.batch.header.firstSeq, rest[i - 1]!.batch.header.lastSeq + 1)
      assert.equal(rest[rest.length - 1]!.batch.header.lastSeq, 60)
      await store.close()
    })
  }

  test('damage in the segment being written is dropped and appends carry on', async () => {
    const { tmp, open } = await setup({ tailCacheBytes: 0 })
    await using _ = tmp
    const store = await open()
    for (const b of batchRun(5, 2, { payload: 100 })) await store.append(b)
    const [seg] = await segmentPaths(store.dir)
    const bytes = await readFile(seg!)
    damage(bytes, recordOffsets(bytes)[2]!)
    await writeFile(seg!, bytes)
    const [served, err] = await readUntilError(store)
    assert.ok(hasCode(err, 'FRAME_STORE_CORRUPT'))
    assert.deepEqual(served.map(rangeOf), ['1-2', '3-4'])
    assert.equal(store.low, 11)
    assert.equal(store.head, 10)
    await store.append(makeBatch(11, 2))
    assert.deepEqual((await collect(store.read(1))).map(rangeOf), ['11-12'])
    await store.close()
    const again = await open()
    assert.equal(again.low, 11)
    assert.equal(again.head, 12)
    await again.close()
  })

  test('a failed write rejects with FRAME_STORE_WRITE_FAILED and changes nothing', async () => {
    const { tmp, open } = await setup({ segmentBytes: 4096 })
    await using _ = tmp
    const store = await open()
    await store.append(makeBatch(1, 2, { payload: 1000 }))
    await rm(store.dir, { recursive: true })
    // the next segment cannot be created in the missing directory
    const failed = (err: unknown): boolean => hasCode(err, 'FRAME_STORE_WRITE_FAILED')
    await assert.rejects(store.append(makeBatch(3, 4, { payload: 1000 })), failed)
    assert.equal(store.head, 2)
    await mkdir(store.dir)
    await store.append(makeBatch(3, 4, { payload: 1000 }))
    assert.equal(store.head, 6)
    await store.close()
  })

  test('a directory that cannot be created fails with FRAME_STORE_OPEN_FAILED', async () => {
    await using tmp = await tempDir('rhio-frames-')
    const file = join(tmp.path, 'file')
    await writeFile(file, 'x')
    await assert.rejects(FileFrameStore.open({ dir: join(file, 'log'), info }), (err: unknown) =>
      hasCode(err, 'FRAME_STORE_OPEN_FAILED'),
    )
  })

  test('segments older than a restart are removed at open (crash before they were deleted)', async () => {
    const { tmp, open } = await setup()
    await using _ = tmp
    const store = await open()
    for (const b of batchRun(5, 2)) await store.append(b)
    const [old] = await segmentPaths(store.dir)
    const oldBytes = await readFile(old!)
    await store.append(makeBatch(50, 3))
    await store.close()
    await writeFile(old!, oldBytes)

    const reopened = await open()
    assert.equal(reopened.low, 50)
    assert.equal(reopened.head, 52)
    assert.deepEqual((await collect(reopened.read(1))).map(rangeOf), ['50-52'])
    assert.deepEqual(
      (await segmentPaths(reopened.dir)).map((p) => p.slice(-20)),
      ['0000000000000050.seg'],
    )
    await reopened.close()
  })
})

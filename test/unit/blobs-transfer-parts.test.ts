import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { blake3, computeOutboard, encodeRanges, ChunkRanges } from '../../src/bao/index.js'
import { CVS_PER_RECORD } from '../../src/blobs/constants.js'
import { holdersFromHellos } from '../../src/blobs/holders.js'
import { checkJob } from '../../src/blobs/job.js'
import { MemoryBlobIndex } from '../../src/blobs/memory-index.js'
import { OutboardPages } from '../../src/blobs/outboard-pages.js'
import { isSinglePut, partSizeFor } from '../../src/blobs/transfer-run.js'
import { TransferStore, transferId } from '../../src/blobs/transfer-store.js'
import {
  DATA_PER_FRAME,
  decodeResponseFrame,
  encodeDataFrame,
  encodeErrorFrame,
} from '../../src/blobs/wire.js'
import type { PeerHello } from '../../src/sync/hello.js'
import { MemoryStateStore } from '../../src/state/state-store.js'
import { DirObjectStore } from '../../src/store/dir-object-store.js'
import { outboardKey } from '../../src/store/layout.js'
import { SIGNATURE, jobFor } from '../helpers/blob-sites.js'
import { GROUP, MiB, testBytes } from '../helpers/sizes.js'
import { tempDir } from '../helpers/tmp.js'

describe('blobs wire frames', () => {
  test('data and error frames round-trip; anything else is rejected', () => {
    const data = encodeDataFrame(Uint8Array.of(1, 2, 3))
    assert.deepEqual(decodeResponseFrame(data), { type: 'data', bytes: Uint8Array.of(1, 2, 3) })
    assert.deepEqual(decodeResponseFrame(encodeErrorFrame('busy', 'later')), {
      type: 'error',
      code: 'busy',
      message: 'later',
    })
    assert.equal(decodeResponseFrame(Uint8Array.of(0)), undefined, 'empty data frame')
    assert.equal(decodeResponseFrame(Uint8Array.of(9, 1)), undefined, 'unknown tag')
    assert.equal(decodeResponseFrame(new Uint8Array(0)), undefined)
    assert.deepEqual(decodeResponseFrame(Uint8Array.of(1, 200)), {
      type: 'error',
      code: 'unknown',
      message: '',
    })
    assert.equal(encodeErrorFrame('internal', 'x'.repeat(5000)).length, 2 + 512)
    assert.throws(() => encodeDataFrame(new Uint8Array(DATA_PER_FRAME + 1)), RangeError)
    assert.throws(() => encodeDataFrame(new Uint8Array(0)), RangeError)
  })
})

describe('MemoryBlobIndex', () => {
  test('adds, replaces by location, removes, forgets empty hashes', () => {
    const idx = new MemoryBlobIndex()
    const h = blake3(Uint8Array.of(1))
    idx.add(h, { bucket: 'a', key: 'k', size: 1 })
    idx.add(h, { bucket: 'b', key: 'k', size: 1 })
    idx.add(h, { bucket: 'a', key: 'k', size: 2 })
    assert.deepEqual(idx.lookup(h), [
      { bucket: 'a', key: 'k', size: 2 },
      { bucket: 'b', key: 'k', size: 1 },
    ])
    idx.remove(h, 'a', 'k')
    assert.deepEqual(idx.lookup(h), [{ bucket: 'b', key: 'k', size: 1 }])
    idx.remove(h, 'b', 'k')
    assert.deepEqual(idx.lookup(h), [])
    assert.equal(idx.size, 0)
  })
})

describe('part geometry and jobs', () => {
  test('part sizes grow only when 10 000 parts would not do; small blobs use one PUT', () => {
    assert.equal(partSizeFor(40 * MiB, 8 * MiB), 8 * MiB)
    const huge = 200 * 1024 * MiB // 200 GiB at 8 MiB would need 25 600 parts
    const ps = partSizeFor(huge, 8 * MiB)
    assert.ok(ps % GROUP === 0 && Math.ceil(huge / ps) <= 10_000 && ps < 21 * MiB)
    assert.equal(isSinglePut(8 * MiB, 8 * MiB), true)
    assert.equal(isSinglePut(8 * MiB + 1, 8 * MiB), false)
    assert.equal(isSinglePut(5 * MiB + 1, 5 * MiB), false)
    assert.equal(isSinglePut(8 * MiB, 16 * MiB), true)
    assert.equal(isSinglePut(9 * MiB, 16 * MiB), false, 'never buffers more than 8 MiB')
  })

  test('jobs are checked before they are queued', () => {
    const ok = jobFor(new Uint8Array(32), 'src', 'dst', 'k', blake3(Uint8Array.of(1)), 1)
    assert.deepEqual(checkJob(ok), ok)
    const bad = [
      { ...ok, key: '.rhio/k.rhio.json' },
      { ...ok, key: '' },
      { ...ok, size: -1 },
      { ...ok, size: 1.5 },
      { ...ok, hash: new Uint8Array(31) },
      { ...ok, author: new Uint8Array(3) },
      { ...ok, signature: SIGNATURE.toUpperCase() },
      { ...ok, seq: -2 },
      { ...ok, localBucket: '' },
    ]
    for (const j of bad) assert.throws(() => checkJob(j), { code: 'BLOB_JOB_INVALID' })
  })

  test('holders: connected peers holding (author, blobs, bucket), the author first', () => {
    const author = new Uint8Array(32).fill(9)
    // what the hello service lists: connected peers that said hello
    const view = (id: string, pk: Uint8Array, filters: string[]): PeerHello =>
      ({
        peer: { id, publicKey: pk, connected: true },
        hello: { version: 1, holds: [{ author, kind: 'blobs', filters }], wants: [] },
      }) as unknown as PeerHello
    const peers = [
      view('cc', new Uint8Array(32).fill(3), ['b1', 'b2']),
      view('aa', new Uint8Array(32).fill(1), ['b1']),
      view('99', author, ['b1']),
      view('bb', new Uint8Array(32).fill(2), ['other']),
    ]
    const find = holdersFromHellos({ list: () => peers })
    assert.deepEqual(find(author, 'b1'), [{ id: '99' }, { id: 'aa' }, { id: 'cc' }])
    assert.deepEqual(find(author, 'b2'), [{ id: 'cc' }])
    assert.deepEqual(find(new Uint8Array(32), 'b1'), [])
  })
})

describe('TransferStore', () => {
  test('records round-trip; parts of another upload and malformed records are ignored', async () => {
    const state = new MemoryStateStore()
    const s = new TransferStore(state)
    const id = transferId('dst', 'a/b.bin')
    assert.match(id, /^[0-9a-f]{32}$/)
    assert.notEqual(id, transferId('dst', 'a/b.bin2'))
    const job = jobFor(
      new Uint8Array(32).fill(5),
      'src',
      'dst',
      'a/b.bin',
      blake3(Uint8Array.of(7)),
      12 * MiB,
      3,
    )
    const rec = {
      job,
      partSize: 5 * MiB,
      uploadId: 'u1',
      completedEtag: null,
      startedAt: 1234,
      creatingSince: null,
    }
    await s.saveRecord(id, rec)
    assert.deepEqual(await s.loadRecord(id), rec)
    const cvs = (n: number): Uint8Array => testBytes(n * 32, n)
    await s.savePart(id, 1, 'u1', { etag: '"e1"', cvs: cvs(320) })
    await s.savePart(id, 2, 'u0', { etag: '"old"', cvs: cvs(320) })
    await s.savePart(id, 3, 'u1', { etag: '"e3"', cvs: cvs(10) })
    const parts = await s.loadParts(id, 'u1', (n) => (n === 3 ? 128 * 32 : 320 * 32))
    assert.deepEqual([...parts.keys()], [1], 'part 2 is of another upload, part 3 has too few CVs')
    assert.deepEqual(parts.get(1), { etag: '"e1"', cvs: cvs(320) })
    await state.put(`blobs.transfer.${transferId('x', 'y')}`, { v: 1, key: 3 })
    assert.deepEqual(await s.loadRecords(), [{ id, record: rec }])
    assert.equal(await state.get(`blobs.transfer.${transferId('x', 'y')}`), undefined)
    await s.clear(id)
    assert.deepEqual(await state.keys('blobs.'), [])
  })

  test('CVs of a large part are split over several values, each far below 1 MiB', async () => {
    const state = new MemoryStateStore()
    const s = new TransferStore(state)
    const n = 2 * CVS_PER_RECORD + 5 // a 272 MiB part
    const cvs = testBytes(n * 32, 1)
    await s.savePart('abc', 4, 'u', { etag: '"e"', cvs })
    const keys = await state.keys('blobs.transfer.abc.')
    assert.equal(keys.length, 3)
    for (const k of keys) assert.ok(JSON.stringify(await state.get(k)).length < 400 * 1024, k)
    const back = await s.loadParts('abc', 'u', () => n * 32)
    assert.deepEqual(back.get(4)?.cvs, cvs)
    // a missing extra value makes the part unknown (it is fetched again)
    await state.delete('blobs.transfer.abc.part.4.cvs.2')
    assert.equal((await s.loadParts('abc', 'u', () => n * 32)).size, 0)
  })

  test('pending aborts are listed and removed', async () => {
    const s = new TransferStore(new MemoryStateStore())
    await s.addAbort('abc', { bucket: 'b', key: 'k', uploadId: 'u/1+x' })
    const [a] = await s.loadAborts()
    assert.deepEqual(a?.abort, { bucket: 'b', key: 'k', uploadId: 'u/1+x' })
    await s.removeAbort(a!.key)
    assert.deepEqual(await s.loadAborts(), [])
  })
})

describe('OutboardPages', () => {
  test('serves outboard pairs by page with an LRU bounded by bytes', async () => {
    await using dir = await tempDir()
    await mkdir(join(dir.path, 'b'))
    const store = new DirObjectStore({ root: dir.path })
    try {
      const data = testBytes(4 * MiB + 7, 3)
      const { hash, outboard } = await computeOutboard([data])
      await store.put('b', outboardKey('k'), outboard)
      const pages = new OutboardPages(store, { pageBytes: 4096, maxBytes: 3 * 4096 })
      const loc = { bucket: 'b', key: 'k', size: data.length }
      const read = pages.reader(hash, loc)
      const readData = async function* (
        offset: number,
        length: number,
      ): AsyncGenerator<Uint8Array> {
        yield data.subarray(offset, offset + length)
      }
      const out: Uint8Array[] = []
      for await (const p of encodeRanges(
        { hash, size: data.length, outboard: read, readData },
        ChunkRanges.all(),
      )) {
        out.push(p)
      }
      const full: Uint8Array[] = []
      for await (const p of encodeRanges(
        { hash, size: data.length, outboard, readData },
        ChunkRanges.all(),
      )) {
        full.push(p)
      }
      assert.deepEqual(Buffer.concat(out), Buffer.concat(full))
      assert.ok(pages.bytes <= 3 * 4096)
      assert.equal(pages.loads, Math.ceil(outboard.length / 4096))
      pages.invalidate('b', 'k')
      assert.equal(pages.bytes, 0)
    } finally {
      await store.close()
    }
  })
})

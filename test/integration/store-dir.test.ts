import assert from 'node:assert/strict'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { hasCode } from '../../src/errors/index.js'
import { DirObjectStore } from '../../src/store/dir-object-store.js'
import { STORE_DIR } from '../../src/store/dir-paths.js'
import { StoreErrorCode } from '../../src/store/errors.js'
import { S3_MIN_PART, testBytes } from '../helpers/sizes.js'
import { keysOf, md5Etag, objectStoreContract, readAll } from '../helpers/store-contract.js'
import { tempDir, type TempDir } from '../helpers/tmp.js'

objectStoreContract('DirObjectStore', async () => {
  const dir = await tempDir('rhio-store-dir-')
  return {
    store: new DirObjectStore({ root: dir.path }),
    createBucket: async (name) => {
      await mkdir(join(dir.path, name))
    },
    dispose: async () => {
      await dir[Symbol.asyncDispose]()
    },
  }
})

describe('DirObjectStore specifics', () => {
  async function setup(): Promise<{ dir: TempDir; store: DirObjectStore; bucket: string }> {
    const dir = await tempDir('rhio-store-dir-')
    const store = new DirObjectStore({ root: dir.path })
    await store.createBucket('b')
    return { dir, store, bucket: join(dir.path, 'b') }
  }
  const invalidKey = (err: unknown): boolean => hasCode(err, StoreErrorCode.INVALID_KEY)

  test('its own directory is never listed and keys inside it are rejected', async () => {
    const { dir, store, bucket } = await setup()
    await using _ = dir
    const id = await store.createMultipart('b', 'x')
    await store.uploadPart('b', 'x', id, 1, testBytes(10), 10)
    await store.put('b', 'x2', testBytes(3))
    assert.ok((await readdir(join(bucket, STORE_DIR))).length > 0)
    assert.deepEqual(await keysOf(store, 'b'), ['x2'])
    assert.deepEqual(await keysOf(store, 'b', '.rhio-'), [])
    for (const key of [`${STORE_DIR}/tmp/x`, STORE_DIR]) {
      await assert.rejects(store.put('b', key, testBytes(1)), invalidKey)
      await assert.rejects(store.head('b', key), invalidKey)
      await assert.rejects(store.get('b', key), invalidKey)
      await assert.rejects(store.delete('b', key), invalidKey)
    }
  })

  test('keys a filesystem cannot hold are rejected with S3_INVALID_KEY', async () => {
    const { dir, store } = await setup()
    await using _ = dir
    for (const key of [
      '',
      'a//b',
      'dir/',
      '/abs',
      '../escape',
      'a/./b',
      'a/../b',
      'nul\0',
      'x'.repeat(256),
    ]) {
      await assert.rejects(store.put('b', key, testBytes(1)), invalidKey, JSON.stringify(key))
    }
    await assert.rejects(store.put('b', 'y'.repeat(1025), testBytes(1)), invalidKey)
    await assert.rejects(store.put('../b', 'k', testBytes(1)), invalidKey)
    await assert.rejects(store.put('.hidden', 'k', testBytes(1)), invalidKey)
    assert.deepEqual(await readdir(dir.path), ['b'])
    // A path too long for a key, made by hand, is skipped by list rather than failing it.
    const deep = Array.from({ length: 5 }, () => 'd'.repeat(250))
    await mkdir(join(dir.path, 'b', ...deep.slice(0, -1)), { recursive: true })
    await writeFile(join(dir.path, 'b', ...deep), 'x')
    await store.put('b', 'ok', testBytes(1))
    assert.deepEqual(await keysOf(store, 'b'), ['ok'])
  })

  test('a key cannot be both an object and the parent path of another', async () => {
    const { dir, store } = await setup()
    await using _ = dir
    await store.put('b', 'a', testBytes(1))
    await assert.rejects(store.put('b', 'a/b', testBytes(1)), invalidKey)
    await store.put('b', 'c/d', testBytes(1))
    await assert.rejects(store.put('b', 'c', testBytes(1)), invalidKey)
    const id = await store.createMultipart('b', 'c')
    const part = testBytes(10)
    const etag = await store.uploadPart('b', 'c', id, 1, part, part.length)
    await assert.rejects(
      store.completeMultipart('b', 'c', id, [{ partNumber: 1, etag }]),
      invalidKey,
    )
    assert.deepEqual(await keysOf(store, 'b'), ['a', 'c/d'])
    assert.deepEqual(await readdir(join(dir.path, 'b', STORE_DIR, 'tmp')), [], 'no temp file left')
  })

  test('S3 multipart rules: ETags, order, minimum part size, unknown uploads', async () => {
    const { dir, store } = await setup()
    await using _ = dir
    const invalidPart = (err: unknown): boolean => hasCode(err, StoreErrorCode.INVALID_PART)
    const noUpload = (err: unknown): boolean => hasCode(err, StoreErrorCode.NO_SUCH_UPLOAD)
    const id = await store.createMultipart('b', 'm')
    const small = await store.uploadPart('b', 'm', id, 1, testBytes(100), 100)
    const big = await store.uploadPart('b', 'm', id, 2, testBytes(S3_MIN_PART), S3_MIN_PART)
    const last = await store.uploadPart('b', 'm', id, 3, testBytes(7), 7)
    const complete = (parts: { partNumber: number; etag: string }[]): Promise<string> =>
      store.completeMultipart('b', 'm', id, parts)
    await assert.rejects(complete([]), invalidPart)
    await assert.rejects(complete([{ partNumber: 2, etag: md5Etag(testBytes(1)) }]), invalidPart)
    await assert.rejects(complete([{ partNumber: 4, etag: last }]), invalidPart)
    await assert.rejects(
      complete([
        { partNumber: 3, etag: last },
        { partNumber: 2, etag: big },
      ]),
      invalidPart,
    )
    await assert.rejects(
      complete([
        { partNumber: 1, etag: small },
        { partNumber: 3, etag: last },
      ]),
      invalidPart,
      'a part below 5 MiB that is not the last',
    )
    await assert.rejects(store.uploadPart('b', 'm', 'f'.repeat(32), 1, testBytes(1), 1), noUpload)
    await assert.rejects(store.uploadPart('b', 'other-key', id, 1, testBytes(1), 1), noUpload)
    await assert.rejects(store.uploadPart('b', 'm', '../../x', 1, testBytes(1), 1), noUpload)
    // ETags may come without quotes (as some servers list them).
    const etag = await complete([
      { partNumber: 2, etag: big.slice(1, -1) },
      { partNumber: 3, etag: last },
    ])
    assert.match(etag, /^"[0-9a-f]{32}-2"$/)
    assert.equal((await store.head('b', 'm'))?.size, S3_MIN_PART + 7)
    assert.deepEqual(
      await readdir(join(dir.path, 'b', STORE_DIR, 'multipart')),
      [],
      'staging removed',
    )
    await assert.rejects(complete([{ partNumber: 3, etag: last }]), noUpload)
    const aborted = await store.createMultipart('b', 'n')
    await store.uploadPart('b', 'n', aborted, 1, testBytes(5), 5)
    await store.abortMultipart('b', 'n', aborted)
    assert.deepEqual(await readdir(join(dir.path, 'b', STORE_DIR, 'multipart')), [])
  })

  test('ETags survive a new store instance; foreign and rewritten files get their MD5', async () => {
    const { dir, store, bucket } = await setup()
    await using _ = dir
    const id = await store.createMultipart('b', 'multi')
    const p1 = testBytes(S3_MIN_PART, 1)
    const e1 = await store.uploadPart('b', 'multi', id, 1, p1, p1.length)
    const e2 = await store.uploadPart('b', 'multi', id, 2, testBytes(3), 3)
    const multiEtag = await store.completeMultipart('b', 'multi', id, [
      { partNumber: 1, etag: e1 },
      { partNumber: 2, etag: e2 },
    ])
    const again = new DirObjectStore({ root: dir.path })
    assert.equal((await again.head('b', 'multi'))?.etag, multiEtag, 'kept by the sidecar')
    await writeFile(join(bucket, 'dropped.txt'), 'by hand')
    assert.equal((await again.head('b', 'dropped.txt'))?.etag, md5Etag(Buffer.from('by hand')))
    await writeFile(join(bucket, 'dropped.txt'), 'rewritten in place')
    const listed = new Map<string, string>()
    for await (const o of again.list('b')) listed.set(o.key, o.etag)
    assert.equal(listed.get('dropped.txt'), md5Etag(Buffer.from('rewritten in place')))
    assert.equal(listed.get('multi'), multiEtag)
  })

  test('overwrites are atomic: an open reader keeps the old bytes', async () => {
    const { dir, store } = await setup()
    await using _ = dir
    const before = testBytes(200_000, 1)
    await store.put('b', 'k', before)
    const reading = await store.get('b', 'k')
    await store.put('b', 'k', testBytes(10, 2))
    assert.ok((await readAll(reading.body)).equals(before))
    assert.ok((await readAll((await store.get('b', 'k')).body)).equals(testBytes(10, 2)))
  })

  test('delete prunes emptied directories but never the bucket', async () => {
    const { dir, store, bucket } = await setup()
    await using _ = dir
    await store.put('b', 'x/y/z', testBytes(1))
    await store.put('b', 'x/w', testBytes(1))
    await store.delete('b', 'x/y/z')
    assert.deepEqual((await readdir(join(bucket, 'x'))).sort(), ['w'])
    await store.delete('b', 'x/w')
    assert.deepEqual(
      (await readdir(bucket)).filter((n) => n !== STORE_DIR),
      [],
    )
    assert.equal(await store.bucketExists('b'), true)
    await store.delete('b', 'x') // a prefix directory that no longer exists
  })

  test('the bucket must exist: it is never created by writes', async () => {
    const { dir, store } = await setup()
    await using _ = dir
    await assert.rejects(store.put('nope', 'k', testBytes(1)), (err) =>
      hasCode(err, StoreErrorCode.NO_SUCH_BUCKET),
    )
    assert.deepEqual(await readdir(dir.path), ['b'])
    await writeFile(join(dir.path, 'file-not-dir'), '')
    const status = await store.checkBucket('file-not-dir')
    assert.ok(!status.ok && hasCode(status.error, StoreErrorCode.NO_SUCH_BUCKET))
  })

  test('fsync mode writes the same objects', async () => {
    const dir = await tempDir('rhio-store-dir-')
    await using _ = dir
    const store = new DirObjectStore({ root: dir.path, fsync: true })
    await store.createBucket('b')
    const etag = await store.put('b', 'k', testBytes(1000))
    assert.equal(etag, md5Etag(testBytes(1000)))
  })
})

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { hasCode, type ErrorCode } from '../../src/errors/index.js'
import type { ObjectStore } from '../../src/store/object-store.js'
import { StoreErrorCode } from '../../src/store/errors.js'
import { CHUNK, GROUP, S3_MIN_PART, sizesUpTo, testBytes } from './sizes.js'

/** What one implementation provides to the shared contract suite. */
export interface ContractTarget {
  store: ObjectStore
  /** Creates an empty bucket with this name. */
  createBucket(name: string): Promise<void>
  /** Releases everything (servers, temp dirs). */
  dispose(): Promise<void>
  /** Known deviations of a test server from S3, each documented where the server is started. */
  quirks?: StoreQuirks
}

export interface StoreQuirks {
  /** A put whose connection is aborted mid-body still creates the (partial) object. */
  keepsAbortedUploads?: boolean
  /** Nested keys are listed in directory-walk order rather than UTF-8 byte order. */
  unsortedNestedList?: boolean
  /** A multipart object's ETag is the MD5 of its bytes instead of `"<md5 of part md5s>-N"`. */
  plainMultipartEtag?: boolean
  /** ListMultipartUploads is not implemented (and AbortMultipartUpload does nothing). */
  cannotListUploads?: boolean
}

export async function readAll(body: Readable | AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c))
  return Buffer.concat(chunks)
}

export function md5Etag(bytes: Uint8Array): string {
  return `"${createHash('md5').update(bytes).digest('hex')}"`
}

/** Yields `bytes` in chunks of `chunk` bytes, as a network source would. */
export async function* chunked(bytes: Uint8Array, chunk = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk)
}

export async function keysOf(
  store: ObjectStore,
  bucket: string,
  prefix?: string,
): Promise<string[]> {
  const keys: string[] = []
  for await (const o of store.list(bucket, prefix === undefined ? {} : { prefix })) keys.push(o.key)
  return keys
}

/**
 * Runs `fn` and fails if any error escaped as an uncaught exception meanwhile
 * (e.g. a body stream's error left without a listener by a pipe()).
 */
async function withoutUncaught(fn: () => Promise<void>): Promise<void> {
  const escaped: unknown[] = []
  const onUncaught = (err: unknown): void => {
    escaped.push(err)
  }
  process.on('uncaughtException', onUncaught)
  try {
    await fn()
    await new Promise((resolve) => setTimeout(resolve, 50))
  } finally {
    process.off('uncaughtException', onUncaught)
  }
  assert.deepEqual(escaped, [], 'errors escaped as uncaught exceptions')
}

function isCode(code: ErrorCode): (err: unknown) => boolean {
  return (err) => {
    assert.ok(hasCode(err, code), `expected ${code}, got ${String(err)}`)
    return true
  }
}

/**
 * The behaviour every ObjectStore must show, run against each implementation
 * (S3 against a real s3rver, the directory store against a temp dir).
 */
export function objectStoreContract(name: string, setup: () => Promise<ContractTarget>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let t: ContractTarget
    let n = 0
    const freshBucket = async (): Promise<string> => {
      const b = `bucket-${++n}`
      await t.createBucket(b)
      return b
    }
    before(async () => {
      t = await setup()
    })
    after(async () => {
      await t.store.close()
      await t.store.close() // idempotent
      await t.dispose()
    })

    test('checkBucket and bucketExists tell existing from missing buckets', async () => {
      const b = await freshBucket()
      assert.deepEqual(await t.store.checkBucket(b), { ok: true })
      assert.equal(await t.store.bucketExists(b), true)
      const missing = await t.store.checkBucket('no-such-bucket')
      assert.equal(missing.ok, false)
      assert.ok(!missing.ok && hasCode(missing.error, StoreErrorCode.NO_SUCH_BUCKET))
      assert.equal(await t.store.bucketExists('no-such-bucket'), false)
    })

    test('put, head, get and list round-trip every interesting size up to 5 MiB + 1', async () => {
      const b = await freshBucket()
      const sizes = sizesUpTo(S3_MIN_PART + 1)
      for (const { size, why } of sizes) {
        const bytes = testBytes(size, size % 7)
        const key = `sizes/${size}`
        const etag = await t.store.put(b, key, bytes)
        assert.equal(etag, md5Etag(bytes), `etag of ${size} (${why})`)
        const info = await t.store.head(b, key)
        assert.equal(info?.size, size, why)
        assert.equal(info?.etag, etag, why)
        assert.ok(info && Math.abs(info.lastModified.getTime() - Date.now()) < 60_000)
        const got = await t.store.get(b, key)
        assert.deepEqual(got.info.etag, etag)
        assert.equal(got.info.size, size)
        assert.deepEqual([got.start, got.end], [0, size])
        assert.ok((await readAll(got.body)).equals(bytes), `content of ${size} (${why})`)
      }
      const listed = new Map<string, { size: number; etag: string }>()
      for await (const o of t.store.list(b)) listed.set(o.key, o)
      assert.equal(listed.size, sizes.length)
      for (const { size } of sizes) {
        assert.equal(listed.get(`sizes/${size}`)?.size, size)
        assert.equal(listed.get(`sizes/${size}`)?.etag, md5Etag(testBytes(size, size % 7)))
      }
    })

    test('streamed puts of exact length equal buffered puts, 0 bytes included', async () => {
      const b = await freshBucket()
      for (const size of [0, 1, GROUP + 1, 300_000]) {
        const bytes = testBytes(size, 3)
        const etag = await t.store.put(b, `s/${size}`, {
          stream: chunked(bytes, 10_000),
          length: size,
        })
        assert.equal(etag, md5Etag(bytes))
        assert.ok((await readAll((await t.store.get(b, `s/${size}`)).body)).equals(bytes))
      }
      const zero = await t.store.head(b, 's/0')
      assert.equal(zero?.size, 0)
    })

    test('a streamed body of the wrong length fails with S3_BODY_LENGTH, quickly', () =>
      withoutUncaught(async () => {
        const b = await freshBucket()
        const started = Date.now()
        const bytes = testBytes(100_000)
        await assert.rejects(
          t.store.put(b, 'short', { stream: chunked(bytes), length: bytes.length + 1 }),
          isCode(StoreErrorCode.BODY_LENGTH),
        )
        await assert.rejects(
          t.store.put(b, 'long', { stream: chunked(bytes), length: bytes.length - 1 }),
          isCode(StoreErrorCode.BODY_LENGTH),
        )
        assert.ok(Date.now() - started < 5_000, 'no waiting for a socket timeout')
        if (!t.quirks?.keepsAbortedUploads) {
          assert.equal(await t.store.head(b, 'short'), undefined)
          assert.equal(await t.store.head(b, 'long'), undefined)
        }
      }))

    test('a failing body source fails the put with its own error', () =>
      withoutUncaught(async () => {
        const b = await freshBucket()
        const boom = new Error('source broke')
        async function* failing(): AsyncGenerator<Uint8Array> {
          yield testBytes(1000)
          throw boom
        }
        await assert.rejects(
          t.store.put(b, 'k', { stream: failing(), length: 5000 }),
          (err) => err === boom,
        )
        if (!t.quirks?.keepsAbortedUploads) assert.equal(await t.store.head(b, 'k'), undefined)
      }))

    test('overwriting a key replaces content and changes the ETag', async () => {
      const b = await freshBucket()
      const e1 = await t.store.put(b, 'k', testBytes(1000, 1))
      const e2 = await t.store.put(b, 'k', testBytes(1000, 2))
      assert.notEqual(e1, e2)
      assert.equal((await t.store.head(b, 'k'))?.etag, e2)
      assert.ok((await readAll((await t.store.get(b, 'k')).body)).equals(testBytes(1000, 2)))
      const e3 = await t.store.put(b, 'k', testBytes(10, 2))
      assert.equal((await t.store.head(b, 'k'))?.size, 10)
      assert.equal((await t.store.head(b, 'k'))?.etag, e3)
      assert.deepEqual(await keysOf(t.store, b), ['k'])
    })

    test('nested keys list in UTF-8 byte order, filtered by prefix', async () => {
      const b = await freshBucket()
      const keys = [
        'a/b/c.txt',
        'a/b.txt',
        'a-b',
        'a/b/c/d',
        'a/bc',
        'z',
        'ü ber/ñ.txt',
        'emoji/😀',
        'emoji/\uffff',
        '.rhio/a/b.txt.rhio.json',
      ]
      for (const k of keys) await t.store.put(b, k, testBytes(3))
      const utf8Order = (x: string, y: string): number =>
        Buffer.compare(Buffer.from(x), Buffer.from(y))
      const sorted = [...keys].sort(utf8Order)
      const list = async (prefix?: string): Promise<string[]> => {
        const got = await keysOf(t.store, b, prefix)
        return t.quirks?.unsortedNestedList ? got.sort(utf8Order) : got
      }
      assert.deepEqual(await list(), sorted)
      assert.deepEqual(await list('a/'), ['a/b.txt', 'a/b/c.txt', 'a/b/c/d', 'a/bc'])
      assert.deepEqual(await list('a/b'), ['a/b.txt', 'a/b/c.txt', 'a/b/c/d', 'a/bc'])
      assert.deepEqual(await list('a/b/'), ['a/b/c.txt', 'a/b/c/d'])
      assert.deepEqual(
        await list('a'),
        sorted.filter((k) => k.startsWith('a')),
      )
      assert.deepEqual(await list('.rhio/'), ['.rhio/a/b.txt.rhio.json'])
      assert.deepEqual(await list('nothing/'), [])
      assert.deepEqual(await list('a/b/c.txt'), ['a/b/c.txt'])
      assert.equal((await t.store.head(b, 'ü ber/ñ.txt'))?.size, 3)
      assert.equal(await t.store.head(b, 'a/b'), undefined, 'a prefix is not an object')
    })

    test('ranged gets return exactly [start, end) at interesting offsets', async () => {
      const b = await freshBucket()
      const size = 3 * GROUP + 5
      const bytes = testBytes(size, 9)
      const etag = await t.store.put(b, 'r', bytes)
      const cases: { start?: number; end?: number }[] = [
        { start: 0, end: 1 },
        { start: 0, end: CHUNK },
        { start: CHUNK - 1, end: CHUNK + 1 },
        { start: GROUP - 1, end: GROUP + 1 },
        { start: GROUP, end: 2 * GROUP },
        { start: size - 1, end: size },
        { start: size - 1, end: size + 1000 },
        { start: 2 * GROUP + 7 },
        { end: 10 },
        { start: 5, end: 5 },
        { start: size, end: size },
      ]
      for (const c of cases) {
        const got = await t.store.get(b, 'r', c)
        const start = c.start ?? 0
        const end = Math.min(c.end ?? size, size)
        assert.deepEqual([got.start, got.end], [start, end], JSON.stringify(c))
        assert.equal(got.info.size, size, JSON.stringify(c))
        assert.equal(got.info.etag, etag, JSON.stringify(c))
        const data = await readAll(got.body)
        assert.ok(data.equals(bytes.subarray(start, end)), `bytes of ${JSON.stringify(c)}`)
      }
      for (const c of [{ start: size }, { start: size, end: size + 1 }, { start: size + 10 }]) {
        await assert.rejects(t.store.get(b, 'r', c), isCode(StoreErrorCode.INVALID_RANGE))
      }
      await assert.rejects(t.store.get(b, 'r', { start: -1 }), RangeError)
      await assert.rejects(t.store.get(b, 'r', { start: 5, end: 4 }), RangeError)
      const empty = await t.store.put(b, 'empty', new Uint8Array(0))
      const whole = await t.store.get(b, 'empty')
      assert.equal(whole.info.etag, empty)
      assert.equal((await readAll(whole.body)).length, 0)
    })

    test('missing keys and buckets give coded errors', async () => {
      const b = await freshBucket()
      assert.equal(await t.store.head(b, 'nope'), undefined)
      await assert.rejects(t.store.get(b, 'nope'), isCode(StoreErrorCode.NO_SUCH_KEY))
      await assert.rejects(
        t.store.get(b, 'nope', { start: 0, end: 0 }),
        isCode(StoreErrorCode.NO_SUCH_KEY),
      )
      const nb = 'no-such-bucket'
      const noBucket = isCode(StoreErrorCode.NO_SUCH_BUCKET)
      await assert.rejects(t.store.head(nb, 'k'), noBucket)
      await assert.rejects(t.store.get(nb, 'k'), noBucket)
      await assert.rejects(t.store.put(nb, 'k', testBytes(1)), noBucket)
      await assert.rejects(keysOf(t.store, nb), noBucket)
      await assert.rejects(t.store.delete(nb, 'k'), noBucket)
      await assert.rejects(t.store.createMultipart(nb, 'k'), noBucket)
    })

    test('delete removes one object and tolerates missing keys', async () => {
      const b = await freshBucket()
      await t.store.put(b, 'd/1', testBytes(5))
      await t.store.put(b, 'd/2', testBytes(6))
      await t.store.put(b, 'd/sub/3', testBytes(7))
      await t.store.delete(b, 'd/sub/3')
      await t.store.delete(b, 'd/1')
      assert.equal(await t.store.head(b, 'd/1'), undefined)
      assert.equal(await t.store.head(b, 'd/sub/3'), undefined)
      await assert.rejects(t.store.get(b, 'd/1'), isCode(StoreErrorCode.NO_SUCH_KEY))
      assert.deepEqual(await keysOf(t.store, b), ['d/2'])
      await t.store.delete(b, 'd/1')
      await t.store.delete(b, 'never/was')
      // With the nested key gone, its parent path can be an object again.
      await t.store.put(b, 'd/sub', testBytes(8))
      assert.equal((await t.store.head(b, 'd/sub'))?.size, 8)
    })

    test('multipart: 3 parts of 5 MiB and a short last part, streamed and in parallel', async () => {
      const b = await freshBucket()
      const sizes = [S3_MIN_PART, S3_MIN_PART, S3_MIN_PART, 12_345]
      const total = sizes.reduce((x, y) => x + y, 0)
      const bytes = testBytes(total, 4)
      const id = await t.store.createMultipart(b, 'big/object.bin', {
        contentType: 'application/x-test',
      })
      const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((x, y) => x + y, 0))
      // Part 2 first goes up with wrong bytes, then again: the later upload wins.
      await t.store.uploadPart(
        b,
        'big/object.bin',
        id,
        2,
        chunked(testBytes(S3_MIN_PART, 99)),
        S3_MIN_PART,
      )
      const etags = await Promise.all(
        sizes.map((size, i) => {
          const part = bytes.subarray(offsets[i], (offsets[i] ?? 0) + size)
          return t.store.uploadPart(b, 'big/object.bin', id, i + 1, chunked(part), size)
        }),
      )
      const partMd5s = sizes.map((size, i) =>
        createHash('md5')
          .update(bytes.subarray(offsets[i], (offsets[i] ?? 0) + size))
          .digest(),
      )
      assert.deepEqual(
        etags,
        partMd5s.map((m) => `"${m.toString('hex')}"`),
      )
      assert.equal(await t.store.head(b, 'big/object.bin'), undefined, 'invisible until completed')
      const parts = etags.map((etag, i) => ({ partNumber: i + 1, etag }))
      const etag = await t.store.completeMultipart(b, 'big/object.bin', id, parts)
      const expected = t.quirks?.plainMultipartEtag
        ? md5Etag(bytes)
        : `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-4"`
      assert.equal(etag, expected)
      const info = await t.store.head(b, 'big/object.bin')
      assert.deepEqual([info?.size, info?.etag], [total, expected])
      const whole = await t.store.get(b, 'big/object.bin')
      const digest = createHash('sha256')
      for await (const c of whole.body as AsyncIterable<Buffer>) digest.update(c)
      assert.equal(digest.digest('hex'), createHash('sha256').update(bytes).digest('hex'))
      const across = await t.store.get(b, 'big/object.bin', {
        start: S3_MIN_PART - 3,
        end: S3_MIN_PART + 3,
      })
      assert.ok(
        (await readAll(across.body)).equals(bytes.subarray(S3_MIN_PART - 3, S3_MIN_PART + 3)),
      )
      const tail = await t.store.get(b, 'big/object.bin', { start: total - 100 })
      assert.ok((await readAll(tail.body)).equals(bytes.subarray(total - 100)))
    })

    test('completeMultipart returns the ETag that head and list report, never an empty one', async () => {
      // Ceph RGW 16.2 answers CompleteMultipartUpload with `<ETag></ETag>`.
      const b = await freshBucket()
      const bytes = testBytes(1000, 5)
      const id = await t.store.createMultipart(b, 'one-part')
      const part = await t.store.uploadPart(b, 'one-part', id, 1, bytes, bytes.length)
      const etag = await t.store.completeMultipart(b, 'one-part', id, [
        { partNumber: 1, etag: part },
      ])
      assert.notEqual(etag, '""')
      assert.equal((await t.store.head(b, 'one-part'))?.etag, etag)
      const listed: Array<[string, string]> = []
      for await (const o of t.store.list(b)) listed.push([o.key, o.etag])
      assert.deepEqual(listed, [['one-part', etag]])
    })

    test('uploadPart with a body of the wrong length fails with S3_BODY_LENGTH', async () => {
      const b = await freshBucket()
      const id = await t.store.createMultipart(b, 'p')
      await assert.rejects(
        t.store.uploadPart(b, 'p', id, 1, chunked(testBytes(1000)), 1001),
        isCode(StoreErrorCode.BODY_LENGTH),
      )
      await assert.rejects(
        t.store.uploadPart(b, 'p', id, 1, testBytes(1000), 999),
        isCode(StoreErrorCode.BODY_LENGTH),
      )
      await assert.rejects(t.store.uploadPart(b, 'p', id, 0, testBytes(1), 1), RangeError)
      await t.store.abortMultipart(b, 'p', id)
    })

    test('abortMultipart is best effort and never fails for an open or unknown upload', async () => {
      const b = await freshBucket()
      const id = await t.store.createMultipart(b, 'a')
      await t.store.uploadPart(b, 'a', id, 1, testBytes(10), 10)
      await t.store.abortMultipart(b, 'a', id)
      await t.store.abortMultipart(b, 'a', id)
      await t.store.abortMultipart(b, 'a', '0123456789abcdef0123456789abcdef')
      assert.equal(await t.store.head(b, 'a'), undefined)
    })

    test('listMultipart lists the open uploads of exactly one key, and not aborted ones', async () => {
      const b = await freshBucket()
      const before = Date.now() - 60_000
      const a1 = await t.store.createMultipart(b, 'k')
      const a2 = await t.store.createMultipart(b, 'k')
      await t.store.createMultipart(b, 'k/longer')
      const listed = await t.store.listMultipart(b, 'k')
      if (t.quirks?.cannotListUploads) return
      assert.ok(listed, 'the store can list uploads')
      assert.deepEqual(listed.map((u) => u.uploadId).sort(), [a1, a2].sort())
      assert.ok(listed.every((u) => u.initiated.getTime() >= before))
      await t.store.abortMultipart(b, 'k', a1)
      assert.deepEqual(
        (await t.store.listMultipart(b, 'k'))?.map((u) => u.uploadId),
        [a2],
      )
    })

    test('an aborted signal rejects with its reason', async () => {
      const b = await freshBucket()
      await t.store.put(b, 'k', testBytes(10))
      const ac = new AbortController()
      const reason = new Error('stop now')
      ac.abort(reason)
      const isReason = (err: unknown): boolean => err === reason
      await assert.rejects(t.store.get(b, 'k', { signal: ac.signal }), isReason)
      await assert.rejects(t.store.head(b, 'k', { signal: ac.signal }), isReason)
      await assert.rejects(keysOf2(t.store, b, ac.signal), isReason)
      await assert.rejects(
        t.store.put(b, 'k2', { stream: chunked(testBytes(10)), length: 10 }, { signal: ac.signal }),
        isReason,
      )
      assert.equal(await t.store.head(b, 'k2'), undefined)
    })

    test('aborting while a body streams stops the stream with the reason', async () => {
      const b = await freshBucket()
      const bytes = testBytes(3 * 1024 * 1024)
      await t.store.put(b, 'k', bytes)
      const ac = new AbortController()
      const reason = new Error('enough')
      const got = await t.store.get(b, 'k', { signal: ac.signal })
      let read = 0
      await assert.rejects(
        (async () => {
          for await (const c of got.body as AsyncIterable<Buffer>) {
            read += c.length
            if (read >= 64 * 1024) ac.abort(reason)
          }
        })(),
        (err) => err === reason,
      )
      assert.ok(read < bytes.length)
    })
  })
}

async function keysOf2(store: ObjectStore, bucket: string, signal: AbortSignal): Promise<string[]> {
  const keys: string[] = []
  for await (const o of store.list(bucket, { signal })) keys.push(o.key)
  return keys
}

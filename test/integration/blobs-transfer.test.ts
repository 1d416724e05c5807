import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { blake3, computeOutboard, hashEquals, hashToBase32 } from '../../src/bao/index.js'
import type { PartAttempt } from '../../src/blobs/transfer.js'
import { decodeBaoMeta } from '../../src/store/meta.js'
import { metaKey, outboardKey } from '../../src/store/layout.js'
import { BlobSite, SIGNATURE, doneOf, jobFor, metricValue } from '../helpers/blob-sites.js'
import { S3Server } from '../helpers/s3-server.js'
import { GROUP, MiB, S3_MIN_PART, testBytes } from '../helpers/sizes.js'
import { waitFor } from '../helpers/wait.js'

/** Sizes with a reason each (see helpers/sizes.ts); parts are 5 MiB in these tests. */
const SIZES = [
  0, // no network at all, empty PUT
  1,
  GROUP - 1,
  GROUP, // largest blob with an empty outboard
  GROUP + 1, // first with an outboard pair
  S3_MIN_PART - 1, // single PUT
  S3_MIN_PART, // exactly one part: still a single PUT
  S3_MIN_PART + 1, // multipart: a full part and a 1-byte part
  40 * MiB, // eight parts
]

describe('blob transfer between two sites', () => {
  let s3: S3Server
  let author: BlobSite
  let sub: BlobSite

  before(async () => {
    s3 = await S3Server.start()
    author = await BlobSite.start({
      s3,
      buckets: ['src'],
      holds: (self) => [{ author: self, kind: 'blobs', filters: ['src'] }],
    })
    sub = await BlobSite.start({ s3, buckets: ['dst', 'dst2'], staticNodes: [author.t.asStatic()] })
    await waitFor(() => sub.t.node.hello.get(author.id), { message: 'hello from author' })
  })

  after(async () => {
    await sub?.[Symbol.asyncDispose]()
    await author?.[Symbol.asyncDispose]()
    await s3?.[Symbol.asyncDispose]()
  })

  test('objects of every interesting size replicate byte-exact with outboard and meta', async () => {
    const m = sub.manager()
    await m.start()
    const items = await Promise.all(
      SIZES.map(async (size, i) => {
        const data = testBytes(size, i)
        const key = `sizes/${size}.bin`
        const hash = await author.publish('src', key, data)
        return { size, data, key, hash }
      }),
    )
    const dones = items.map((it) => doneOf(m, it.key))
    for (const it of items) {
      await m.enqueue(jobFor(author.t.key.publicKey, 'src', 'dst', it.key, it.hash, it.size, 7))
    }
    const results = await Promise.all(dones)
    for (const [i, it] of items.entries()) {
      const copy = await sub.read('dst', it.key)
      assert.equal(copy.length, it.size, it.key)
      assert.ok(hashEquals(blake3(copy), it.hash), `${it.key}: BLAKE3 differs`)
      const outboard = await sub.read('dst', outboardKey(it.key))
      const expected = await computeOutboard([it.data])
      assert.deepEqual(new Uint8Array(outboard), expected.outboard, `${it.key}: outboard`)
      const meta = decodeBaoMeta(await sub.read('dst', metaKey(it.key)))
      const head = await sub.store.head('dst', it.key)
      assert.deepEqual(meta, {
        hash: hashToBase32(it.hash),
        size: it.size,
        complete: true,
        key: it.key,
        remote_bucket_name: 'src',
        public_key: author.id,
        signature: SIGNATURE,
        seq: 7,
        etag: head!.etag,
      })
      assert.equal(results[i]!.etag, head!.etag)
      // now served by the subscriber too
      assert.equal(sub.index.lookup(it.hash).length, 1)
    }
    const total = SIZES.reduce((a, b) => a + b, 0)
    assert.equal(
      await metricValue(sub.t.registry, 'rhio_blob_bytes_total', 'direction="in"'),
      total,
    )
    const done = 'msg_type="done",local_bucket="dst",remote_bucket="src"'
    assert.equal(await metricValue(sub.t.registry, 'blobs_download_total', done), SIZES.length)
    const out = await metricValue(author.t.registry, 'rhio_blob_bytes_total', 'direction="out"')
    assert.equal(out, author.provider.servedBytes)
    assert.equal(
      await metricValue(author.t.registry, 'rhio_blob_requests_total', 'result="ok"'),
      6 + 2 + 8,
    ) // single PUTs, 2 + 8 parts
    // the 0-byte object never touched the network: the author served every other byte once
    assert.ok(author.provider.servedBytes >= total)
    assert.ok(author.provider.servedBytes < total * 1.01 + 64 * 1024)
    // the publishing side lists what it served, to whom, how much (issue 17: status page)
    const served = author.provider.outbound().filter((o) => o.key.startsWith('sizes/'))
    for (const it of items.filter((x) => x.size > 0)) {
      const o = served.find((x) => x.key === it.key)
      assert.ok(o, `${it.key} listed as served`)
      assert.equal(o.peer, sub.id)
      assert.equal(o.bucket, 'src')
      assert.equal(o.size, it.size)
      assert.ok(o.sent >= it.size, `${it.key}: ${o.sent} of ${it.size} bytes sent`)
    }
    const st = m.status().filter((s) => s.key.startsWith('sizes/'))
    assert.equal(st.length, SIZES.length)
    assert.ok(st.every((s) => s.state === 'done' && s.done === s.size && s.lastError === null))
    assert.equal((await sub.state.keys('blobs.')).length, 0, 'no transfer state left')
  })

  test('the same content under two keys and in two buckets is written under each', async () => {
    const m = sub.manager()
    await m.start()
    const data = testBytes(S3_MIN_PART + 3 * GROUP + 5, 99)
    const hash = await author.publish('src', 'same/a', data)
    await author.publish('src', 'same/b', data)
    const targets = [
      ['dst', 'same/a'],
      ['dst', 'same/b'],
      ['dst2', 'same/a'],
    ] as const
    const dones = targets.map(([, key]) => doneOf(m, key))
    for (const [bucket, key] of targets) {
      await m.enqueue(jobFor(author.t.key.publicKey, 'src', bucket, key, hash, data.length))
    }
    await Promise.all(dones)
    await waitFor(
      () => m.status().filter((s) => s.key.startsWith('same/') && s.state === 'done').length === 3,
    )
    for (const [bucket, key] of targets) {
      assert.ok(hashEquals(blake3(await sub.read(bucket, key)), hash), `${bucket}/${key}`)
    }
  })

  test('a 0-byte object is written without any holder; a wrong empty hash fails for good', async () => {
    const m = sub.manager({ holders: () => [] })
    await m.start()
    const done = doneOf(m, 'empty/ok')
    await m.enqueue(
      jobFor(author.t.key.publicKey, 'src', 'dst', 'empty/ok', blake3(new Uint8Array(0)), 0),
    )
    await done
    assert.equal((await sub.store.head('dst', 'empty/ok'))?.size, 0)
    const failed = doneOf(m, 'empty/bad')
    await m.enqueue(
      jobFor(author.t.key.publicKey, 'src', 'dst', 'empty/bad', blake3(testBytes(1)), 0),
    )
    await assert.rejects(failed, { code: 'BLOB_HASH_MISMATCH' })
    assert.equal(await sub.store.head('dst', 'empty/bad'), undefined)
    assert.equal(m.status().find((s) => s.key === 'empty/bad')?.state, 'failed')
  })

  test('no holder: the job stays queued with last_error and completes once a holder appears', async () => {
    let available = false
    const m = sub.manager({ holders: () => (available ? [{ id: author.id }] : []) })
    await m.start()
    const data = testBytes(3 * GROUP, 5)
    const hash = await author.publish('src', 'later/x', data)
    const done = doneOf(m, 'later/x')
    await m.enqueue(jobFor(author.t.key.publicKey, 'src', 'dst', 'later/x', hash, data.length))
    const st = await waitFor(() =>
      m.status().find((s) => s.key === 'later/x' && s.lastError !== null),
    )
    assert.equal(st.state, 'queued')
    assert.match(st.lastError!, /BLOB_NO_HOLDER/)
    available = true
    await done
    assert.ok(hashEquals(blake3(await sub.read('dst', 'later/x')), hash))
  })

  test('several transfers run at once, never more than max_concurrent_transfers', async () => {
    const m = sub.manager({
      limits: { partSizeBytes: 5 * MiB, maxConcurrentTransfers: 2 },
    })
    let maxActive = 0
    m.onAttempt(() => (maxActive = Math.max(maxActive, m.active)))
    const gauge: number[] = []
    const timer = setInterval(() => gauge.push(m.active), 2)
    await m.start()
    const items = await Promise.all(
      [0, 1, 2, 3, 4].map(async (i) => {
        const data = testBytes(2 * S3_MIN_PART + 1000 * i, 40 + i)
        const key = `many/${i}`
        return { key, data, hash: await author.publish('src', key, data) }
      }),
    )
    const dones = items.map((it) => doneOf(m, it.key))
    for (const it of items) {
      await m.enqueue(jobFor(author.t.key.publicKey, 'src', 'dst', it.key, it.hash, it.data.length))
    }
    await Promise.all(dones)
    clearInterval(timer)
    assert.equal(maxActive, 2)
    assert.ok(Math.max(...gauge) <= 2)
    assert.equal(await metricValue(sub.t.registry, 'rhio_blob_transfers_active'), 0)
    for (const it of items) assert.ok(hashEquals(blake3(await sub.read('dst', it.key)), it.hash))
  })
  test('parts in flight are spread over every holder: two holders both serve one object', async () => {
    // a second holder of the author's bucket (a fellow subscriber with a complete copy)
    await using copy = await BlobSite.start({
      s3,
      buckets: ['copy'],
      holds: () => [{ author: author.t.key.publicKey, kind: 'blobs', filters: ['src'] }],
    })
    await using two = await BlobSite.start({
      s3,
      buckets: ['dst3'],
      staticNodes: [author.t.asStatic(), copy.t.asStatic()],
    })
    await waitFor(() => two.t.node.hello.get(author.id) && two.t.node.hello.get(copy.id), {
      message: 'hello from both holders',
    })
    const data = testBytes(8 * 5 * 1024 * 1024 + 3, 61)
    const hash = await author.publish('src', 'spread/k', data)
    await copy.publish('copy', 'spread/k', data)
    const m = two.manager({
      limits: { partSizeBytes: 5 * 1024 * 1024, maxConcurrentTransfers: 4, partsInFlight: 4 },
    })
    const attempts: PartAttempt[] = []
    m.onAttempt((a) => attempts.push(a))
    const done = doneOf(m, 'spread/k')
    await m.start()
    await m.enqueue(jobFor(author.t.key.publicKey, 'src', 'dst3', 'spread/k', hash, data.length))
    await done
    assert.ok(hashEquals(blake3(await two.read('dst3', 'spread/k')), hash))
    const byPeer = new Map<string, number>()
    for (const a of attempts) if (a.ok) byPeer.set(a.peer, (byPeer.get(a.peer) ?? 0) + 1)
    assert.equal(attempts.filter((a) => a.ok).length, 9, 'nine parts, each fetched once')
    assert.ok((byPeer.get(author.id) ?? 0) >= 2, `the author served ${byPeer.get(author.id)}`)
    assert.ok((byPeer.get(copy.id) ?? 0) >= 2, `the copy served ${byPeer.get(copy.id)}`)
  })
})

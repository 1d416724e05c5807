import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BlobSite } from '../helpers/blob-site.js'
import { rgwPerFile } from '../helpers/ceph-rgw.js'
import { GROUP, MiB, S3_MIN_PART, testBytes } from '../helpers/sizes.js'
import { waitFor } from '../helpers/wait.js'

/** One Ceph cluster per file; each site gets its own radosgw and tenant (bucket namespace). */
const s3 = rgwPerFile()

const SIZES: Array<[string, number]> = [
  ['empty', 0],
  ['one', 1],
  ['group-1', GROUP - 1],
  ['group', GROUP],
  ['group+1', GROUP + 1],
  ['part-1', S3_MIN_PART - 1],
  ['part+1', S3_MIN_PART + 1],
  ['several-parts', 40 * MiB],
]

test(
  'two sites: objects of interesting sizes replicate byte-exact with the original S3 layout',
  { timeout: 180_000 },
  async () => {
    await using a = await BlobSite.start('a', ['outbox'], s3)
    await using b = await BlobSite.start('b', ['inbox'], s3)
    const ra = await a.rhio({ config: { publish: { s3_buckets: ['outbox'] } } })
    const rb = await b.rhio({
      config: {
        nodes: [await ra.asNode()],
        blobs: { part_size_bytes: S3_MIN_PART },
        subscribe: {
          s3_buckets: [
            { remote_bucket: 'outbox', local_bucket: 'inbox', public_key: ra.publicKey },
          ],
        },
      },
    })
    const data = new Map(SIZES.map(([name, size], i) => [`dir/${name}.bin`, testBytes(size, i)]))
    for (const [key, bytes] of data) await a.put('outbox', key, bytes)
    for (const [key, bytes] of data) {
      await waitFor(() => b.hasExactly('inbox', key, bytes), {
        timeout: 120_000,
        message: `${key} at B\n${rb.tail(15)}`,
      })
    }
    // A's own layout: meta without public key, outboard identical to B's
    for (const [key] of data) {
      const ma = await a.meta('outbox', key)
      const mb = await b.meta('inbox', key)
      assert.ok(ma && mb)
      assert.equal(ma.public_key, undefined)
      assert.equal(mb.public_key, ra.publicKey)
      assert.equal(mb.hash, ma.hash)
      assert.equal(mb.remote_bucket_name, 'outbox')
      assert.equal(mb.size, data.get(key)!.length)
    }
    const metrics = await rb.metrics()
    assert.match(
      metrics,
      /blobs_download_total\{msg_type="done",local_bucket="inbox",remote_bucket="outbox"\} 8/,
    )
    assert.match(
      metrics,
      /message_receive_total\{source="network",msg_type="blob_announcement",remote_bucket="outbox"\} 8/,
    )
    const health = await rb.health()
    assert.equal(health.status, 200, JSON.stringify(health.body))
    // a normal start with NATS up warns about nothing (bucket subscriptions wait for NATS)
    const warnings = [...ra.logs(), ...rb.logs()].filter((l) => l.level === 'warn')
    assert.deepEqual(warnings, [])
  },
)

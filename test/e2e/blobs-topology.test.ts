import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BlobSite } from '../helpers/blob-site.js'
import { rgwPerFile } from '../helpers/ceph-rgw.js'
import { testBytes } from '../helpers/sizes.js'
import { waitFor } from '../helpers/wait.js'

/** One Ceph cluster per file; each site gets its own radosgw and tenant (bucket namespace). */
const s3 = rgwPerFile()

const sub = (pk: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  remote_bucket: 'outbox',
  local_bucket: 'inbox',
  public_key: pk,
  ...extra,
})

test('three sites: C gets an object from B while A is offline', { timeout: 120_000 }, async () => {
  await using a = await BlobSite.start('a', ['outbox'], s3)
  await using b = await BlobSite.start('b', ['inbox'], s3)
  await using c = await BlobSite.start('c', ['inbox'], s3)
  const ra = await a.rhio({ config: { publish: { s3_buckets: ['outbox'] } } })
  const rb = await b.rhio({
    config: { nodes: [await ra.asNode()], subscribe: { s3_buckets: [sub(ra.publicKey)] } },
  })
  const data = testBytes(3 * 1024 * 1024 + 7, 3)
  await a.put('outbox', 'report.bin', data)
  await waitFor(() => b.hasExactly('inbox', 'report.bin', data), {
    timeout: 60_000,
    message: 'B has it',
  })
  await ra.kill()
  const rc = await c.rhio({
    config: { nodes: [await rb.asNode()], subscribe: { s3_buckets: [sub(ra.publicKey)] } },
  })
  await waitFor(() => c.hasExactly('inbox', 'report.bin', data), {
    timeout: 60_000,
    message: `C has it via B\n${rc.tail(10)}`,
  })
  assert.equal(
    (await c.meta('inbox', 'report.bin'))?.public_key,
    ra.publicKey,
    'still authored by A',
  )
})

test(
  'overwrites replace the old version; deletes propagate only where opted in',
  { timeout: 120_000 },
  async () => {
    await using a = await BlobSite.start('a', ['outbox'], s3)
    await using b = await BlobSite.start('b', ['inbox', 'keep'], s3)
    const ra = await a.rhio({ config: { publish: { s3_buckets: ['outbox'] } } })
    await b.rhio({
      config: {
        nodes: [await ra.asNode()],
        subscribe: {
          s3_buckets: [
            sub(ra.publicKey, { delete: true }),
            { remote_bucket: 'outbox', local_bucket: 'keep', public_key: ra.publicKey },
          ],
        },
      },
    })
    const v1 = testBytes(100_000, 1)
    const v2 = testBytes(100_000, 2) // same size: the original missed such overwrites
    await a.put('outbox', 'doc.txt', v1)
    await a.put('outbox', 'gone.txt', testBytes(10, 9))
    await waitFor(
      async () =>
        (await b.hasExactly('inbox', 'doc.txt', v1)) && (await b.hasExactly('keep', 'doc.txt', v1)),
      { timeout: 60_000 },
    )
    await waitFor(() => b.get('keep', 'gone.txt'), { timeout: 60_000 })
    await a.put('outbox', 'doc.txt', v2)
    await waitFor(
      async () =>
        (await b.hasExactly('inbox', 'doc.txt', v2)) && (await b.hasExactly('keep', 'doc.txt', v2)),
      {
        timeout: 60_000,
        message: 'new version everywhere',
      },
    )
    await a.store.delete('outbox', 'gone.txt')
    await waitFor(
      async () =>
        (await b.get('inbox', 'gone.txt')) === undefined &&
        (await b.meta('inbox', 'gone.txt')) === undefined,
      {
        timeout: 60_000,
        message: 'deleted where delete: true',
      },
    )
    assert.ok(await b.get('keep', 'gone.txt'), 'kept where delete is not set')
  },
)

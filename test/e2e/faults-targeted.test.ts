/**
 * Acceptance (fault suite), faults placed on purpose rather than at random:
 * an S3 outage at a subscriber in the middle of a multipart upload, a
 * partition that isolates the publishing site and heals, and kill -9 of the
 * publishing site's nats-server under load. Each ends with the full check:
 * nothing lost or duplicated, order kept, objects byte-exact, no upload left.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { rgwPerFile } from '../helpers/ceph-rgw.js'
import { waitFor } from '../helpers/wait.js'
import { Load, World, checkWorld, objectBytes } from '../helpers/world.js'

/** One Ceph cluster per file; each site gets its own radosgw and tenant (bucket namespace). */
const s3 = rgwPerFile()

const MiB = 1024 * 1024

interface TransferView {
  local_bucket: string
  key: string
  size: number
  done: number
  state: string
  last_error: string | null
}

async function transferAt(
  w: World,
  site: 'b' | 'c',
  key: string,
): Promise<TransferView | undefined> {
  const body = (await w.rhio[site].health()).body as unknown as { transfers?: TransferView[] }
  return body.transfers?.find((t) => t.key === key)
}

test('S3 down at a subscriber in the middle of a multipart upload: the upload resumes, the object arrives byte-exact, no upload is left', async () => {
  await using w = await World.start({ s3 })
  await w.connected()
  const data = objectBytes(9001, 16 * MiB + 12_345)
  // slow A→B so that B is caught mid-upload
  w.links.ab.slow(15)
  await w.sites.a.put('a-out', 'obj/big', data)
  await waitFor(
    async () => {
      const t = await transferAt(w, 'b', 'obj/big')
      return t !== undefined && t.done >= 5 * MiB && t.done < t.size
    },
    { timeout: 60_000, interval: 50, message: `B is mid-upload\n${w.tails()}` },
  )
  await w.sites.b.s3.kill()
  await waitFor(async () => (await transferAt(w, 'b', 'obj/big'))?.last_error, {
    timeout: 30_000,
    message: `B reports the S3 failure on the transfer\n${w.tails()}`,
  })
  w.links.ab.heal()
  await w.sites.b.s3.start()
  const r = await checkWorld(w)
  assert.equal(r.objects, 1)
  assert.ok(await w.sites.b.hasExactly('b-in', 'obj/big', data))
})

test('a partition isolating the publishing site: nothing crosses while it lasts, everything arrives once it heals', async () => {
  await using w = await World.start({ s3 })
  await w.connected()
  await using load = new Load(w, { seed: 11, objectEveryMs: 1_500 })
  await waitFor(async () => (await w.sites.b.site.count('a-copy')) >= 200, {
    timeout: 30_000,
    message: `B replicates before the partition\n${w.tails()}`,
  })
  w.links.ab.cut()
  w.links.ac.cut()
  // Nothing A publishes from now on may reach B while the links are cut (what B
  // received before the cut may still be on its way into B's stream).
  const published = await w.sites.a.site.count('a-events')
  await waitFor(async () => !(await w.sees('b', 'a')) && !(await w.sees('c', 'a')), {
    timeout: 20_000,
    message: `B and C lose A\n${w.tails()}`,
  })
  // A keeps publishing; B's copy must not go past what A held at the cut
  await waitFor(async () => (await w.sites.a.site.count('a-events')) >= published + 400, {
    timeout: 30_000,
    message: 'A keeps publishing during the partition',
  })
  const atB = await w.sites.b.site.count('a-copy')
  assert.ok(
    atB <= published,
    `messages crossed the partition: B holds ${atB}, A held ${published} at the cut`,
  )
  assert.ok(
    !(await w.sees('b', 'a')) && !(await w.sees('c', 'a')),
    'B or C reached A around the cut links',
  )
  // B's own messages still reach C meanwhile
  const bAtCut = await w.sites.c.site.count('b-copy')
  await waitFor(async () => (await w.sites.c.site.count('b-copy')) > bAtCut + 100, {
    timeout: 30_000,
    message: `C keeps receiving B's messages during the partition\n${w.tails()}`,
  })
  w.links.ab.heal()
  w.links.ac.heal()
  await load.stop()
  const r = await checkWorld(w)
  assert.ok(r.objects >= 2, `objects: ${r.objects}`)
})

test('kill -9 of the publishing site’s nats-server under load: no loss, no duplicates, order kept', async () => {
  await using w = await World.start({ s3 })
  await w.connected()
  await using load = new Load(w, { seed: 12, objectEveryMs: 2_000 })
  await waitFor(async () => (await w.sites.c.site.count('a-copy')) >= 500, {
    timeout: 30_000,
    message: `C replicates before the outage\n${w.tails()}`,
  })
  await w.sites.a.site.nats.kill()
  await waitFor(async () => (await w.rhio.a.health()).body.nats.status !== 'Connected', {
    timeout: 10_000,
    message: 'A reports NATS down',
  })
  await w.sites.a.site.nats.start()
  const before = load.sent.a
  await waitFor(() => load.sent.a >= before + 500, {
    timeout: 30_000,
    message: 'A publishes again after the restart',
  })
  await load.stop()
  await checkWorld(w)
  await waitFor(async () => (await w.rhio.a.health()).status === 200, {
    timeout: 15_000,
    message: 'A healthy again',
  })
})

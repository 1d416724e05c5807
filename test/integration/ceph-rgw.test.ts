/**
 * The Ceph RADOS Gateway launcher (test/helpers/ceph-rgw.ts): one cluster,
 * gateways with tenants of their own, an outage and a restart of one gateway,
 * and a dispose that leaves no process or file behind. Prints start times and
 * the daemons' idle RSS.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { hasCode } from '../../src/errors/index.js'
import { StoreErrorCode } from '../../src/store/errors.js'
import { S3ObjectStore } from '../../src/store/s3-object-store.js'
import {
  CEPH_APT_PACKAGES,
  CephCluster,
  requireCeph,
  type RgwGateway,
} from '../helpers/ceph-rgw.js'
import { keysOf, readAll } from '../helpers/store-contract.js'
import { testBytes } from '../helpers/sizes.js'

test('requireCeph names the apt packages when a binary is missing', () => {
  assert.throws(
    () => requireCeph('/nonexistent'),
    (err: Error) =>
      err.message.includes(`apt-get install -y ${CEPH_APT_PACKAGES.join(' ')}`) &&
      err.message.includes('radosgw-admin'),
  )
})

describe('Ceph cluster with RADOS Gateways', () => {
  let cluster: CephCluster
  let a: RgwGateway
  let b: RgwGateway
  before(async () => {
    const t0 = Date.now()
    cluster = await CephCluster.start()
    const t1 = Date.now()
    a = await cluster.gateway({ name: 'a', buckets: ['shared', 'only-a'] })
    const t2 = Date.now()
    b = await cluster.gateway({ name: 'b', buckets: ['shared'] })
    const t3 = Date.now()
    console.log(
      `# memstore cluster: mon+osd ${t1 - t0} ms, first gateway ${t2 - t1} ms ` +
        `(ready ${t2 - t0} ms after start), second gateway ${t3 - t2} ms; ` +
        `RSS MiB ${JSON.stringify(cluster.rssMiB())}`,
    )
  })
  after(async () => {
    await cluster?.[Symbol.asyncDispose]()
  })

  test('each gateway is its own S3 namespace: same bucket names, separate contents', async () => {
    const sa = S3ObjectStore.fromConfig(a.config)
    const sb = S3ObjectStore.fromConfig(b.config)
    try {
      await sa.put('shared', 'k', testBytes(10, 1))
      await sb.put('shared', 'k', testBytes(20, 2))
      assert.equal((await sa.head('shared', 'k'))?.size, 10)
      assert.equal((await sb.head('shared', 'k'))?.size, 20)
      assert.equal(await sb.bucketExists('only-a'), false)
      assert.deepEqual(await keysOf(sb, 'shared'), ['k'])
      assert.notEqual(a.tenant, b.tenant)
      assert.notEqual(a.port, b.port)
      // The tenant comes from the credentials, not from the gateway: B's user
      // reaches B's buckets through A's gateway too.
      const bViaA = S3ObjectStore.fromConfig({ ...b.config, endpoint: a.endpoint })
      try {
        assert.ok((await readAll((await bViaA.get('shared', 'k')).body)).equals(testBytes(20, 2)))
      } finally {
        await bViaA.close()
      }
    } finally {
      await sa.close()
      await sb.close()
    }
  })

  test('a killed gateway is an outage of its site only; restarted on the same port it has the data', async () => {
    const sa = S3ObjectStore.fromConfig(a.config)
    const sb = S3ObjectStore.fromConfig(b.config)
    try {
      await sb.put('shared', 'outage', testBytes(100, 3))
      const port = b.port
      const pid = b.pid
      await b.kill()
      assert.equal(b.running, false)
      assert.equal(existsSync(`/proc/${pid}`), false, 'the radosgw process is gone')
      await assert.rejects(sb.head('shared', 'outage'), (err) =>
        hasCode(err, StoreErrorCode.UNAVAILABLE),
      )
      assert.equal(await sa.bucketExists('shared'), true, 'the other site is unaffected')
      const started = Date.now()
      await b.restart()
      console.log(`# gateway restart ${Date.now() - started} ms`)
      assert.equal(b.port, port)
      assert.equal((await sb.head('shared', 'outage'))?.size, 100)
    } finally {
      await sa.close()
      await sb.close()
    }
  })

  test('dispose kills exactly the daemons it started and removes its directory', async () => {
    const pids = Object.values(cluster.pids())
    assert.equal(pids.length, 4, JSON.stringify(cluster.pids()))
    await cluster[Symbol.asyncDispose]()
    for (const pid of pids) assert.equal(existsSync(`/proc/${pid}`), false, `pid ${pid} is gone`)
    assert.equal(existsSync(cluster.dir), false)
    await assert.rejects(cluster.gateway(), /disposed/)
  })
})

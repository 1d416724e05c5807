import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { hasCode } from '../../src/errors/index.js'
import { StoreErrorCode } from '../../src/store/errors.js'
import { createS3Client } from '../../src/store/s3-client.js'
import { S3ObjectStore } from '../../src/store/s3-object-store.js'
import type { S3Factory } from './s3-endpoint.js'
import { testBytes } from './sizes.js'
import { chunked, keysOf } from './store-contract.js'

/**
 * What S3ObjectStore must do on a real S3 server beyond the ObjectStore
 * contract: page through long listings, report a server that is down (and
 * recover when it is back), report unknown credentials. `s3` starts a server
 * (or a namespace of one) of its own for each test.
 */
export function s3StoreSuite(name: string, s3: S3Factory): void {
  describe(`S3ObjectStore against ${name}: listing and failures`, () => {
    test('list pages through more than 1000 keys with continuation tokens', async () => {
      await using server = await s3({ buckets: ['many'] })
      const store = S3ObjectStore.fromConfig(server.config)
      const small = new S3ObjectStore({ client: createS3Client(server.config), listPageSize: 128 })
      try {
        const keys = Array.from({ length: 1003 }, (_, i) => `page/${String(i).padStart(5, '0')}`)
        for (let i = 0; i < keys.length; i += 32) {
          await Promise.all(keys.slice(i, i + 32).map((k) => store.put('many', k, testBytes(1, i))))
        }
        await store.put('many', 'other', testBytes(2))
        const all = await keysOf(store, 'many', 'page/')
        assert.equal(all.length, keys.length)
        assert.deepEqual(all, keys)
        assert.deepEqual(await keysOf(small, 'many', 'page/'), keys)
        assert.equal((await keysOf(store, 'many')).length, keys.length + 1)
      } finally {
        await store.close()
        await small.close()
      }
    })

    test('a stopped server gives S3_UNAVAILABLE within seconds, and recovery after restart', async () => {
      await using server = await s3({ buckets: ['bkt'] })
      const store = S3ObjectStore.fromConfig(server.config)
      try {
        await store.put('bkt', 'k', testBytes(10)) // leaves a keep-alive socket open
        await server.stop()
        const started = Date.now()
        const unavailable = (err: unknown): boolean => hasCode(err, StoreErrorCode.UNAVAILABLE)
        await assert.rejects(store.head('bkt', 'k'), unavailable)
        await assert.rejects(keysOf(store, 'bkt'), unavailable)
        await assert.rejects(store.get('bkt', 'k'), unavailable)
        await assert.rejects(store.put('bkt', 'k2', testBytes(10)), unavailable)
        await assert.rejects(
          store.put('bkt', 'k3', { stream: chunked(testBytes(10)), length: 10 }),
          unavailable,
        )
        const status = await store.checkBucket('bkt')
        assert.ok(!status.ok && hasCode(status.error, StoreErrorCode.UNAVAILABLE))
        await assert.rejects(store.bucketExists('bkt'), unavailable)
        const elapsed = Date.now() - started
        assert.ok(elapsed < 10_000, `7 failing calls took ${elapsed} ms`)
        await server.start()
        assert.equal((await store.head('bkt', 'k'))?.size, 10)
      } finally {
        await store.close()
      }
    })

    test('unknown credentials give S3_ACCESS_DENIED', async () => {
      await using server = await s3({ buckets: ['bkt'] })
      const store = S3ObjectStore.fromConfig({
        ...server.config,
        credentials: { access_key: 'NOT-A-KEY', secret_key: 'nope' },
      })
      try {
        const denied = (err: unknown): boolean => hasCode(err, StoreErrorCode.ACCESS_DENIED)
        await assert.rejects(keysOf(store, 'bkt'), denied)
        await assert.rejects(store.put('bkt', 'k', testBytes(3)), denied)
        const status = await store.checkBucket('bkt')
        assert.ok(!status.ok && hasCode(status.error, StoreErrorCode.ACCESS_DENIED), String(status))
        await assert.rejects(store.bucketExists('bkt'), denied)
      } finally {
        await store.close()
      }
    })
  })
}

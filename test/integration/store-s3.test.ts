import assert from 'node:assert/strict'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { describe, test } from 'node:test'
import { hasCode } from '../../src/errors/index.js'
import { StoreErrorCode } from '../../src/store/errors.js'
import { createS3Client } from '../../src/store/s3-client.js'
import { S3ObjectStore } from '../../src/store/s3-object-store.js'
import {
  S3RVER_QUIRKS,
  S3Server,
  S3_TEST_CREDENTIALS,
  S3_TEST_REGION,
} from '../helpers/s3-server.js'
import { chunked, keysOf, objectStoreContract } from '../helpers/store-contract.js'
import { testBytes } from '../helpers/sizes.js'

objectStoreContract('S3ObjectStore on s3rver', async () => {
  const s3 = await S3Server.start()
  return {
    store: S3ObjectStore.fromConfig({
      endpoint: s3.endpoint,
      region: S3_TEST_REGION,
      credentials: S3_TEST_CREDENTIALS,
    }),
    createBucket: (name) => s3.createBucket(name),
    dispose: () => s3[Symbol.asyncDispose](),
    quirks: S3RVER_QUIRKS,
  }
})

describe('S3ObjectStore against s3rver: listing and failures', () => {
  test('list pages through more than 1000 keys with continuation tokens', async () => {
    await using s3 = await S3Server.start({ buckets: ['many'] })
    const store = S3ObjectStore.fromConfig(s3.config)
    const small = new S3ObjectStore({ client: createS3Client(s3.config), listPageSize: 128 })
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
    await using s3 = await S3Server.start({ buckets: ['b'] })
    const store = S3ObjectStore.fromConfig(s3.config)
    try {
      await store.put('b', 'k', testBytes(10)) // leaves a keep-alive socket open
      await s3.stop()
      const started = Date.now()
      const unavailable = (err: unknown): boolean => hasCode(err, StoreErrorCode.UNAVAILABLE)
      await assert.rejects(store.head('b', 'k'), unavailable)
      await assert.rejects(keysOf(store, 'b'), unavailable)
      await assert.rejects(store.get('b', 'k'), unavailable)
      await assert.rejects(store.put('b', 'k2', testBytes(10)), unavailable)
      await assert.rejects(
        store.put('b', 'k3', { stream: chunked(testBytes(10)), length: 10 }),
        unavailable,
      )
      const status = await store.checkBucket('b')
      assert.ok(!status.ok && hasCode(status.error, StoreErrorCode.UNAVAILABLE))
      await assert.rejects(store.bucketExists('b'), unavailable)
      const elapsed = Date.now() - started
      assert.ok(elapsed < 10_000, `7 failing calls took ${elapsed} ms`)
      await s3.start()
      assert.equal((await store.head('b', 'k'))?.size, 10)
    } finally {
      await store.close()
    }
  })

  test('a server that accepts but never answers gives S3_UNAVAILABLE after the socket timeout', async () => {
    const sockets = new Set<Socket>()
    const silent = createServer((sock) => {
      sockets.add(sock)
      sock.on('error', () => {})
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as AddressInfo
    const store = S3ObjectStore.fromConfig(
      {
        endpoint: `http://127.0.0.1:${port}`,
        region: S3_TEST_REGION,
        credentials: S3_TEST_CREDENTIALS,
      },
      { socketTimeoutMs: 300, maxAttempts: 2 },
    )
    try {
      const started = Date.now()
      await assert.rejects(store.head('b', 'k'), (err) => hasCode(err, StoreErrorCode.UNAVAILABLE))
      const elapsed = Date.now() - started
      assert.ok(elapsed >= 300 && elapsed < 5_000, `took ${elapsed} ms`)
    } finally {
      await store.close()
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  })

  test('unknown credentials give S3_ACCESS_DENIED', async () => {
    await using s3 = await S3Server.start({ buckets: ['b'] })
    const store = S3ObjectStore.fromConfig({
      ...s3.config,
      credentials: { access_key: 'NOT-A-KEY', secret_key: 'nope' },
    })
    try {
      const denied = (err: unknown): boolean => hasCode(err, StoreErrorCode.ACCESS_DENIED)
      await assert.rejects(keysOf(store, 'b'), denied)
      await assert.rejects(store.put('b', 'k', testBytes(3)), denied)
      const status = await store.checkBucket('b')
      assert.ok(!status.ok && hasCode(status.error, StoreErrorCode.ACCESS_DENIED), String(status))
      await assert.rejects(store.bucketExists('b'), denied)
    } finally {
      await store.close()
    }
  })
})

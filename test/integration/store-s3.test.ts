import assert from 'node:assert/strict'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { describe, test } from 'node:test'
import { hasCode } from '../../src/errors/index.js'
import { StoreErrorCode } from '../../src/store/errors.js'
import { S3ObjectStore } from '../../src/store/s3-object-store.js'
import {
  S3RVER_QUIRKS,
  S3Server,
  S3_TEST_CREDENTIALS,
  S3_TEST_REGION,
  s3rverFactory,
} from '../helpers/s3-server.js'
import { s3StoreSuite } from '../helpers/s3-store-suite.js'
import { objectStoreContract } from '../helpers/store-contract.js'

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

s3StoreSuite('s3rver', s3rverFactory)

describe('S3ObjectStore: a server that never answers', () => {
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
})

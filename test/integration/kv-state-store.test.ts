import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { hasCode } from '../../src/errors/index.js'
import { KvStateStore } from '../../src/state/kv-state-store.js'
import { NatsServer } from '../helpers/nats-server.js'
import { stateStoreContract } from '../helpers/state-store-contract.js'
import { waitFor } from '../helpers/wait.js'

function natsConnect(server: NatsServer): Promise<NatsConnection> {
  return connect({
    servers: server.url,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
    waitOnFirstConnect: true,
  })
}

stateStoreContract('KvStateStore', async () => {
  const server = await NatsServer.start()
  const nc = await natsConnect(server)
  return {
    store: new KvStateStore({ connection: () => nc }),
    dispose: async () => {
      await nc.close()
      await server[Symbol.asyncDispose]()
    },
  }
})

const unavailable = (err: unknown): boolean => {
  assert.ok(hasCode(err, 'STATE_UNAVAILABLE'), `expected STATE_UNAVAILABLE, got ${String(err)}`)
  return true
}

describe('KvStateStore specifics', () => {
  test('creates the bucket when missing (history 1, file storage) and reuses it', async () => {
    await using server = await NatsServer.start()
    const nc = await natsConnect(server)
    try {
      const store = new KvStateStore({ connection: () => nc, bucket: 'site-state' })
      assert.equal(store.bucket, 'site-state')
      await store.put('heights.a', { height: 7 })
      const jsm = await jetstreamManager(nc)
      const info = await jsm.streams.info('KV_site-state')
      assert.equal(info.config.max_msgs_per_subject, 1)
      assert.equal(info.config.storage, 'file')
      await store.close()
      const again = new KvStateStore({ connection: () => nc, bucket: 'site-state' })
      assert.deepEqual(await again.get('heights.a'), { height: 7 })
      assert.equal(new KvStateStore({ connection: () => nc }).bucket, 'rhio-state')
    } finally {
      await nc.close()
    }
  })

  test('a value that is not JSON fails with STATE_READ_FAILED', async () => {
    await using server = await NatsServer.start()
    const nc = await natsConnect(server)
    try {
      const store = new KvStateStore({ connection: () => nc, bucket: 'b' })
      await store.put('x', 1)
      const kv = await new Kvm(nc).open('b')
      await kv.put('x', 'not json {')
      await assert.rejects(store.get('x'), (err) => hasCode(err, 'STATE_READ_FAILED'))
    } finally {
      await nc.close()
    }
  })

  test('without a connection every call fails at once with STATE_UNAVAILABLE', async () => {
    const store = new KvStateStore({ connection: () => undefined })
    const t0 = Date.now()
    await assert.rejects(store.get('a'), unavailable)
    await assert.rejects(store.put('a', 1), unavailable)
    await assert.rejects(store.delete('a'), unavailable)
    await assert.rejects(store.keys(''), unavailable)
    assert.ok(Date.now() - t0 < 500)
    // key checks come first
    await assert.rejects(store.get('a..b'), (err) => hasCode(err, 'STATE_BAD_KEY'))
  })

  test('survives a nats-server restart; calls during the outage fail quickly and succeed after', async () => {
    await using server = await NatsServer.start()
    const nc = await natsConnect(server)
    try {
      const store = new KvStateStore({ connection: () => nc, timeoutMs: 2_000 })
      await store.put('heights.a.b', { height: 42 })
      await store.put('heights.a.c', { height: 43 })
      await server.stop()
      for (const call of [
        () => store.get('heights.a.b'),
        () => store.put('heights.a.b', { height: 44 }),
        () => store.delete('heights.a.c'),
        () => store.keys('heights.'),
      ]) {
        const t0 = Date.now()
        await assert.rejects(call(), unavailable)
        assert.ok(Date.now() - t0 <= 3_000, `failed after ${Date.now() - t0} ms`)
      }
      await server.start()
      await waitFor(() => store.get('heights.a.b'), { timeout: 15_000, message: 'KV back' })
      assert.deepEqual(await store.get('heights.a.b'), { height: 42 })
      assert.deepEqual(await store.keys('heights.a.'), ['heights.a.b', 'heights.a.c'])
      await store.put('heights.a.b', { height: 45 })
      assert.deepEqual(await store.get('heights.a.b'), { height: 45 })
    } finally {
      await nc.close()
    }
  })

  test('a server that stops answering (without closing the socket) times out with STATE_UNAVAILABLE', async () => {
    await using server = await NatsServer.start()
    const nc = await natsConnect(server)
    try {
      const store = new KvStateStore({ connection: () => nc, timeoutMs: 500 })
      await store.put('a', 1)
      const pid = serverPid(server)
      process.kill(pid, 'SIGSTOP')
      try {
        // the signal takes effect asynchronously: a thread on the other core may still answer
        // a request sent right away, so ask only once the kernel reports the process stopped
        await waitFor(() => allStopped(pid), { message: 'nats-server stopped' })
        const t0 = Date.now()
        await assert.rejects(store.get('a'), unavailable)
        const took = Date.now() - t0
        assert.ok(took >= 400 && took < 2_000, `failed after ${took} ms`)
      } finally {
        process.kill(pid, 'SIGCONT')
      }
      await waitFor(async () => (await store.get('a')) === 1, { message: 'KV answers again' })
    } finally {
      await nc.close()
    }
  })
})

/** True once every thread of the process is stopped (state T in /proc). */
function allStopped(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).every(
    (tid) => readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]?.[0] === 'T',
  )
}

function serverPid(server: NatsServer): number {
  const m = /\[(\d+)\]/.exec(server.output)
  if (!m) throw new Error('nats-server pid not found in its output')
  return Number(m[1])
}

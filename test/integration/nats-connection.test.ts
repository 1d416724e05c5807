import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { nkeys } from '@nats-io/transport-node'
import { parseConfig } from '../../src/config/index.js'
import {
  NatsConnectionComponent,
  NATS_RECONNECT_MAX_MS,
  NATS_RECONNECT_MIN_MS,
} from '../../src/nats/connection.js'
import { backoffDelay } from '../../src/util/backoff.js'
import { HealthModel, type NatsState } from '../../src/component/index.js'
import { captureLogs } from '../helpers/logs.js'
import { NatsServer } from '../helpers/nats-server.js'
import { waitFor } from '../helpers/wait.js'

type Credentials = { username: string; password: string } | { token: string } | { nkey: string }

function component(
  endpoint: string,
  credentials?: Credentials,
): { nats: NatsConnectionComponent; health: HealthModel; states: NatsState[] } & AsyncDisposable {
  const config = parseConfig({ nats: { endpoint, ...(credentials ? { credentials } : {}) } })
  const health = new HealthModel({ config, publicKeyHex: 'ab'.repeat(32), version: 't' })
  const { logs } = captureLogs()
  const nats = new NatsConnectionComponent({
    nats: config.nats,
    logger: logs.forComponent('rhio:nats'),
    health,
    maxReconnectDelayMs: 500,
  })
  const states: NatsState[] = []
  nats.onState((s) => states.push(s))
  return {
    nats,
    health,
    states,
    async [Symbol.asyncDispose]() {
      await nats.stop()
    },
  }
}

/** Publishes and flushes one message to prove the connection really works. */
async function roundTrip(nats: NatsConnectionComponent): Promise<void> {
  const nc = await nats.connected(AbortSignal.timeout(10_000))
  await nc.flush()
}

describe('NATS connection', () => {
  it('connects in the background and reports Connected to the health model', async () => {
    await using ns = await NatsServer.start()
    await using c = component(`127.0.0.1:${ns.port}`)
    await c.nats.start()
    await roundTrip(c.nats)
    assert.equal(c.nats.natsState().status, 'Connected')
    assert.equal(c.health.natsState().status, 'Connected')
    assert.equal(c.health.natsState().server, `127.0.0.1:${ns.port}`)
    assert.equal(c.nats.connection?.info?.server_name !== undefined, true)
  })

  it('starts while NATS is down and connects once it comes up', async () => {
    await using ns = await NatsServer.start()
    await ns.stop()
    await using c = component(`nats://127.0.0.1:${ns.port}`)
    await c.nats.start() // does not wait for NATS
    assert.equal(c.nats.natsState().status, 'Connecting')
    assert.equal(c.health.snapshot().status, 'Error')
    assert.match(c.health.snapshot().msg ?? '', /^nats: connecting/)
    await ns.start()
    await roundTrip(c.nats)
    assert.equal(c.health.natsState().status, 'Connected')
  })

  it('reports a lost server within 5 s and recovers on the same connection', async () => {
    await using ns = await NatsServer.start()
    await using c = component(ns.url)
    await c.nats.start()
    const nc = await c.nats.connected(AbortSignal.timeout(10_000))
    await ns.stop()
    await waitFor(() => c.health.natsState().status === 'Disconnected', {
      timeout: 5_000,
      message: 'health shows NATS disconnected',
    })
    assert.match(c.health.natsState().lastError ?? '', /disconnected from/)
    await ns.start()
    await waitFor(() => c.health.natsState().status === 'Connected', {
      timeout: 10_000,
      message: 'health shows NATS reconnected',
    })
    assert.equal(c.nats.connection, nc)
    await nc.flush()
    assert.deepEqual(
      c.states.map((s) => s.status),
      ['Connected', 'Disconnected', 'Connected'],
    )
  })

  it('accepts a comma-separated server list', async () => {
    await using ns = await NatsServer.start()
    await using c = component(`127.0.0.1:1, nats://127.0.0.1:${ns.port}`)
    await c.nats.start()
    await roundTrip(c.nats)
  })

  const user = nkeys.createUser()
  const seed = new TextDecoder().decode(user.getSeed())
  const auths: Array<{
    name: string
    server: string
    credentials: Credentials
    wrong: Credentials
  }> = [
    {
      name: 'username + password',
      server: 'authorization { user: "rhio", password: "pw" }',
      credentials: { username: 'rhio', password: 'pw' },
      wrong: { username: 'rhio', password: 'nope' },
    },
    {
      name: 'token',
      server: 'authorization { token: "s3cr3t" }',
      credentials: { token: 's3cr3t' },
      wrong: { token: 'wrong' },
    },
    {
      name: 'nkey seed',
      server: `authorization { users: [ { nkey: "${user.getPublicKey()}" } ] }`,
      credentials: { nkey: seed },
      wrong: { nkey: new TextDecoder().decode(nkeys.createUser().getSeed()) },
    },
  ]
  for (const a of auths) {
    it(`authenticates with ${a.name} and keeps reconnecting like every other method`, async () => {
      await using ns = await NatsServer.start({ config: a.server })
      await using c = component(ns.url, a.credentials)
      await c.nats.start()
      await roundTrip(c.nats)
      await ns.stop()
      await waitFor(() => c.health.natsState().status === 'Disconnected', { timeout: 5_000 })
      await ns.start()
      await waitFor(() => c.health.natsState().status === 'Connected', { timeout: 10_000 })
      await c.nats.connection?.flush()
    })

    it(`shows an authorization failure with ${a.name} in health and keeps trying`, async () => {
      await using ns = await NatsServer.start({ config: a.server })
      await using c = component(ns.url, a.wrong)
      await c.nats.start()
      await waitFor(() => /authorization/i.test(c.health.natsState().lastError ?? ''), {
        timeout: 10_000,
        message: 'authorization error in health',
      })
      assert.equal(c.health.natsState().status, 'Connecting')
    })
  }

  it('credentials in the endpoint URL work and never show in /health or the logs (issue 14, finding 7)', async () => {
    await using ns = await NatsServer.start({
      config: 'authorization { user: "rhio", password: "pa:ss@w0rd" }',
    })
    const url = new URL(ns.url)
    const endpoint = `nats://rhio:${encodeURIComponent('pa:ss@w0rd')}@127.0.0.1:${url.port}`
    const config = parseConfig({ nats: { endpoint } })
    assert.equal(config.nats.endpoint, `nats://127.0.0.1:${url.port}`)
    assert.deepEqual(config.nats.credentials, { username: 'rhio', password: 'pa:ss@w0rd' })
    const health = new HealthModel({ config, publicKeyHex: 'ab'.repeat(32), version: 't' })
    const { logs, lines } = captureLogs('debug')
    const nats = new NatsConnectionComponent({
      nats: config.nats,
      logger: logs.forComponent('rhio:nats'),
      health,
    })
    await nats.start()
    try {
      await roundTrip(nats)
      const shown = JSON.stringify(health.snapshot()) + JSON.stringify(lines)
      assert.ok(!shown.includes('w0rd'), 'the password is nowhere')
      assert.ok(!shown.includes(encodeURIComponent('pa:ss@w0rd')))
    } finally {
      await nats.stop()
    }
  })

  it('stop() returns promptly while still waiting for NATS, and is idempotent', async () => {
    await using ns = await NatsServer.start()
    await ns.stop()
    const c = component(ns.url)
    await c.nats.start()
    const waiting = c.nats.connected() // no signal of its own: stop() must release it
    const t = Date.now()
    await c.nats.stop()
    await c.nats.stop()
    assert.ok(Date.now() - t < 1_000)
    assert.equal(c.nats.natsState().status, 'Closed')
    await assert.rejects(waiting, /nats connection stopped/)
    await assert.rejects(c.nats.connected(), /nats connection stopped/)
  })

  it('reconnect backoff grows from the minimum, is jittered and capped', () => {
    const policy = { minMs: NATS_RECONNECT_MIN_MS, maxMs: NATS_RECONNECT_MAX_MS }
    for (let attempt = 0; attempt < 30; attempt++) {
      const d = backoffDelay(policy, attempt)
      const base = Math.min(policy.maxMs, policy.minMs * 2 ** attempt)
      assert.ok(
        d >= base * 0.75 && d <= Math.min(base * 1.25, policy.maxMs),
        `attempt ${attempt}: ${d}`,
      )
    }
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { parseConfig } from '../../src/config/index.js'
import { NatsConnectionComponent } from '../../src/nats/connection.js'
import { HealthModel } from '../../src/component/index.js'
import { StreamCheckComponent } from '../../src/nats/stream-check.js'
import { captureLogs } from '../helpers/logs.js'
import { NatsServer } from '../helpers/nats-server.js'
import { waitFor } from '../helpers/wait.js'

const PK = 'ab'.repeat(32)

async function setup(url: string): Promise<
  {
    health: HealthModel
    lines: Array<Record<string, unknown>>
  } & AsyncDisposable
> {
  const config = parseConfig({
    nats: { endpoint: url },
    publish: { nats_subjects: [{ subject: 'workload.berlin.energy', stream: 'workload' }] },
    subscribe: {
      nats_subjects: [
        { subject: 'workload.*.energy', public_key: PK, stream: 'workload' },
        { subject: 'data.thehague.meta', public_key: PK, stream: 'data' },
      ],
    },
  })
  const health = new HealthModel({ config, publicKeyHex: 'cd'.repeat(32), version: 't' })
  const { logs, lines } = captureLogs()
  const nats = new NatsConnectionComponent({
    nats: config.nats,
    logger: logs.forComponent('rhio:nats'),
    health,
    maxReconnectDelayMs: 500,
  })
  const check = new StreamCheckComponent({
    nats,
    health,
    logger: logs.forComponent('rhio:streams'),
    intervalMs: 100,
  })
  await nats.start()
  await check.start()
  return {
    health,
    lines,
    async [Symbol.asyncDispose]() {
      await check.stop()
      await nats.stop()
    },
  }
}

const statuses = (h: HealthModel): string[] => [
  ...h.publishedStreams().map((s) => `pub ${s.stream} ${s.subject} ${s.state.status}`),
  ...h.subscribedStreams().map((s) => `sub ${s.stream} ${s.subject} ${s.state.status}`),
]

describe('stream checks', () => {
  it('missing streams are Inactive; created streams become Active; a stream not capturing the subject is Inactive', async () => {
    await using ns = await NatsServer.start()
    await using s = await setup(ns.url)
    await waitFor(() => s.health.publishedStreams()[0]?.state.status === 'Inactive', {
      message: 'missing published stream reported',
    })
    const pub = s.health.publishedStreams()[0]
    assert.match(pub?.state.lastError ?? '', /stream 'workload': .*stream not found/i)
    assert.equal(typeof pub?.state.lastCheckTime, 'number')

    const nc = await connect({ servers: ns.url })
    try {
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: 'workload', subjects: ['workload.>'] })
      await jsm.streams.add({ name: 'data', subjects: ['data.rotterdam.>'] })
      await waitFor(() => s.health.publishedStreams()[0]?.state.status === 'Active', {
        message: 'published stream active',
      })
      await waitFor(
        () =>
          s.health.subscribedStreams()[1]?.state.status === 'Inactive' &&
          /does not capture/.test(s.health.subscribedStreams()[1]?.state.lastError ?? ''),
      )
      assert.deepEqual(statuses(s.health), [
        'pub workload workload.berlin.energy Active',
        'sub workload workload.*.energy Active',
        'sub data data.thehague.meta Inactive',
      ])
      assert.equal(
        s.health.subscribedStreams()[1]?.state.lastError,
        "stream 'data' does not capture subject 'data.thehague.meta' (its subjects: data.rotterdam.>); received messages would have nowhere to go",
      )
      await jsm.streams.update('data', { subjects: ['data.>'] })
      await waitFor(() => s.health.healthy(), { message: 'all healthy' })
      assert.equal(s.health.snapshot().status, 'Running')
    } finally {
      await nc.close()
    }
    // A status change is logged once, not on every check.
    const notFound = s.lines.filter((l) => /stream not found/i.test(String(l.msg)))
    assert.equal(notFound.length, 3)
  })

  it('streams are Unknown while NATS is down and are checked again after it returns', async () => {
    await using ns = await NatsServer.start()
    const nc = await connect({ servers: ns.url })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: 'workload', subjects: ['workload.>'] })
    await jsm.streams.add({ name: 'data', subjects: ['data.>'] })
    await nc.close()
    await using s = await setup(ns.url)
    await waitFor(() => s.health.healthy(), { message: 'healthy at first' })
    const checked = s.health.publishedStreams()[0]?.state.lastCheckTime
    await ns.stop()
    await waitFor(() => s.health.publishedStreams()[0]?.state.status === 'Unknown', {
      timeout: 5_000,
    })
    const unknown = s.health.publishedStreams()[0]?.state
    assert.match(unknown?.lastError ?? '', /NATS is disconnected|cannot query JetStream/)
    assert.ok((unknown?.lastCheckTime ?? 0) >= (checked ?? 0))
    await ns.start()
    await waitFor(() => s.health.healthy(), { timeout: 15_000, message: 'healthy again' })
  })
})

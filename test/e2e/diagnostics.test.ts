/**
 * Issue 17: a node explains itself. NATS unreachable at start is reported
 * (WARN once, `nats.last_error`, `errors[]`), a clean start logs no WARN, a
 * published bucket that does not exist backs off, and /health lists recent
 * warnings and errors.
 */
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { NatsServer } from '../helpers/nats-server.js'
import { startRhio } from '../helpers/rhio.js'
import { waitFor } from '../helpers/wait.js'

const REMOTE = '2e2f2ab7a8fd0e0ee4d9b9d0c9ee7e1bb0f5d1ba1a3cbf9a8d2f0b8f1e0d3c4a'

interface Problem {
  level: string
  component: string
  message: string
  count: number
}

const subscription = {
  subscribe: { nats_subjects: [{ stream: 'inbox', subject: 'in.>', public_key: REMOTE }] },
}

describe('diagnostics of a running node (issue 17)', () => {
  it('NATS unreachable at start: WARN once, last_error and errors[] filled, then connects', async () => {
    await using ns = await NatsServer.start()
    await ns.stop()
    await using node = await startRhio({ config: { nats: { endpoint: ns.url }, ...subscription } })
    const { body } = await waitFor(
      async () => {
        const h = await node.health()
        return h.body.nats.last_error ? h : undefined
      },
      { message: 'nats.last_error filled' },
    )
    assert.match(body.nats.last_error ?? '', /refused/i)
    const errors = body.errors as Problem[]
    assert.ok(
      errors.some((e) => e.component === 'rhio:nats' && /cannot connect.*refused/i.test(e.message)),
      JSON.stringify(errors),
    )
    await ns.start()
    await waitFor(async () => (await node.health()).body.nats.status === 'Connected', {
      timeout: 15_000,
      message: 'connected once NATS is up',
    })
    const warns = node.logs().filter((l) => /cannot connect/.test(l.msg))
    assert.equal(warns.length, 1, node.tail())
    assert.ok(Number(warns[0]?.attempts) >= 1)
    // waiting for NATS is not a problem of the subscription: NATS said it
    assert.ok(
      !node.logs().some((l) => /STATE_UNAVAILABLE/.test(JSON.stringify(l)) && l.level === 'warn'),
    )
  })

  it('a clean start logs no WARN and /health errors[] is empty', async () => {
    await using ns = await NatsServer.start()
    const nc = await connect({ servers: ns.url })
    try {
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: 'inbox', subjects: ['in.>'] })
    } finally {
      await nc.close()
    }
    await using node = await startRhio({ config: { nats: { endpoint: ns.url }, ...subscription } })
    await waitFor(
      async () => {
        const h = (await node.health()).body
        return h.nats.status === 'Connected' && h.streams.subscribed[0]?.status === 'Active'
      },
      { timeout: 15_000, message: 'connected, subscribed stream checked' },
    )
    await node.waitForLog('rhio node running')
    const bad = node.logs().filter((l) => l.level !== 'info' && l.level !== 'debug')
    assert.deepEqual(bad, [], node.tail())
    assert.deepEqual((await node.health()).body.errors, [])
  })

  it('a published bucket that does not exist is reported once and retried with backoff', async () => {
    await using ns = await NatsServer.start()
    await using node = await startRhio({
      config: { nats: { endpoint: ns.url }, publish: { s3_buckets: ['missing'] } },
    })
    const first = await node.waitForLog('bucket not available; retrying', 15_000)
    assert.match(String(first.err), /S3_NO_SUCH_BUCKET/)
    const h = await waitFor(
      async () => {
        const b = (await node.health()).body
        return b.stores.published[0]?.status === 'Inactive' ? b : undefined
      },
      { message: 'bucket shown Inactive' },
    )
    assert.match(h.stores.published[0]?.last_error ?? '', /no bucket missing/)
    const said = node.logs().filter((l) => l.msg === 'bucket not available; retrying')
    assert.equal(said.length, 1, 'logged once, not at every retry (it was every second)')
    // creating the bucket (a directory of the embedded store) clears it
    await mkdir(join(node.dir, 'data', 'buckets', 'missing'), { recursive: true })
    await waitFor(async () => (await node.health()).body.stores.published[0]?.status === 'Active', {
      timeout: 20_000,
      message: 'bucket Active once created',
    })
  })

  it('a subscription to a subject the author does not publish is reported once the author is known', async () => {
    await using ns = await NatsServer.start()
    const nc = await connect({ servers: ns.url })
    try {
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: 'out', subjects: ['orders.>'] })
      await jsm.streams.add({ name: 'inbox', subjects: ['in.>', 'odrers.>'] })
    } finally {
      await nc.close()
    }
    await using author = await startRhio({
      name: 'author',
      config: {
        nats: { endpoint: ns.url },
        publish: { nats_subjects: [{ stream: 'out', subject: 'orders.>' }] },
      },
    })
    await using reader = await startRhio({
      name: 'reader',
      config: {
        nats: { endpoint: ns.url },
        nodes: [await author.asNode()],
        subscribe: {
          nats_subjects: [{ stream: 'inbox', subject: 'odrers.>', public_key: author.publicKey }],
        },
      },
    })
    const body = await waitFor(
      async () => {
        const b = (await reader.health()).body
        return /does not publish/.test(b.msg ?? '') ? b : undefined
      },
      { timeout: 20_000, message: 'the typo reported in /health' },
    )
    assert.match(
      body.msg ?? '',
      /subscribe\.nats_subjects\[0\]: author [0-9a-f]{8}… does not publish subject odrers\.> \(it publishes orders\.>\)/,
    )
    const warns = reader.logs().filter((l) => /does not publish/.test(l.msg))
    assert.equal(warns.length, 1, reader.tail())
    assert.ok(
      (body.errors as Problem[]).some((e) => /does not publish subject odrers/.test(e.message)),
    )
  })
})

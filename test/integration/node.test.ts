import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { parseConfig } from '../../src/config/index.js'
import { describeError, hasCode } from '../../src/errors/index.js'
import { NodeIdentity } from '../../src/identity/index.js'
import type { Component } from '../../src/component/index.js'
import { RhioNode } from '../../src/node/node.js'
import { captureLogs } from '../helpers/logs.js'
import { tempDir } from '../helpers/tmp.js'
import { NatsServer } from '../helpers/nats-server.js'
import { waitFor } from '../helpers/wait.js'

function makeNode(natsUrl: string, extra: Record<string, unknown> = {}) {
  const config = parseConfig({
    http_bind_host: '127.0.0.1',
    http_bind_port: 0,
    nats: { endpoint: natsUrl },
    ...extra,
  })
  const captured = captureLogs()
  const node = new RhioNode({
    config,
    identity: NodeIdentity.generate(),
    logs: captured.logs,
    streamCheckIntervalMs: 100,
  })
  return { node, ...captured }
}

/** A component that records its calls into `events`. */
function recorder(
  name: string,
  events: string[],
  opts: { failStart?: boolean; hangStop?: boolean } = {},
): Component {
  let running = false
  return {
    name,
    async start() {
      if (opts.failStart) throw new Error(`${name} cannot start`)
      if (!running) events.push(`start ${name}`)
      running = true
    },
    async stop() {
      if (opts.hangStop) return new Promise<void>(() => undefined)
      if (running) events.push(`stop ${name}`)
      running = false
    },
  }
}

describe('RhioNode lifecycle', () => {
  it('starts components in order and stops them in reverse, logging each step', async () => {
    await using ns = await NatsServer.start()
    const { node, messages } = makeNode(ns.url)
    const events: string[] = []
    node.add(recorder('extra-a', events)).add(recorder('extra-b', events))
    assert.deepEqual(node.componentNames(), [
      'http',
      'nats',
      'stream-check',
      'state',
      'p2p',
      'messages',
      'blobs',
      'extra-a',
      'extra-b',
    ])
    await node.start()
    assert.deepEqual(events, ['start extra-a', 'start extra-b'])
    await node.nats.connected(AbortSignal.timeout(10_000))
    const addr = node.http.address()
    assert.ok(addr)
    const res = await fetch(`http://127.0.0.1:${addr.port}/health?probe=ready`)
    assert.equal(res.status, 200)
    assert.throws(() => node.add(recorder('late', events)), /already started/)

    const result = await node.stop()
    assert.deepEqual(result, { clean: true, failed: [] })
    assert.deepEqual(events, ['start extra-a', 'start extra-b', 'stop extra-b', 'stop extra-a'])
    assert.deepEqual(
      messages('rhio:node').filter((m) => m.startsWith('shutdown')),
      [
        'shutdown: stopping extra-b',
        'shutdown: stopping extra-a',
        'shutdown: stopping blobs',
        'shutdown: stopping messages',
        'shutdown: stopping p2p',
        'shutdown: stopping state',
        'shutdown: stopping stream-check',
        'shutdown: stopping nats',
        'shutdown: stopping http',
        'shutdown complete',
      ],
    )
    await assert.rejects(fetch(`http://127.0.0.1:${addr.port}/health`))
    assert.deepEqual(await node.stop(), result) // idempotent
  })

  it('a component that fails to start stops the ones already started: NODE_START_FAILED', async () => {
    // NATS down: no handshake is in flight when the test ends (nats.js cannot cancel one).
    await using ns = await NatsServer.start()
    await ns.stop()
    const { node } = makeNode(ns.url)
    const events: string[] = []
    node
      .add(recorder('a', events))
      .add(recorder('b', events, { failStart: true }))
      .add(recorder('c', events))
    await assert.rejects(
      node.start(),
      (err) =>
        hasCode(err, 'NODE_START_FAILED') &&
        /cannot start b: b cannot start/.test(describeError(err)),
    )
    assert.deepEqual(events, ['start a', 'stop a'])
    assert.equal(
      node.http.address() === undefined || node.nats.natsState().status === 'Closed',
      true,
    )
  })

  it('an HTTP port in use fails the start before NATS is touched', async () => {
    await using ns = await NatsServer.start()
    await ns.stop()
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    try {
      const port = (blocker.address() as AddressInfo).port
      const { node } = makeNode(ns.url, { http_bind_port: port })
      await assert.rejects(
        node.start(),
        (err) => hasCode(err, 'NODE_START_FAILED') && hasCode(err.cause, 'HTTP_LISTEN_FAILED'),
      )
      assert.equal(node.nats.connection, undefined)
    } finally {
      await new Promise((r) => blocker.close(r))
    }
  })

  it('a p2p port in use names bind_port, -p and the port, once, without libp2p internals (issue 17)', async () => {
    await using ns = await NatsServer.start()
    await ns.stop()
    await using dir = await tempDir()
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    try {
      const port = (blocker.address() as AddressInfo).port
      const { node, lines } = makeNode(ns.url, {
        bind_host: '127.0.0.1',
        bind_port: port,
        data_dir: dir.path,
      })
      let text = ''
      await assert.rejects(node.start(), (err) => {
        text = describeError(err)
        return hasCode(err, 'NODE_START_FAILED') && hasCode(err.cause, 'P2P_LISTEN_FAILED')
      })
      assert.equal(
        text,
        `NODE_START_FAILED: cannot start p2p: cannot listen for p2p on 127.0.0.1:${port}: the port is in use (set another bind_port, or -p PORT)`,
      )
      assert.ok(
        !lines.some(
          (l) => ['warn', 'error'].includes(String(l.level)) && /p2p/.test(JSON.stringify(l)),
        ),
        'the caller reports it; the node does not log it again',
      )
    } finally {
      await new Promise((r) => blocker.close(r))
    }
  })

  it('a component that does not stop in time is reported and the rest still stop', async () => {
    await using ns = await NatsServer.start()
    const { node, messages } = makeNode(ns.url)
    const events: string[] = []
    node.add(recorder('stuck', events, { hangStop: true }))
    await node.start()
    const t = Date.now()
    const result = await node.stop({ deadlineMs: 300 })
    assert.ok(Date.now() - t < 2_000)
    assert.equal(result.clean, false)
    assert.deepEqual(result.failed, ['stuck'])
    assert.ok(messages('rhio:node').includes('shutdown: stuck did not stop before the deadline'))
    assert.ok(messages('rhio:node').includes('shutdown complete'))
  })

  it('health lists configured streams and follows NATS', async () => {
    await using ns = await NatsServer.start()
    const { node } = makeNode(ns.url, {
      publish: { nats_subjects: [{ subject: 'a.b', stream: 'A' }] },
    })
    await node.start()
    try {
      await waitFor(() => node.health.publishedStreams()[0]?.state.status === 'Inactive')
      assert.equal(node.health.snapshot().streams.published[0]?.stream, 'A')
    } finally {
      await node.stop()
    }
  })
})

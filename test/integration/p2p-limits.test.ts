/**
 * Resource limits against hostile peers, on a real node: slow-drip frames and
 * requests time out, a connection that never says hello is closed, a stream
 * ending inside a frame is counted, one peer cannot take more than its share
 * of sync sessions or streams, and a node whose connection slots are all
 * taken still reaches the nodes it is configured with. Each is counted in
 * rhio_p2p_rejected_total{reason}.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Libp2p, Stream } from '@libp2p/interface'
import { natsLogId } from '../../src/core/selector.js'
import { createHost } from '../../src/p2p/host.js'
import { encodeHello, encodeSync } from '../../src/sync/wire.js'
import {
  CollectingConsumer,
  natsEntry,
  startTestNode,
  TEST_NETWORK,
  type TestNode,
} from '../helpers/p2p.js'
import { testKey } from '../helpers/keys.js'
import { RawPeer, frame, rejected } from '../helpers/raw-peer.js'
import { waitFor } from '../helpers/wait.js'

const LOG = natsLogId('t.>', 'T', 1)

function target(node: TestNode): {
  peerId: TestNode['node']['host']['peerId']
  addresses: string[]
} {
  return { peerId: node.node.host.peerId, addresses: node.node.addresses() }
}

/** A request for everything the node authors. */
function request(node: TestNode): Uint8Array {
  return encodeSync({
    type: 'request',
    selector: { author: node.key.publicKey, kind: 'nats', filters: ['>'] },
    known: [],
  })
}

function bytesOf(b: Uint8Array): Uint8Array[] {
  return Array.from(b, (x) => Uint8Array.of(x))
}

test('slow drip, truncated frames and silent connections are cut off and counted', async () => {
  await using victim = await startTestNode({
    limits: { requestTimeoutMs: 800, maxRequestBytes: 4096 },
  })
  await victim.node.publish({ logId: LOG, kind: 'nats' }, ['t.>'])
  await using raw = await RawPeer.start()
  await raw.connect(target(victim))
  const peerId = victim.node.host.peerId

  // a hello frame, one byte every 300 ms: cut off when the frame takes longer than 800 ms
  const t0 = Date.now()
  const hello = frame(encodeHello({ version: 1, holds: [], wants: [] }))
  const drip = raw.send(peerId, 'hello', { pieces: bytesOf(hello), delayMs: 300, end: 'open' })
  await waitFor(async () => (await rejected(victim, 'slow')) >= 1, {
    message: 'slow hello counted',
  })
  assert.ok(Date.now() - t0 < 5_000)
  await drip

  // a sync request dripped the same way: no request within 800 ms
  const req = frame(request(victim))
  void raw.send(peerId, 'sync', { pieces: bytesOf(req), delayMs: 300, end: 'open' })
  await waitFor(async () => (await rejected(victim, 'timeout')) >= 1, {
    message: 'late request counted',
  })
  await waitFor(() => victim.node.sync.servingCount === 0, { message: 'the slot is free again' })

  // part of a frame, then a clean half-close
  await raw.send(peerId, 'hello', { pieces: [hello.subarray(0, 3)], delayMs: 0, end: 'close' })
  await waitFor(async () => (await rejected(victim, 'truncated')) >= 1, {
    message: 'truncated frame counted',
  })

  // a frame above max_request_bytes on either protocol
  await raw.send(peerId, 'sync', {
    pieces: [Uint8Array.of(0x80, 0x80, 0x04)],
    delayMs: 0,
    end: 'open',
  })
  await waitFor(async () => (await rejected(victim, 'oversized')) >= 1, {
    message: 'oversized request counted',
  })

  // a connection that never says hello is closed after the timeout
  await using silent = await RawPeer.start({ hello: false })
  await silent.connect(target(victim))
  await waitFor(() => victim.node.peers.get(silent.id)?.connected === true, {
    message: 'connected',
  })
  await waitFor(() => victim.node.peers.get(silent.id)?.connected === false, {
    timeout: 5_000,
    message: 'silent peer disconnected',
  })
  assert.equal(victim.node.peers.get(silent.id)?.lastError, 'timeout')
})

test('the request limit bounds what peers send unasked, not the batches a holder sends', async () => {
  await using author = await startTestNode({ limits: { maxRequestBytes: 4096 } })
  const log = await author.node.publish({ logId: LOG, kind: 'nats' }, ['t.>'])
  log.append({
    ...natsEntry(1, 't.big'),
    body: { ...natsEntry(1, 't.big').body, payload: new Uint8Array(300_000).fill(9) },
  })
  await using sub = await startTestNode({
    staticNodes: [author.asStatic()],
    limits: { maxRequestBytes: 4096 },
  })
  const got = new CollectingConsumer()
  await sub.node.subscribe({ author: author.key.publicKey, kind: 'nats', filters: ['>'] }, got)
  await waitFor(() => got.entries.length === 1, { message: 'a 300 KB entry arrived' })
  const body = got.entries[0]!.body
  assert.ok(body.kind === 'nats' && body.payload.length === 300_000)
})

test('one peer gets at most its share of sync sessions; others are still served', async () => {
  await using victim = await startTestNode({
    limits: { maxSyncSessionsPerPeer: 3, maxSyncSessions: 8 },
  })
  const log = await victim.node.publish({ logId: LOG, kind: 'nats' }, ['t.>'])
  for (let i = 1; i <= 200; i++) log.append(natsEntry(i, `t.${i % 4}`))
  await log.drained()
  await using raw = await RawPeer.start()
  await raw.connect(target(victim))
  const peerId = victim.node.host.peerId

  // 20 valid requests kept open: 3 are served, 8 more answered "busy", the
  // rest reset by libp2p (3 + 8 inbound sync streams per connection)
  const req = frame(request(victim))
  await Promise.all(
    Array.from({ length: 20 }, () =>
      raw.send(peerId, 'sync', { pieces: [req], delayMs: 0, end: 'open' }),
    ),
  )
  await waitFor(async () => (await rejected(victim, 'busy')) >= 8, { message: 'busy answers' })
  assert.equal(victim.node.sync.servingCount, 3)

  // an honest subscriber is served in full meanwhile
  await using sub = await startTestNode({ staticNodes: [victim.asStatic()] })
  const got = new CollectingConsumer()
  await sub.node.subscribe({ author: victim.key.publicKey, kind: 'nats', filters: ['>'] }, got)
  await waitFor(() => got.entries.length >= 200, { message: 'honest subscriber served' })
  assert.deepEqual(
    got.seqs(),
    Array.from({ length: 200 }, (_, i) => i + 1),
  )
})

test('with every connection slot taken, a node still reaches its configured nodes', async () => {
  const authorKey = testKey()
  const first = await startTestNode({ key: authorKey })
  const author = first.asStatic()
  await using victim = await startTestNode({
    staticNodes: [author],
    limits: { maxConnections: 3 },
  })
  const got = new CollectingConsumer()
  await victim.node.subscribe({ author: authorKey.publicKey, kind: 'nats', filters: ['>'] }, got)
  await waitFor(() => victim.node.hello.get(authorKey.publicKeyHex), {
    message: 'victim and author connected',
  })
  await first[Symbol.asyncDispose]()
  await waitFor(() => victim.node.peers.get(authorKey.publicKeyHex)?.connected === false, {
    message: 'author gone',
  })

  // squatters take every slot while the author is away
  const squatters = await Promise.all([RawPeer.start(), RawPeer.start(), RawPeer.start()])
  try {
    for (const s of squatters) await s.connect(target(victim))
    assert.equal(victim.node.host.getConnections().length, 3, 'every slot is taken')
    // more inbound connections are refused...
    await using late = await RawPeer.start()
    await assert.rejects(late.connect(target(victim)))
    // ...but when the author is back, the victim dials it and replication goes on
    await using again = await startTestNode({
      key: authorKey,
      listen: author.endpoints.map((e) => `${e}`),
    })
    const log = await again.node.publish({ logId: LOG, kind: 'nats' }, ['t.>'])
    for (let i = 1; i <= 20; i++) log.append(natsEntry(i, 't.x'))
    await waitFor(() => got.entries.length >= 20, {
      timeout: 20_000,
      message: 'entries via redial',
    })
  } finally {
    await Promise.all(squatters.map((s) => s[Symbol.asyncDispose]()))
  }
})

test('a peer cannot open more streams on a connection than max_streams_per_connection', async () => {
  const hosts = await Promise.all(
    [0, 1].map(async () => {
      const key = testKey()
      const host = await createHost({
        seed: key.seed,
        networkId: TEST_NETWORK,
        transport: 'tcp',
        listen: ['/ip4/127.0.0.1/tcp/0'],
        maxConnections: 8,
        maxStreamsPerConnection: 5,
      })
      await host.start()
      return host
    }),
  )
  const [a, b] = hosts as [Libp2p, Libp2p]
  try {
    const held: Stream[] = []
    await b.handle('/hold/1', (s) => void held.push(s), { maxInboundStreams: 100 })
    await a.dial(b.getMultiaddrs()[0]!)
    const opened = await Promise.allSettled(
      Array.from({ length: 12 }, () =>
        a.dialProtocol(b.peerId, '/hold/1', { signal: AbortSignal.timeout(5_000) }),
      ),
    )
    const ok = opened.filter((r) => r.status === 'fulfilled').length
    // identify may hold one of the five for a moment
    assert.ok(ok >= 4 && ok <= 5, `${ok} of 12 streams opened`)
    assert.ok(held.length <= 5)
  } finally {
    for (const h of hosts) await h.stop()
  }
})

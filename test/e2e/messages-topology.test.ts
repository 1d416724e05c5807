/**
 * Acceptance: three sites where the third reaches the author only through the
 * middle one (forwarding), and two sites that publish and subscribe the same
 * subjects in the same stream (active-active): no loops, no duplicates.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { NodeIdentity, writeKeyFile } from '../../src/identity/index.js'
import { assertReplica, messageSet } from '../helpers/messages.js'
import { metricValue } from '../helpers/prom.js'
import { Site } from '../helpers/site.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

test('three sites: C, which knows only B, receives A’s messages forwarded by B; each site has each message once', async () => {
  await using a = await Site.start('a', [{ name: 'orders', subjects: ['orders.>'] }])
  await using b = await Site.start('b', [{ name: 'orders-b', subjects: ['orders.>'] }])
  await using c = await Site.start('c', [{ name: 'orders-c', subjects: ['orders.>'] }])
  const ra = await a.rhio({
    config: { publish: { nats_subjects: [{ subject: 'orders.>', stream: 'orders' }] } },
  })
  const rb = await b.rhio({
    config: {
      nodes: [await ra.asNode()],
      subscribe: {
        nats_subjects: [{ subject: 'orders.>', stream: 'orders-b', public_key: ra.publicKey }],
      },
    },
  })
  const rc = await c.rhio({
    config: {
      nodes: [await rb.asNode()],
      subscribe: {
        nats_subjects: [{ subject: 'orders.eu.*', stream: 'orders-c', public_key: ra.publicKey }],
      },
    },
  })
  const msgs = messageSet({
    count: 2_000,
    subjects: ['orders.eu.de', 'orders.eu.fr', 'orders.us.ny', 'orders.eu.de.returns'],
  })
  await a.publishMany(msgs)
  const atC = msgs.filter((m) => /^orders\.eu\.[^.]+$/.test(m.subject)).length
  await waitFor(async () => (await b.count('orders-b')) >= msgs.length, {
    timeout: 30_000,
    message: `B has everything\n${rb.tail()}`,
  })
  await waitFor(async () => (await c.count('orders-c')) >= atC, {
    timeout: 30_000,
    message: `C has the eu messages\n${rc.tail()}`,
  })
  const sent = await a.read('orders')
  assertReplica({ sent, got: await b.read('orders-b'), author: ra.publicKey })
  assertReplica({
    sent,
    got: await c.read('orders-c'),
    filter: 'orders.eu.*',
    author: ra.publicKey,
  })
  // C never talked to A: its only peer is B.
  const peers = (await rc.health()).body.peers as Array<{ id: string; connected: boolean }>
  assert.deepEqual(
    peers.filter((p) => p.connected).map((p) => p.id),
    [rb.publicKey],
  )
})

test('active-active: two sites publish and subscribe the same subjects in one stream; no loops, no duplicates', async () => {
  await using keys = await tempDir()
  const keyA = join(keys.path, 'a.key')
  const idA = NodeIdentity.generate()
  writeKeyFile(keyA, idA)
  const streams = [{ name: 'chat', subjects: ['chat.>'] }]
  await using a = await Site.start('a', streams)
  await using b = await Site.start('b', streams)
  const publish = { nats_subjects: [{ subject: 'chat.>', stream: 'chat' }] }
  const subscribe = (pk: string): Record<string, unknown> => ({
    nats_subjects: [{ subject: 'chat.>', stream: 'chat', public_key: pk }],
  })
  // B knows A's key in advance; A dials B.
  const rb = await b.rhio({ config: { publish, subscribe: subscribe(idA.publicKeyHex) } })
  const ra = await a.rhio({
    keyPath: keyA,
    config: { publish, nodes: [await rb.asNode()], subscribe: subscribe(rb.publicKey) },
  })
  const fromA = messageSet({ count: 1_500, subjects: ['chat.room1', 'chat.room2.x'], seed: 1 })
  const fromB = messageSet({
    count: 1_000,
    first: 100_000,
    subjects: ['chat.room1', 'chat.room3'],
    seed: 2,
  })
  await Promise.all([a.publishMany(fromA), b.publishMany(fromB)])
  const total = fromA.length + fromB.length
  for (const [site, node] of [
    [a, ra],
    [b, rb],
  ] as const) {
    await waitFor(async () => (await site.count('chat')) >= total, {
      timeout: 30_000,
      message: `${site.name} has ${total} messages\n${node.tail()}`,
    })
  }
  // Each publisher has read the copies written into its stream and skipped them
  // (provenance), so nothing more will be replicated: the counts are final.
  await waitFor(
    async () =>
      metricValue(await ra.metrics(), 'rhio_messages_skipped_total', { reason: 'provenance' }) ===
        fromB.length &&
      metricValue(await rb.metrics(), 'rhio_messages_skipped_total', { reason: 'provenance' }) ===
        fromA.length,
    { timeout: 15_000, message: 'both publishers skipped the replicated copies' },
  )
  const atA = await a.read('chat')
  const atB = await b.read('chat')
  assert.equal(atA.length, total, 'no loop, no duplicate at A')
  assert.equal(atB.length, total, 'no loop, no duplicate at B')
  /** Messages written by rhio for author `pk`, or (no pk) published locally. */
  const by = (msgs: typeof atA, pk?: string): typeof atA =>
    msgs.filter((m) => m.headers.find(([k]) => k === 'X-Rhio-PublicKey')?.[1] === pk)
  // B's copies of A's messages, and A's copies of B's
  assertReplica({ sent: by(atA), got: by(atB, ra.publicKey), author: ra.publicKey })
  assertReplica({ sent: by(atB), got: by(atA, rb.publicKey), author: rb.publicKey })
  assert.equal(
    metricValue(await ra.metrics(), 'message_receive_total', { source: 'nats' }),
    fromA.length,
    'A published only its own messages',
  )
})

/**
 * Acceptance: a site whose NATS is a 3-node cluster with R3 streams survives
 * losing one node mid-stream — kill -9 of the node that both leads the stream
 * and carries rhio's connection. Replication continues on the other two
 * nodes (nothing lost, nothing duplicated, per-subject order kept) while the
 * node is down, and again once it is back.
 *
 * Case 1: the subscriber's site is the cluster (rhio B writes into an R3 copy).
 * Case 2: the publisher's site is the cluster (rhio A reads an R3 source).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { WireHeaders } from '../../src/nats/headers.js'
import type { SourceMessage } from '../../src/nats/source.js'
import { assertReplica, indexOf, messageSet } from '../helpers/messages.js'
import { connectedNode, NatsCluster } from '../helpers/nats-cluster.js'
import type { NatsServer } from '../helpers/nats-server.js'
import { startRhio, type RhioProcess } from '../helpers/rhio.js'
import { readStream, Site, type OutMessage } from '../helpers/site.js'
import { waitFor } from '../helpers/wait.js'

const N = 6_000
const KILL_AT = 1_500
const SUBJECTS = ['plant.line1.temp', 'plant.line2.temp', 'plant.line1.alarm', 'plant.hall']

/** A client connection that is closed on dispose. */
async function closing(nc: Promise<NatsConnection>): Promise<NatsConnection & AsyncDisposable> {
  const c = await nc
  return Object.assign(c, { [Symbol.asyncDispose]: () => c.close() })
}

/** Waits until `rhio` is connected to a node other than `gone`. */
async function reconnectedElsewhere(
  rhio: RhioProcess,
  cluster: NatsCluster,
  gone: NatsServer,
): Promise<NatsServer> {
  return await waitFor(
    async () => {
      const h = (await rhio.health()).body.nats
      if (h.status !== 'Connected' || h.server === null) return null
      const n = cluster.byClientAddress(h.server)
      return n === gone ? null : n
    },
    { timeout: 15_000, message: `${rhio.name} reconnected to a surviving node\n${rhio.tail()}` },
  )
}

/**
 * Publishes into JetStream with up to `pending` acks outstanding. Each message
 * carries a Nats-Msg-Id and a failed publish (its node went away, the stream
 * had no leader for a moment) is sent again until acknowledged, so the stream
 * holds every message exactly once.
 */
async function publishAll(js: JetStreamClient, msgs: OutMessage[], pending = 64): Promise<void> {
  const inflight = new Set<Promise<unknown>>()
  for (const m of msgs) {
    const headers = new WireHeaders([...m.headers, ['Nats-Msg-Id', `msg-${indexOf(m)}`]])
    const p: Promise<unknown> = waitFor(
      () => js.publish(m.subject, m.payload, { headers, timeout: 2_000 }),
      { timeout: 30_000, interval: 100, message: `publish of message ${indexOf(m)}` },
    ).finally(() => inflight.delete(p))
    inflight.add(p)
    if (inflight.size >= pending) await Promise.race(inflight)
  }
  await Promise.all(inflight)
}

/**
 * Reads a clustered stream, retrying while it has no leader: right after its
 * leader is killed JetStream needs a few seconds to elect another, and API
 * requests time out meanwhile.
 */
function readLed(nc: NatsConnection, stream: string): Promise<SourceMessage[]> {
  return waitFor(() => readStream(nc, stream), {
    timeout: 30_000,
    message: `${stream} readable (has a leader)`,
  })
}

test('site B on a 3-node NATS cluster: kill -9 of the node leading the R3 copy and carrying rhio B, mid-stream: no loss, no duplicates, order kept', async () => {
  await using a = await Site.start('a', [{ name: 'plant', subjects: ['plant.>'] }])
  await using b = await NatsCluster.start('b')
  await using nc = await closing(b.connect())
  const jsm = await jetstreamManager(nc, { checkAPI: false })
  await jsm.streams.add({ name: 'plant-copy', subjects: ['plant.>'], num_replicas: 3 })

  const ra = await a.rhio({
    config: { publish: { nats_subjects: [{ subject: 'plant.>', stream: 'plant' }] } },
  })
  await using rb = await startRhio({
    name: 'rhio-b',
    config: {
      nats: { endpoint: b.endpoint },
      log_level: 'INFO',
      nodes: [await ra.asNode()],
      subscribe: {
        nats_subjects: [{ subject: 'plant.>', stream: 'plant-copy', public_key: ra.publicKey }],
      },
    },
  })
  // The worst node to lose: the one rhio B publishes through, leading the copy.
  const victim = await connectedNode(rb, b)
  await b.moveStreamLeader(nc, 'plant-copy', victim)
  const survivors = b.nodes.filter((n) => n !== victim)

  const msgs = messageSet({ count: N, subjects: SUBJECTS, maxSmall: 200 })
  const publishing = a.publishMany(msgs, 64)
  const count = async (): Promise<number> => (await jsm.streams.info('plant-copy')).state.messages
  const atKill = await waitFor(async () => ((await count()) >= KILL_AT ? await count() : 0), {
    timeout: 30_000,
    message: `B holds ${KILL_AT} before the kill\n${rb.tail()}`,
  })
  assert.equal(
    (await b.streamLeader(nc, 'plant-copy')).serverName,
    victim.serverName,
    'the victim leads plant-copy',
  )
  await victim.kill()
  assert.ok(atKill < N, `the kill came mid-stream (B held ${atKill} of ${N})`)
  await reconnectedElsewhere(rb, b, victim)
  await publishing
  const sent = await a.read('plant')

  // (a) while the node is still down
  await using ncSurvivor = await closing(b.connect(survivors))
  const jsmSurvivor = await jetstreamManager(ncSurvivor, { checkAPI: false })
  await waitFor(async () => (await jsmSurvivor.streams.info('plant-copy')).state.messages >= N, {
    timeout: 30_000,
    message: `B holds all ${N} with ${victim.serverName} down\nB:\n${rb.tail()}\n${b.tails()}`,
  })
  assert.equal(victim.running, false)
  assertReplica({ sent, got: await readLed(ncSurvivor, 'plant-copy'), author: ra.publicKey })

  // (b) after the node is back and has caught up; more messages still arrive, once
  await victim.start()
  await b.waitStreamCurrent(ncSurvivor, 'plant-copy')
  await a.publishMany(messageSet({ count: 200, subjects: SUBJECTS, first: N, seed: 7 }))
  await waitFor(
    async () => (await jsmSurvivor.streams.info('plant-copy')).state.messages >= N + 200,
    { timeout: 30_000, message: `B holds all ${N + 200} after the restart\nB:\n${rb.tail()}` },
  )
  assertReplica({
    sent: await a.read('plant'),
    got: await readLed(ncSurvivor, 'plant-copy'),
    author: ra.publicKey,
  })
})

test('site A on a 3-node NATS cluster: kill -9 of the node leading the R3 source and carrying rhio A, mid-stream: no loss, no duplicates, order kept', async () => {
  await using a = await NatsCluster.start('a')
  await using b = await Site.start('b', [{ name: 'plant-copy', subjects: ['plant.>'] }])
  await using nc = await closing(a.connect())
  await (
    await jetstreamManager(nc, { checkAPI: false })
  ).streams.add({ name: 'plant', subjects: ['plant.>'], num_replicas: 3 })

  await using ra = await startRhio({
    name: 'rhio-a',
    config: {
      nats: { endpoint: a.endpoint },
      log_level: 'INFO',
      publish: { nats_subjects: [{ subject: 'plant.>', stream: 'plant' }] },
    },
  })
  const rb = await b.rhio({
    config: {
      nodes: [await ra.asNode()],
      subscribe: {
        nats_subjects: [{ subject: 'plant.>', stream: 'plant-copy', public_key: ra.publicKey }],
      },
    },
  })
  const victim = await connectedNode(ra, a)
  await a.moveStreamLeader(nc, 'plant', victim)
  const survivors = a.nodes.filter((n) => n !== victim)
  // The test publishes through the surviving nodes only.
  await using ncSurvivor = await closing(a.connect(survivors))

  const msgs = messageSet({ count: N, subjects: SUBJECTS, maxSmall: 200 })
  const publishing = publishAll(jetstream(ncSurvivor), msgs)
  const atKill = await waitFor(
    async () => ((await b.count('plant-copy')) >= KILL_AT ? await b.count('plant-copy') : 0),
    { timeout: 30_000, message: `B holds ${KILL_AT} before the kill\n${rb.tail()}` },
  )
  assert.equal(
    (await a.streamLeader(nc, 'plant')).serverName,
    victim.serverName,
    'the victim leads plant',
  )
  await victim.kill()
  assert.ok(atKill < N, `the kill came mid-stream (B held ${atKill} of ${N})`)
  await reconnectedElsewhere(ra, a, victim)
  await publishing
  const sent = await readLed(ncSurvivor, 'plant')
  assert.equal(sent.length, N, 'A’s stream holds every message once')

  // (a) while the node is still down
  await waitFor(async () => (await b.count('plant-copy')) >= N, {
    timeout: 30_000,
    message: `B holds all ${N} with ${victim.serverName} down\nA:\n${ra.tail()}\nB:\n${rb.tail()}`,
  })
  assert.equal(victim.running, false)
  assertReplica({ sent, got: await b.read('plant-copy'), author: ra.publicKey })

  // (b) after the node is back
  await victim.start()
  await a.waitStreamCurrent(ncSurvivor, 'plant')
  // more messages after the restart still arrive, once
  const more = messageSet({ count: 200, subjects: SUBJECTS, first: N, seed: 7 })
  await publishAll(jetstream(ncSurvivor), more)
  await waitFor(async () => (await b.count('plant-copy')) >= N + 200, {
    timeout: 30_000,
    message: `B holds all ${N + 200} after the restart\nA:\n${ra.tail()}\nB:\n${rb.tail()}`,
  })
  assertReplica({
    sent: await readLed(ncSurvivor, 'plant'),
    got: await b.read('plant-copy'),
    author: ra.publicKey,
  })
})

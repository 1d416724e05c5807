/**
 * Acceptance: crashes and restarts in the middle of a stream lose nothing and
 * duplicate nothing — kill -9 of the subscriber's rhio, kill -9 of the
 * publisher's rhio, restart of the subscriber's nats-server.
 */
import { test } from 'node:test'
import { assertReplica, messageSet } from '../helpers/messages.js'
import type { RhioProcess } from '../helpers/rhio.js'
import { Site } from '../helpers/site.js'
import { waitFor } from '../helpers/wait.js'

const N = 6_000
const SUBJECTS = ['plant.line1.temp', 'plant.line2.temp', 'plant.line1.alarm', 'plant.hall']

interface Pair {
  a: Site
  b: Site
  ra: RhioProcess
  rb: RhioProcess
  [Symbol.asyncDispose](): Promise<void>
}

async function pair(): Promise<Pair> {
  const a = await Site.start('a', [{ name: 'plant', subjects: ['plant.>'] }])
  const b = await Site.start('b', [{ name: 'plant-copy', subjects: ['plant.>'] }])
  const ra = await a.rhio({
    config: { publish: { nats_subjects: [{ subject: 'plant.>', stream: 'plant' }] } },
  })
  const rb = await b.rhio({
    config: {
      nodes: [await ra.asNode()],
      subscribe: {
        nats_subjects: [{ subject: 'plant.>', stream: 'plant-copy', public_key: ra.publicKey }],
      },
    },
  })
  return {
    a,
    b,
    ra,
    rb,
    async [Symbol.asyncDispose]() {
      await b[Symbol.asyncDispose]()
      await a[Symbol.asyncDispose]()
    },
  }
}

/** Publishes N messages at A; runs `disrupt` once B holds `after` of them; checks B at the end. */
async function survive(
  p: Pair,
  after: number,
  disrupt: () => Promise<void>,
  timeout = 60_000,
): Promise<void> {
  const msgs = messageSet({ count: N, subjects: SUBJECTS, maxSmall: 200 })
  const publishing = p.a.publishMany(msgs, 64)
  await waitFor(async () => (await p.b.count('plant-copy')) >= after, {
    timeout: 30_000,
    message: `B holds ${after} before the disruption\n${p.rb.tail()}`,
  })
  await disrupt()
  await publishing
  await waitFor(async () => (await p.b.count('plant-copy')) >= N, {
    timeout,
    message: `B holds all ${N} after the disruption\nA:\n${p.ra.tail(20)}\nB:\n${p.rb.tail()}`,
  })
  assertReplica({
    sent: await p.a.read('plant'),
    got: await p.b.read('plant-copy'),
    author: p.ra.publicKey,
  })
}

test('kill -9 of the subscriber’s rhio mid-stream, then restart: no loss, no duplicates', async () => {
  await using p = await pair()
  await survive(p, 1_500, async () => {
    await p.rb.kill()
    await p.rb.start()
  })
})

test('kill -9 of the publisher’s rhio mid-stream, then restart: nothing lost, nothing re-published as new', async () => {
  await using p = await pair()
  await survive(p, 1_500, async () => {
    await p.ra.kill()
    await p.ra.start()
  })
})

test('restart of the subscriber’s nats-server mid-stream: no loss, no duplicates; /health shows the outage and recovers', async () => {
  await using p = await pair()
  await survive(p, 1_500, async () => {
    await p.b.nats.stop()
    await waitFor(async () => (await p.rb.health()).body.nats.status !== 'Connected', {
      timeout: 10_000,
      message: 'B reports NATS down',
    })
    await p.b.nats.start()
  })
  await waitFor(async () => (await p.rb.health()).status === 200, {
    timeout: 15_000,
    message: 'B healthy again',
  })
})

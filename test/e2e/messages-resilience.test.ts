/**
 * Acceptance: crashes and restarts in the middle of a stream lose nothing and
 * duplicate nothing — kill -9 of the subscriber's rhio, kill -9 of the
 * publisher's rhio, restart of the subscriber's nats-server; and the same
 * during the catch-up of a fresh site, whose sink writes chained.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertReplica, messageSet } from '../helpers/messages.js'
import { metricValue } from '../helpers/prom.js'
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

test('catch-up of a fresh site (chained publishes into its stream) survives kill -9 of its rhio and a restart of its nats-server: each message once, in order', async () => {
  const CATCH_UP = 20_000
  await using a = await Site.start('a', [{ name: 'plant', subjects: ['plant.>'] }])
  await using b = await Site.start('b', [{ name: 'plant-copy', subjects: ['plant.>'] }])
  const ra = await a.rhio({
    config: { publish: { nats_subjects: [{ subject: 'plant.>', stream: 'plant' }] } },
  })
  await a.publishMany(messageSet({ count: CATCH_UP, subjects: SUBJECTS, maxSmall: 64 }), 512)
  // B joins with everything already published: its sink writes in bursts, chained.
  const rb = await b.rhio({
    config: {
      nodes: [await ra.asNode()],
      subscribe: {
        nats_subjects: [{ subject: 'plant.>', stream: 'plant-copy', public_key: ra.publicKey }],
      },
    },
  })
  const held = (n: number, what: string): Promise<unknown> =>
    waitFor(async () => (await b.count('plant-copy')) >= n, {
      timeout: 60_000,
      message: `B holds ${n} ${what}\n${rb.tail()}`,
    })
  await held(3_000, 'before kill -9')
  await rb.kill()
  await rb.start()
  const before = await b.count('plant-copy')
  await held(Math.min(before + 4_000, CATCH_UP - 4_000), 'before the nats-server restart')
  await b.nats.stop()
  await b.nats.start()
  await held(CATCH_UP, 'after both disruptions')
  assertReplica({
    sent: await a.read('plant'),
    got: await b.read('plant-copy'),
    author: ra.publicKey,
  })
  // Counted since the restart: the rest of the catch-up went out chained.
  const chained = metricValue(await rb.metrics(), 'rhio_sink_chained_total')
  assert.ok(chained > 0, `chained: ${chained}`)
})

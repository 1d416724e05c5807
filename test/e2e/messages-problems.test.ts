/**
 * Acceptance: what goes wrong around the streams is visible in /health and
 * metrics, retried, and never loses or drops a message — a missing or
 * recreated published stream, a subscription whose subject no stream (or the
 * wrong stream) captures, a message larger than the receiving server allows.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertReplica, messageSet } from '../helpers/messages.js'
import { metricValue } from '../helpers/prom.js'
import type { RhioProcess } from '../helpers/rhio.js'
import { Site } from '../helpers/site.js'
import { waitFor } from '../helpers/wait.js'

type Entry = { status: string; last_error: string | null }

async function subscribed(r: RhioProcess): Promise<Entry> {
  return (await r.health()).body.streams.subscribed[0] as Entry
}

async function published(r: RhioProcess): Promise<Entry> {
  return (await r.health()).body.streams.published[0] as Entry
}

test('a missing published stream shows in /health and is retried; once created, and after it is recreated, its messages replicate', async () => {
  await using a = await Site.start('a')
  await using b = await Site.start('b', [{ name: 'copy', subjects: ['late.>'] }])
  const ra = await a.rhio({
    config: { publish: { nats_subjects: [{ subject: 'late.>', stream: 'late' }] } },
  })
  await waitFor(async () => /NATS_STREAM_NOT_FOUND/.test((await published(ra)).last_error ?? ''), {
    timeout: 15_000,
    message: 'health names the missing stream',
  })
  assert.equal((await published(ra)).status, 'Inactive')
  assert.equal((await ra.health()).status, 503)
  const rb = await b.rhio({
    config: {
      nodes: [await ra.asNode()],
      subscribe: {
        nats_subjects: [{ subject: 'late.>', stream: 'copy', public_key: ra.publicKey }],
      },
    },
  })
  await a.jsm.streams.add({ name: 'late', subjects: ['late.>'] })
  const first = messageSet({ count: 300, subjects: ['late.a', 'late.b'] })
  await a.publishMany(first)
  await waitFor(async () => (await b.count('copy')) >= first.length, {
    timeout: 20_000,
    message: `B has the first messages\n${ra.tail()}`,
  })
  await waitFor(async () => (await published(ra)).status === 'Active', { timeout: 15_000 })
  assert.ok(ra.running, 'never crashed')

  // The stream is deleted and created anew: its sequence starts over (a new log).
  await a.jsm.streams.delete('late')
  await waitFor(async () => (await published(ra)).status === 'Inactive', {
    timeout: 15_000,
    message: 'health shows the deleted stream',
  })
  await a.jsm.streams.add({ name: 'late', subjects: ['late.>'] })
  const second = messageSet({ count: 200, first: 1_000, subjects: ['late.a'] })
  await a.publishMany(second)
  await waitFor(async () => (await b.count('copy')) >= first.length + second.length, {
    timeout: 30_000,
    message: `B has the messages of the recreated stream\n${ra.tail()}`,
  })
  // Deleted and created again at once: the consumer is gone, the stream is not.
  await a.jsm.streams.delete('late')
  await a.jsm.streams.add({ name: 'late', subjects: ['late.>'] })
  const third = messageSet({ count: 100, first: 2_000, subjects: ['late.b'] })
  await a.publishMany(third)
  const total = first.length + second.length + third.length
  await waitFor(async () => (await b.count('copy')) >= total, {
    timeout: 30_000,
    message: `B has the messages of the stream recreated at once\n${ra.tail()}`,
  })
  const got = await b.read('copy')
  assertReplica({ sent: await a.read('late'), got: got.slice(first.length + second.length) })
  assert.equal(got.length, total)
  void rb
})

test('a subscription whose subject no stream, or the wrong stream, captures is retried visibly; nothing is dropped or misplaced', async () => {
  await using a = await Site.start('a', [{ name: 'src', subjects: ['inbox.>'] }])
  await using b = await Site.start('b')
  const ra = await a.rhio({
    config: { publish: { nats_subjects: [{ subject: 'inbox.>', stream: 'src' }] } },
  })
  const rb = await b.rhio({
    config: {
      nodes: [await ra.asNode()],
      subscribe: {
        nats_subjects: [{ subject: 'inbox.>', stream: 'inbox', public_key: ra.publicKey }],
      },
    },
  })
  const msgs = messageSet({ count: 500, subjects: ['inbox.x', 'inbox.y.z'] })
  await a.publishMany(msgs)
  // 1. no stream at B captures inbox.>
  await waitFor(async () => /NATS_NO_STREAM/.test((await subscribed(rb)).last_error ?? ''), {
    timeout: 20_000,
    message: `health shows the sink's failure\n${rb.tail()}`,
  })
  assert.equal((await subscribed(rb)).status, 'Inactive')
  await waitFor(
    async () =>
      metricValue(await rb.metrics(), 'rhio_sink_retries_total', {
        stream: 'inbox',
        reason: 'no-stream',
      }) > 0,
    { timeout: 10_000, message: 'retries counted' },
  )
  // 2. another stream captures it: the configured stream is the only place messages go
  await b.jsm.streams.add({ name: 'other', subjects: ['inbox.>'] })
  await waitFor(async () => /NATS_WRONG_STREAM/.test((await subscribed(rb)).last_error ?? ''), {
    timeout: 20_000,
    message: `health shows the wrong stream\n${rb.tail()}`,
  })
  assert.equal(await b.count('other'), 0)
  // 3. the configured stream exists: everything arrives, once, in order
  await b.jsm.streams.delete('other')
  await b.jsm.streams.add({ name: 'inbox', subjects: ['inbox.>'] })
  await waitFor(async () => (await b.count('inbox')) >= msgs.length, {
    timeout: 30_000,
    message: `B has everything\n${rb.tail()}`,
  })
  assertReplica({ sent: await a.read('src'), got: await b.read('inbox'), author: ra.publicKey })
  await waitFor(async () => (await subscribed(rb)).status === 'Active', {
    timeout: 15_000,
    message: 'health recovers',
  })
  const m = await rb.metrics()
  assert.ok(metricValue(m, 'rhio_sink_retries_total', { reason: 'wrong-stream' }) > 0)
  assert.equal(metricValue(m, 'rhio_messages_written_total', { stream: 'inbox' }), msgs.length)
})

test('a message larger than the receiving server allows blocks its subscription visibly (never dropped) until max_payload is raised', async () => {
  await using a = await Site.start('a', [{ name: 'src', subjects: ['blk.>'] }])
  await using b = await Site.start('b', [{ name: 'dst', subjects: ['blk.>'] }], {
    maxPayload: 64 * 1024,
  })
  const ra = await a.rhio({
    config: { publish: { nats_subjects: [{ subject: 'blk.>', stream: 'src' }] } },
  })
  const rb = await b.rhio({
    config: {
      nodes: [await ra.asNode()],
      subscribe: {
        nats_subjects: [{ subject: 'blk.>', stream: 'dst', public_key: ra.publicKey }],
      },
    },
  })
  const msgs = messageSet({ count: 300, subjects: ['blk.a', 'blk.b'], large: [200 * 1024] })
  const bigAt = msgs.findIndex((m) => m.payload.length === 200 * 1024)
  assert.ok(bigAt > 0)
  await a.publishMany(msgs)
  await waitFor(
    async () => /NATS_PAYLOAD_TOO_LARGE/.test((await subscribed(rb)).last_error ?? ''),
    {
      timeout: 20_000,
      message: `health shows the blocked message\n${rb.tail()}`,
    },
  )
  assert.equal((await rb.health()).status, 503)
  await waitFor(
    async () =>
      metricValue(await rb.metrics(), 'rhio_sink_retries_total', { reason: 'too-large' }) >= 2,
    { timeout: 15_000, message: 'the blocked message is retried' },
  )
  // Order is kept: nothing after the blocked message was written.
  assert.ok((await b.count('dst')) <= bigAt)
  b.nats.configure(`max_payload: ${1024 * 1024}`)
  await b.nats.restart()
  await waitFor(async () => (await b.count('dst')) >= msgs.length, {
    timeout: 45_000,
    message: `B has everything after max_payload was raised\n${rb.tail()}`,
  })
  assertReplica({ sent: await a.read('src'), got: await b.read('dst'), author: ra.publicKey })
  await waitFor(async () => (await subscribed(rb)).status === 'Active', {
    timeout: 15_000,
    message: 'health recovers',
  })
})

/**
 * Acceptance: two sites, 10k messages over varied subjects with varied headers
 * and payloads from 0 B to 1 MiB arrive exactly once, headers byte-exact,
 * per-subject order kept; metrics and /health tell the truth about it.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertReplica, messageSet } from '../helpers/messages.js'
import { metricValue } from '../helpers/prom.js'
import { Site } from '../helpers/site.js'
import { waitFor } from '../helpers/wait.js'

const MiB = 1024 * 1024
/** A's server takes a 1 MiB payload plus the test's user headers. */
const A_MAX_PAYLOAD = MiB + 1024
/** B needs room for rhio's provenance headers on top (see docs/OPERATIONS.md). */
const B_MAX_PAYLOAD = A_MAX_PAYLOAD + 1024

const SUBJECTS = [
  'fleet.berlin.truck-1.gps',
  'fleet.berlin.truck-1.status',
  'fleet.berlin.truck-2.gps',
  'fleet.paris.bus_7.gps',
  'fleet.paris.bus_7.doors.front',
  'fleet.paris.bus_7.doors.rear',
  'fleet.lab',
  'fleet.lab.a.b.c.d.e',
  'fleet.x-1.y_2.z~3',
  'fleet.UPPER.lower',
]

test('two sites: 10k messages, 0 B to 1 MiB, varied subjects and headers arrive exactly once, byte-exact, in order', async () => {
  await using a = await Site.start('a', [{ name: 'fleet', subjects: ['fleet.>'] }], {
    maxPayload: A_MAX_PAYLOAD,
  })
  await using b = await Site.start('b', [{ name: 'fleet-copy', subjects: ['fleet.>'] }], {
    maxPayload: B_MAX_PAYLOAD,
  })
  const ra = await a.rhio({
    config: { publish: { nats_subjects: [{ subject: 'fleet.>', stream: 'fleet' }] } },
  })
  const rb = await b.rhio({
    config: {
      nodes: [await ra.asNode()],
      subscribe: {
        nats_subjects: [{ subject: 'fleet.>', stream: 'fleet-copy', public_key: ra.publicKey }],
      },
    },
  })
  // Part before B has connected (past), part while it runs (live).
  const msgs = messageSet({
    count: 10_000,
    subjects: SUBJECTS,
    large: [64 * 1024, 256 * 1024, MiB - 1, MiB, 512 * 1024, MiB],
  })
  await a.publishMany(msgs.slice(0, 4_000))
  await waitFor(async () => (await b.count('fleet-copy')) > 0, {
    timeout: 20_000,
    message: `B receives something\n${rb.tail()}`,
  })
  await a.publishMany(msgs.slice(4_000))
  await waitFor(async () => (await b.count('fleet-copy')) >= msgs.length, {
    timeout: 60_000,
    message: `B has ${msgs.length} messages\n${rb.tail()}`,
  })
  const sent = await a.read('fleet')
  const got = await b.read('fleet-copy')
  assert.equal(sent.length, msgs.length)
  assertReplica({ sent, got, author: ra.publicKey })
  assert.ok(
    got.some((m) => m.payload.length === MiB),
    'the 1 MiB messages are there',
  )
  assert.ok(
    got.some((m) => m.payload.length === 0),
    'empty payloads are there',
  )
  // Every copy carries Nats-Msg-Id (the entry id) and no redundant X-Rhio-Entry.
  for (const m of got.slice(0, 50)) {
    assert.match(m.headers.find(([k]) => k === 'Nats-Msg-Id')?.[1] ?? '', /^[0-9a-f]{64}$/)
    assert.equal(
      m.headers.some(([k]) => k === 'X-Rhio-Entry'),
      false,
    )
  }

  await waitFor(
    async () =>
      metricValue(await rb.metrics(), 'rhio_messages_written_total', { stream: 'fleet-copy' }) ===
      msgs.length,
    { timeout: 10_000, message: 'rhio_messages_written_total at B' },
  )
  const mb = await rb.metrics()
  assert.equal(metricValue(mb, 'rhio_sink_unacked', { stream: 'fleet-copy' }), 0)
  assert.equal(
    metricValue(mb, 'message_receive_total', { source: 'network', msg_type: 'nats_message' }),
    msgs.length,
  )
  for (const s of SUBJECTS.slice(0, 3)) {
    const n = msgs.filter((m) => m.subject === s).length
    assert.equal(metricValue(mb, 'message_receive_total', { source: 'network', subject: s }), n)
  }
  const ma = await ra.metrics()
  assert.equal(metricValue(ma, 'message_receive_total', { source: 'nats' }), msgs.length)
  const h = await rb.health()
  assert.equal(h.status, 200, JSON.stringify(h.body))
  assert.equal(h.body.streams.subscribed[0]?.status, 'Active')
})

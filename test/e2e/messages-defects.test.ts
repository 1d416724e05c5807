/**
 * One end-to-end test per message-related defect of the original rhio
 * (DESIGN §2, reference §3 and §8), each named after the defect, on real
 * nats-server 2.9 and real rhio processes.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { subjectMatches } from '../../src/core/subject.js'
import { assertReplica, INDEX_HEADER, indexOf, messageSet } from '../helpers/messages.js'
import { metricValue } from '../helpers/prom.js'
import { Site } from '../helpers/site.js'
import { waitFor } from '../helpers/wait.js'

const KiB = 1024

describe('defects of the original rhio, fixed', () => {
  it('consumer names with "." / "*" / ">": dotted and wildcard subjects replicate on nats-server 2.9, publish and subscribe side', async () => {
    await using a = await Site.start('a', [{ name: 'multi', subjects: ['a.>', 'x.>', 'w.>'] }])
    await using b = await Site.start('b', [
      { name: 'lit', subjects: ['a.b.c'] },
      { name: 'star', subjects: ['x.*.z'] },
      { name: 'tail', subjects: ['w.>'] },
    ])
    const ra = await a.rhio({
      config: {
        publish: {
          nats_subjects: [
            { subject: 'a.b.c', stream: 'multi' },
            { subject: 'x.*.z', stream: 'multi' },
            { subject: 'w.>', stream: 'multi' },
          ],
        },
      },
    })
    const rb = await b.rhio({
      config: {
        nodes: [await ra.asNode()],
        subscribe: {
          nats_subjects: [
            { subject: 'a.b.c', stream: 'lit', public_key: ra.publicKey },
            { subject: 'x.*.z', stream: 'star', public_key: ra.publicKey },
            { subject: 'w.>', stream: 'tail', public_key: ra.publicKey },
          ],
        },
      },
    })
    const subjects = ['a.b.c', 'a.b.d', 'x.1.z', 'x.22.z', 'x.1.y', 'x.1.2.z', 'w.1', 'w.1.2.3']
    await a.publishMany(messageSet({ count: 400, subjects }))
    const sent = await a.read('multi')
    const expect = { lit: 'a.b.c', star: 'x.*.z', tail: 'w.>' }
    for (const [stream, filter] of Object.entries(expect)) {
      const n = sent.filter((m) => subjectMatches(filter, m.subject)).length
      assert.ok(n > 0)
      await waitFor(async () => (await b.count(stream)) >= n, {
        timeout: 20_000,
        message: `${stream} holds ${n}\n${rb.tail()}`,
      })
      assertReplica({ sent, got: await b.read(stream), filter, author: ra.publicKey })
    }
    // The publish side's consumers exist on the server, named validly.
    const names: string[] = []
    for await (const c of a.jsm.consumers.list('multi')) names.push(c.name)
    assert.ok(names.length >= 3, `one consumer per filter: ${names.join(', ')}`)
    for (const n of names) assert.doesNotMatch(n, /[.*>\s]/)
    const health = await ra.health()
    assert.deepEqual(
      health.body.streams.published.map((s) => s.status),
      ['Active', 'Active', 'Active'],
    )
  })

  it('past-message sync that returns nothing: a late joiner receives every retained past message, then live ones', async () => {
    await using a = await Site.start('a', [{ name: 'log', subjects: ['log.>'] }])
    await using b = await Site.start('b', [{ name: 'log', subjects: ['log.>'] }])
    const ra = await a.rhio({
      config: { publish: { nats_subjects: [{ subject: 'log.>', stream: 'log' }] } },
    })
    const past = messageSet({ count: 3_000, subjects: ['log.app', 'log.db.slow'] })
    await a.publishMany(past)
    await waitFor(
      async () =>
        metricValue(await ra.metrics(), 'message_receive_total', { source: 'nats' }) ===
        past.length,
      { timeout: 15_000, message: 'A has published the past messages' },
    )
    // Retention at A: the oldest messages leave A's stream before B ever asks
    // (A's log still holds them).
    await a.jsm.streams.purge('log', { seq: 501 })
    const rb = await b.rhio({
      config: {
        nodes: [await ra.asNode()],
        subscribe: {
          nats_subjects: [{ subject: 'log.>', stream: 'log', public_key: ra.publicKey }],
        },
      },
    })
    // B receives what A's log holds: every message A published, including
    // the ones purged from A's stream since (A's log keeps them).
    await waitFor(async () => (await b.count('log')) >= past.length, {
      timeout: 20_000,
      message: `B has the past messages\n${rb.tail()}`,
    })
    const live = messageSet({ count: 500, first: 10_000, subjects: ['log.app'] })
    await a.publishMany(live)
    await waitFor(async () => (await b.count('log')) >= past.length + live.length, {
      timeout: 20_000,
      message: `B has the live messages\n${rb.tail()}`,
    })
    const got = await b.read('log')
    assert.equal(got.length, past.length + live.length)
    assert.deepEqual(
      got.filter((m) => indexOf(m) < 500).map(indexOf),
      Array.from({ length: 500 }, (_, i) => i),
      'the messages purged at A since arrived too, in order',
    )
    assertReplica({
      sent: await a.read('log'),
      got: got.filter((m) => indexOf(m) >= 500),
      author: ra.publicKey,
    })
  })

  it('header-order signature failures: several header names in any order, repeated and interleaved, verify and arrive byte-exact', async () => {
    await using a = await Site.start('a', [{ name: 'h', subjects: ['h.>'] }])
    await using b = await Site.start('b', [{ name: 'h', subjects: ['h.>'] }])
    const ra = await a.rhio({
      config: { publish: { nats_subjects: [{ subject: 'h.>', stream: 'h' }] } },
    })
    const rb = await b.rhio({
      config: {
        nodes: [await ra.asNode()],
        subscribe: { nats_subjects: [{ subject: 'h.>', stream: 'h', public_key: ra.publicKey }] },
      },
    })
    const orders: Array<Array<[string, string]>> = [
      [
        ['Zeta', '1'],
        ['alpha', '2'],
        ['Mid', '3'],
      ],
      [
        ['alpha', '2'],
        ['Mid', '3'],
        ['Zeta', '1'],
      ],
      [
        ['Mid', 'x'],
        ['Zeta', 'a'],
        ['Mid', 'y'],
        ['zeta', 'b'],
        ['Mid', 'z'],
      ],
      [
        ['Unicode-Value', 'grüße ✓'],
        ['Spaces', '  both sides  '],
        ['Empty', ''],
      ],
    ]
    const msgs = Array.from({ length: 200 }, (_, i) => ({
      subject: `h.${i % 3}`,
      payload: new TextEncoder().encode(`m${i}`),
      headers: [[INDEX_HEADER, String(i)], ...(orders[i % orders.length] ?? [])] as Array<
        [string, string]
      >,
    }))
    await a.publishMany(msgs)
    await waitFor(async () => (await b.count('h')) >= msgs.length, {
      timeout: 20_000,
      message: `B has all\n${rb.tail()}`,
    })
    assertReplica({ sent: await a.read('h'), got: await b.read('h'), author: ra.publicKey })
    const mb = await rb.metrics()
    assert.equal(metricValue(mb, 'rhio_p2p_rejected_total'), 0, 'nothing rejected')
  })

  it('the 4 KiB gossip limit: messages around 4 KiB and far above it replicate', async () => {
    const sizes = [4 * KiB - 1, 4 * KiB, 4 * KiB + 1, 16 * KiB + 1, 64 * KiB, 900 * KiB]
    await using a = await Site.start('a', [{ name: 'big', subjects: ['big.>'] }])
    await using b = await Site.start('b', [{ name: 'big', subjects: ['big.>'] }], {
      maxPayload: 2 * 1024 * KiB,
    })
    const ra = await a.rhio({
      config: { publish: { nats_subjects: [{ subject: 'big.>', stream: 'big' }] } },
    })
    const rb = await b.rhio({
      config: {
        nodes: [await ra.asNode()],
        subscribe: {
          nats_subjects: [{ subject: 'big.>', stream: 'big', public_key: ra.publicKey }],
        },
      },
    })
    const msgs = sizes.map((size, i) => ({
      subject: `big.${i}`,
      payload: new Uint8Array(size).map((_, j) => (j * 31 + i) & 0xff),
      headers: [[INDEX_HEADER, String(i)]] as Array<[string, string]>,
    }))
    await a.publishMany(msgs)
    await waitFor(async () => (await b.count('big')) >= msgs.length, {
      timeout: 20_000,
      message: `B has all\n${rb.tail()}`,
    })
    const got = await b.read('big')
    assert.deepEqual(
      got.map((m) => m.payload.length),
      sizes,
    )
    assertReplica({ sent: await a.read('big'), got, author: ra.publicKey })
  })

  it('SIGTERM ignored: SIGTERM mid-stream stops the subscriber cleanly (exit 0, sinks flushed, heights saved); after a restart nothing is lost or re-sent', async () => {
    await using a = await Site.start('a', [{ name: 'st', subjects: ['st.>'] }])
    await using b = await Site.start('b', [{ name: 'st', subjects: ['st.>'] }])
    const ra = await a.rhio({
      config: { publish: { nats_subjects: [{ subject: 'st.>', stream: 'st' }] } },
    })
    const rb = await b.rhio({
      config: {
        nodes: [await ra.asNode()],
        subscribe: {
          nats_subjects: [{ subject: 'st.>', stream: 'st', public_key: ra.publicKey }],
        },
      },
    })
    const msgs = messageSet({ count: 6_000, subjects: ['st.a', 'st.b'], maxSmall: 100 })
    const publishing = a.publishMany(msgs, 64)
    await waitFor(async () => (await b.count('st')) >= 1_000, {
      timeout: 20_000,
      message: `B holds 1000\n${rb.tail()}`,
    })
    const t0 = Date.now()
    const exit = await rb.stop('SIGTERM')
    assert.deepEqual(exit, { code: 0, signal: null }, rb.tail())
    assert.ok(Date.now() - t0 < 10_000, 'stopped within the shutdown deadline')
    assert.ok(
      rb.logs().some((l) => l.msg === 'shutdown complete' && l.clean === true),
      'clean shutdown logged',
    )
    const stored = await b.count('st')
    await publishing
    await rb.start()
    await waitFor(async () => (await b.count('st')) >= msgs.length, {
      timeout: 30_000,
      message: `B has all after the restart\n${rb.tail()}`,
    })
    assertReplica({ sent: await a.read('st'), got: await b.read('st'), author: ra.publicKey })
    // Everything stored before the stop was acknowledged and its height saved:
    // the restarted node asks only for what came after (no re-sends).
    const mb = await rb.metrics()
    assert.equal(metricValue(mb, 'rhio_sink_duplicates_total'), 0, `stored before: ${stored}`)
  })
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Site } from '../helpers/site.js'
import { waitFor } from '../helpers/wait.js'

test('two sites: messages published at A arrive once at B with headers and provenance', async () => {
  await using a = await Site.start('a', [{ name: 'events', subjects: ['sensors.>'] }])
  await using b = await Site.start('b', [{ name: 'mirror', subjects: ['sensors.>'] }])
  const ra = await a.rhio({
    config: { publish: { nats_subjects: [{ subject: 'sensors.>', stream: 'events' }] } },
  })
  const rb = await b.rhio({
    config: {
      nodes: [await ra.asNode()],
      subscribe: {
        nats_subjects: [{ subject: 'sensors.*.temp', stream: 'mirror', public_key: ra.publicKey }],
      },
    },
  })
  for (let i = 0; i < 100; i++) {
    await a.publish(`sensors.${i % 4}.temp`, `t${i}`, [
      ['B-Header', 'x'],
      ['a-header', String(i)],
      ['B-Header', 'y'],
    ])
    await a.publish(`sensors.${i % 4}.humidity`, `h${i}`)
  }
  await waitFor(async () => (await b.count('mirror')) >= 100, {
    timeout: 20_000,
    message: `B has 100 messages\n${rb.tail()}`,
  })
  const got = await b.read('mirror')
  assert.equal(got.length, 100)
  // user headers exactly as they are in A's stream (nats.js groups repeated names when publishing)
  const sent = new Map(
    (await a.read('events', 'sensors.*.temp')).map((m) => [
      new TextDecoder().decode(m.payload),
      m.headers,
    ]),
  )
  const bySubject = new Map<string, string[]>()
  for (const m of got) {
    assert.match(m.subject, /^sensors\.\d\.temp$/)
    const user = m.headers.filter(([k]) => !k.startsWith('X-Rhio-') && !k.startsWith('Nats-'))
    assert.deepEqual(user, sent.get(new TextDecoder().decode(m.payload)))
    assert.equal(new Set(user.map(([k]) => k)).size, 2)
    const prov = Object.fromEntries(m.headers.filter(([k]) => k.startsWith('X-Rhio-')))
    assert.equal(prov['X-Rhio-PublicKey'], ra.publicKey)
    bySubject.set(m.subject, [
      ...(bySubject.get(m.subject) ?? []),
      new TextDecoder().decode(m.payload),
    ])
  }
  for (const [subject, payloads] of bySubject) {
    const nums = payloads.map((p) => Number(p.slice(1)))
    assert.deepEqual(
      nums,
      [...nums].sort((x, y) => x - y),
      `order kept on ${subject}`,
    )
  }
  const health = await rb.health()
  assert.equal(health.status, 200, JSON.stringify(health.body))
})

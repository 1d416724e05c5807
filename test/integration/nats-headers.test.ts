import assert from 'node:assert/strict'
import { test } from 'node:test'
import { jetstream } from '@nats-io/jetstream'
import { JetStreamSink } from '../../src/nats/sink.js'
import { JetStreamSource } from '../../src/nats/source.js'
import { NatsServer } from '../helpers/nats-server.js'
import { connectTo, equalBytes, manager, rawHeaders, readAll } from './nats-helpers.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

test('headers: source at site A to sink at site B reproduces each stored header block byte for byte', async () => {
  await using siteA = await NatsServer.start({ name: 'nats-a' })
  await using siteB = await NatsServer.start({ name: 'nats-b' })
  await using a = await connectTo(siteA)
  await using b = await connectTo(siteB)
  await (await manager(a)).streams.add({ name: 'PUB', subjects: ['data.>'] })
  await (await manager(b)).streams.add({ name: 'SUB', subjects: ['data.>'] })

  // Header blocks as different publishers write them: interleaved repeats, mixed case, spaces
  // inside values, an empty value, UTF-8, and a plain nats.js message without headers.
  const blocks = [
    'NATS/1.0\r\nA: 1\r\nb: 2\r\nA: 3\r\n\r\n',
    'NATS/1.0\r\nx-Y:   spaced  \r\nE: \r\nUtf: grüße\r\nX-Y: again\r\n\r\n',
    'NATS/1.0\r\nTrace-Id: 7\r\nTrace-Id: 7\r\nTrace-Id: 8\r\n\r\n',
  ]
  const js = jetstream(a)
  for (const [i, block] of blocks.entries()) {
    await js.publish(`data.site.${i}`, enc(`payload ${i}`), { headers: rawHeaders(block) })
  }
  await js.publish('data.plain', enc('no headers'))

  const source = new JetStreamSource(
    { nc: a },
    { stream: 'PUB', filterSubject: 'data.>', mode: 'catchup' },
  )
  const sink = new JetStreamSink({ nc: b }, { expectStream: 'SUB' })
  for await (const m of source) {
    await sink.write({
      subject: m.subject,
      headers: m.headers,
      payload: m.payload,
      msgId: `A:${m.seq}`,
    })
  }
  await sink.flush({ signal: AbortSignal.timeout(5_000) })

  const copies = await readAll(b, 'SUB')
  assert.equal(copies.length, 4)
  for (const [i, block] of blocks.entries()) {
    const copy = copies[i]
    // A message sent in a chain (see JetStreamSink) also carries its predecessor's id.
    const added = `Nats-Msg-Id: A:${i + 1}\r\nNats-Expected-Stream: SUB\r\n`
    const chain = i === 0 ? [] : [`Nats-Expected-Last-Msg-Id: A:${i}\r\n`]
    const wants = ['', ...chain].map((c) => enc(block.slice(0, -2) + added + c + '\r\n'))
    assert.ok(
      wants.some((want) => equalBytes(copy?.raw, want)),
      `block ${i}: ${JSON.stringify(new TextDecoder().decode(copy?.raw))} != ${JSON.stringify(block)}`,
    )
  }
  const plain = 'NATS/1.0\r\nNats-Msg-Id: A:4\r\nNats-Expected-Stream: SUB\r\n'
  assert.ok(
    [plain + '\r\n', plain + 'Nats-Expected-Last-Msg-Id: A:3\r\n\r\n'].some((want) =>
      equalBytes(copies[3]?.raw, enc(want)),
    ),
  )
  assert.deepEqual(
    copies.map((c) => new TextDecoder().decode(c.payload)),
    ['payload 0', 'payload 1', 'payload 2', 'no headers'],
  )
  await source.stop()
  await sink.stop()
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect } from '@nats-io/transport-node'
import { NatsServer } from '../helpers/nats-server.js'
import { S3Server } from '../helpers/s3-server.js'

test('nats-server launcher: JetStream on a free port, restartable on the same port', async () => {
  await using ns = await NatsServer.start()
  assert.ok(ns.port > 0)
  const port = ns.port
  const nc = await connect({ servers: ns.url })
  const info = await nc.request('$JS.API.INFO', undefined, { timeout: 2000 })
  assert.match(
    new TextDecoder().decode(info.data),
    /"type":"io.nats.jetstream.api.v1.account_info_response"/,
  )
  await nc.close()
  await ns.stop()
  assert.equal(ns.running, false)
  await ns.start()
  assert.equal(ns.port, port)
})

test('s3 launcher: serves HTTP on a free port', async () => {
  await using s3 = await S3Server.start({ buckets: ['a'] })
  const res = await fetch(`${s3.endpoint}/`)
  assert.equal(res.status, 200)
  assert.match(await res.text(), /<Name>a<\/Name>/)
})

/**
 * Acceptance: NATS username/password, token and nkey each carry replication,
 * and each reconnects the same way after its server restarts (the original
 * lost its reconnect options with nkey and token).
 */
import { test } from 'node:test'
import {
  nkeyAuthenticator,
  nkeys,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from '@nats-io/transport-node'
import { assertReplica, messageSet } from '../helpers/messages.js'
import type { RhioProcess } from '../helpers/rhio.js'
import { Site } from '../helpers/site.js'
import { waitFor } from '../helpers/wait.js'

test('username/password, token and nkey sites replicate, and each reconnects after its nats-server restarts', async () => {
  const user = nkeys.createUser()
  const seed = new TextDecoder().decode(user.getSeed())
  await using a = await Site.start('a', [{ name: 'ev', subjects: ['ev.>'] }], {
    natsConfig: 'authorization { user: "rhio", password: "pw" }',
    connect: { authenticator: usernamePasswordAuthenticator('rhio', 'pw') },
  })
  await using b = await Site.start('b', [{ name: 'ev', subjects: ['ev.>'] }], {
    natsConfig: 'authorization { token: "s3cr3t" }',
    connect: { authenticator: tokenAuthenticator('s3cr3t') },
  })
  await using c = await Site.start('c', [{ name: 'ev', subjects: ['ev.>'] }], {
    natsConfig: `authorization { users: [ { nkey: "${user.getPublicKey()}" } ] }`,
    connect: { authenticator: nkeyAuthenticator(user.getSeed()) },
  })
  const ra = await a.rhio({
    config: {
      nats: { endpoint: a.nats.url, credentials: { username: 'rhio', password: 'pw' } },
      publish: { nats_subjects: [{ subject: 'ev.>', stream: 'ev' }] },
    },
  })
  const subscribe = {
    nats_subjects: [{ subject: 'ev.>', stream: 'ev', public_key: ra.publicKey }],
  }
  const rb = await b.rhio({
    config: {
      nats: { endpoint: b.nats.url, credentials: { token: 's3cr3t' } },
      nodes: [await ra.asNode()],
      subscribe,
    },
  })
  const rc = await c.rhio({
    config: {
      nats: { endpoint: c.nats.url, credentials: { nkey: seed } },
      nodes: [await ra.asNode()],
      subscribe,
    },
  })
  const sites: Array<[Site, RhioProcess]> = [
    [a, ra],
    [b, rb],
    [c, rc],
  ]
  const first = messageSet({ count: 300, subjects: ['ev.a', 'ev.b'] })
  await a.publishMany(first)
  for (const [site, node] of sites.slice(1)) {
    await waitFor(async () => (await site.count('ev')) >= first.length, {
      timeout: 20_000,
      message: `${site.name} has the first messages\n${node.tail()}`,
    })
  }
  // Each server restarts; each rhio reports it and reconnects with its credentials.
  for (const [site, node] of sites) {
    await site.nats.restart()
    await waitFor(async () => (await node.health()).body.nats.status === 'Connected', {
      timeout: 20_000,
      message: `${site.name} reconnected\n${node.tail()}`,
    })
  }
  const second = messageSet({ count: 300, first: 1_000, subjects: ['ev.a', 'ev.c'] })
  await a.publishMany(second)
  const sent = await a.read('ev')
  for (const [site, node] of sites.slice(1)) {
    await waitFor(async () => (await site.count('ev')) >= sent.length, {
      timeout: 30_000,
      message: `${site.name} has everything after the restarts\n${node.tail()}`,
    })
    assertReplica({ sent, got: await site.read('ev'), author: ra.publicKey })
    await waitFor(async () => (await node.health()).status === 200, {
      timeout: 15_000,
      message: `${site.name} healthy`,
    })
  }
})

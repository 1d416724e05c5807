/**
 * Access control (issue 14): with `access.policy: known` a node accepts and
 * dials only the public keys it knows; a stranger is refused when its
 * connection is set up, before any protocol runs, and counted. Forwarding
 * between allowed peers keeps working.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { natsLogId } from '../../src/core/selector.js'
import { metricValue } from '../helpers/prom.js'
import { CollectingConsumer, natsEntry, startTestNode } from '../helpers/p2p.js'
import { RawPeer } from '../helpers/raw-peer.js'
import { testKey } from '../helpers/keys.js'
import { waitFor } from '../helpers/wait.js'

const LOG = natsLogId('t.>', 'T', 1)

test('known peers only: a stranger is refused at connection time; A → B → C forwarding still works', async () => {
  const [ka, kb, kc] = [testKey(), testKey(), testKey()]
  await using a = await startTestNode({ key: ka, allowedPeers: [kb.publicKeyHex] })
  // B forwards A's log to C: it knows A (the author it subscribes to) and allows C
  await using b = await startTestNode({
    key: kb,
    staticNodes: [a.asStatic()],
    allowedPeers: [ka.publicKeyHex, kc.publicKeyHex],
  })
  await using c = await startTestNode({
    key: kc,
    staticNodes: [b.asStatic()],
    allowedPeers: [kb.publicKeyHex, ka.publicKeyHex],
  })
  const filter = { author: ka.publicKey, kind: 'nats' as const, filters: ['t.>'] }
  await b.node.subscribe(filter, new CollectingConsumer())
  const got = new CollectingConsumer()
  await c.node.subscribe(filter, got)
  const log = await a.node.publish({ logId: LOG, kind: 'nats' }, ['t.>'])
  for (let i = 1; i <= 20; i++) log.append(natsEntry(i, `t.${i % 3}`))
  await waitFor(() => got.entries.length >= 20, { message: 'C gets A’s entries through B' })
  assert.deepEqual(
    got.seqs(),
    Array.from({ length: 20 }, (_, i) => i + 1),
  )

  // a stranger who knows the network id is refused by each of them
  await using stranger = await RawPeer.start({ holds: [filter] })
  for (const victim of [a, b, c]) {
    const target = { peerId: victim.node.host.peerId, addresses: victim.node.addresses() }
    await assert.rejects(stranger.connect(target), 'the connection is refused')
    assert.equal(victim.node.peers.get(stranger.id), undefined, 'the stranger never became a peer')
    assert.ok(
      (metricValue(await victim.registry.metrics(), 'rhio_p2p_refused_total', {
        reason: 'not-allowed',
      }) ?? 0) >= 1,
      'the refusal is counted',
    )
  }
})

test('an open node (the default) accepts the same stranger', async () => {
  await using open = await startTestNode()
  await using stranger = await RawPeer.start()
  await stranger.connect({ peerId: open.node.host.peerId, addresses: open.node.addresses() })
  await waitFor(() => open.node.peers.get(stranger.id)?.connected === true, {
    message: 'the stranger is connected',
  })
})

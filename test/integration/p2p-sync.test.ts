import assert from 'node:assert/strict'
import { test } from 'node:test'
import { natsLogId } from '../../src/core/selector.js'
import { CollectingConsumer, natsEntry, startTestNode } from '../helpers/p2p.js'
import { waitFor } from '../helpers/wait.js'

const LOG = natsLogId('sensors.>', 'S', 1)

test('C receives all of A’s entries via B, verified, also while A is offline', async () => {
  await using a = await startTestNode()
  const logA = await a.node.publish({ logId: LOG, kind: 'nats' }, ['sensors.>'])
  for (let i = 1; i <= 500; i++) logA.append(natsEntry(i, `sensors.${i % 5}`))
  await logA.drained()

  await using b = await startTestNode({ staticNodes: [a.asStatic()] })
  const atB = new CollectingConsumer()
  await b.node.subscribe({ author: a.key.publicKey, kind: 'nats', filters: ['sensors.>'] }, atB)
  await waitFor(() => atB.entries.length >= 500, { message: 'B has 500 entries' })

  // A goes away; C only knows B.
  await a.node.stop()
  await using c = await startTestNode({ staticNodes: [b.asStatic()] })
  const atC = new CollectingConsumer()
  await c.node.subscribe({ author: a.key.publicKey, kind: 'nats', filters: ['sensors.>'] }, atC)
  await waitFor(() => atC.entries.length >= 500, { message: 'C has 500 entries via B' })
  assert.deepEqual(
    atC.seqs(),
    Array.from({ length: 500 }, (_, i) => i + 1),
  )
  assert.ok(atC.entries.every((e) => e.peer === b.key.publicKeyHex))
  assert.equal(atB.entries.length, 500, 'no duplicates at B')
})

test('live entries flow A → B → C with filters; C gets only what it asked for', async () => {
  await using a = await startTestNode()
  const logA = await a.node.publish({ logId: LOG, kind: 'nats' }, ['sensors.>'])
  await using b = await startTestNode({ staticNodes: [a.asStatic()] })
  const atB = new CollectingConsumer()
  await b.node.subscribe({ author: a.key.publicKey, kind: 'nats', filters: ['sensors.*'] }, atB)
  await using c = await startTestNode({ staticNodes: [b.asStatic()] })
  const atC = new CollectingConsumer()
  await c.node.subscribe({ author: a.key.publicKey, kind: 'nats', filters: ['sensors.1'] }, atC)
  // wait until C's session with B is open
  await waitFor(() => c.node.sync.status().some((s) => s.state === 'open'), {
    message: 'C session open',
  })
  const t0 = Date.now()
  for (let i = 1; i <= 200; i++) logA.append(natsEntry(i, `sensors.${i % 4}`))
  await waitFor(() => atC.entries.length >= 50, { message: 'C got sensors.1 entries' })
  assert.ok(Date.now() - t0 < 5000)
  assert.ok(atC.entries.every((e) => e.body.kind === 'nats' && e.body.subject === 'sensors.1'))
  assert.equal(atC.entries.length, 50)
  await waitFor(() => atB.entries.length >= 200)
  assert.equal(atB.entries.length, 200)
})

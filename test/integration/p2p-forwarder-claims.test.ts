/**
 * What a forwarder (a holder that is not the author) can and cannot do to a
 * subscriber's heights. Heights move only on headers the author signed:
 * unsigned progress messages are informational, a whole-log subscriber
 * refuses batches with entries left out, and the author signs coverage of
 * sequence numbers without entries.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signBatch, subsetBatch, verifyBatch } from '../../src/core/batch.js'
import { natsLogId } from '../../src/core/selector.js'
import { encodeSync } from '../../src/sync/wire.js'
import { testKey, testVerify } from '../helpers/keys.js'
import { CollectingConsumer, natsEntry, startTestNode, TEST_NETWORK } from '../helpers/p2p.js'
import { Rogue, type RogueScript } from '../helpers/rogue.js'
import { waitFor } from '../helpers/wait.js'

const LOG = natsLogId('t.>', 'T', 1)
const FAR = 2 ** 40

test('a forwarder claiming coverage far ahead cannot make the subscriber skip the author', async () => {
  const authorKey = testKey()
  const liar: RogueScript = async ({ framed }) => {
    await framed.write(encodeSync({ type: 'log', logId: LOG, low: 1, head: FAR }))
    await framed.write(encodeSync({ type: 'progress', logId: LOG, through: FAR, head: FAR }))
    // then keep the session open with heartbeats, as an honest holder would
    for (;;) {
      await new Promise((r) => setTimeout(r, 500))
      await framed.write(encodeSync({ type: 'progress', logId: LOG, through: FAR, head: FAR }))
    }
  }
  await using rogue = await Rogue.start({
    holds: [{ author: authorKey.publicKey, kind: 'nats', filters: ['>'] }],
    scripts: [liar],
  })
  await using author = await startTestNode({ key: authorKey })
  const log = await author.node.publish({ logId: LOG, kind: 'nats' }, ['t.>'])
  await using victim = await startTestNode({ staticNodes: [rogue.asStatic(), author.asStatic()] })
  const got = new CollectingConsumer()
  await victim.node.subscribe({ author: authorKey.publicKey, kind: 'nats', filters: ['t.>'] }, got)

  // the lie has been heard before the author publishes (a forwarder's unsigned claim
  // does not even move the head shown for the lag: only the author's claims do)
  await waitFor(
    () =>
      (victim.node.sync.status().find((s) => s.peer === rogue.key.publicKeyHex)?.messages ?? 0) >=
      2,
    { timeout: 15_000, message: "the victim processed the forwarder's claim" },
  )
  assert.ok(victim.node.sync.logStatus().every((s) => s.head < FAR))
  for (let i = 1; i <= 30; i++) log.append(natsEntry(i, `t.${i % 3}`))
  await waitFor(() => got.entries.length >= 30, {
    timeout: 15_000,
    message: 'entries of the author',
  })
  assert.deepEqual(
    got.seqs(),
    Array.from({ length: 30 }, (_, i) => i + 1),
  )
  const status = victim.node.sync.logStatus().find((s) => s.logId === LOG)
  assert.equal(status?.height, 30, 'the height follows signed data, not the claim')
})

test('a forwarder leaving entries out of a whole-log batch is refused (incomplete); the author fills in', async () => {
  const authorKey = testKey()
  const entries = [1, 2, 3, 4].map((i) => natsEntry(i, `t.${i}`))
  const genuine = signBatch({
    networkId: TEST_NETWORK,
    author: authorKey.publicKey,
    logId: LOG,
    firstSeq: 1,
    entries,
    sign: authorKey.sign,
  })
  const v = verifyBatch(genuine, { networkId: TEST_NETWORK, verify: testVerify, maxEntries: 16 })
  assert.ok(v.ok)
  const withoutTwo = subsetBatch(genuine, v.leaves, [0, 2, 3]) // seq 2 withheld, proof valid
  const omitter: RogueScript = async ({ framed }) => {
    await framed.write(encodeSync({ type: 'log', logId: LOG, low: 1, head: 4 }))
    await framed.write(encodeSync({ type: 'batch', batch: withoutTwo }))
    await framed.read()
  }
  await using rogue = await Rogue.start({
    holds: [{ author: authorKey.publicKey, kind: 'nats', filters: ['>'] }],
    scripts: [omitter],
  })
  await using victim = await startTestNode({ staticNodes: [rogue.asStatic()] })
  const got = new CollectingConsumer()
  await victim.node.subscribe({ author: authorKey.publicKey, kind: 'nats', filters: ['t.>'] }, got)
  await waitFor(
    async () =>
      (await victim.registry.getSingleMetricAsString('rhio_p2p_rejected_total')).includes(
        'reason="incomplete"',
      ),
    {
      timeout: 15_000,
      message: 'incomplete batch refused',
    },
  )
  assert.equal(got.entries.length, 0, 'nothing from the incomplete batch was delivered')
  // the author comes along: everything arrives, seq 2 included
  await using author = await startTestNode({ key: authorKey, staticNodes: [victim.asStatic()] })
  const log = await author.node.publish({ logId: LOG, kind: 'nats' }, ['t.>'])
  for (const e of entries) log.append(e)
  await waitFor(() => got.entries.length >= 4, {
    timeout: 15_000,
    message: 'all four from the author',
  })
  assert.deepEqual(got.seqs(), [1, 2, 3, 4])
})

test('skipped sequence numbers are covered by signed coverage-only batches, also for filtered subscribers', async () => {
  await using author = await startTestNode()
  const log = await author.node.publish({ logId: LOG, kind: 'nats' }, ['t.>'])
  await using sub = await startTestNode({ staticNodes: [author.asStatic()] })
  const got = new CollectingConsumer()
  await sub.node.subscribe(
    { author: author.key.publicKey, kind: 'nats', filters: ['t.wanted'] },
    got,
  )
  log.append(natsEntry(1, 't.other'))
  log.advance(10) // seqs 2..10 were skipped at the source
  await log.drained()
  log.append(natsEntry(11, 't.wanted'))
  await waitFor(() => got.entries.length >= 1, { timeout: 15_000, message: 'the wanted entry' })
  assert.deepEqual(got.seqs(), [11])
  const status = sub.node.sync.logStatus().find((s) => s.logId === LOG)
  assert.equal(
    status?.height,
    11,
    'the height moved over the skipped and unwanted ranges on signed headers',
  )
})

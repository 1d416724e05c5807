/**
 * What a forwarder (a holder that is not the author) may claim. Progress
 * messages are unsigned: a forwarder that claims coverage far beyond the
 * author's log must not move the subscriber's height (which would make it
 * drop every later entry of the author as a duplicate, for ever); a claim only
 * counts up to the start of a signed batch the same forwarder then sends.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { natsLogId } from '../../src/log/kinds.js'
import { encodeSync } from '../../src/p2p/messages.js'
import { testKey } from '../helpers/keys.js'
import { CollectingConsumer, natsEntry, startTestNode } from '../helpers/p2p.js'
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

  // the lie has been heard (the reported head moved) before the author publishes
  await waitFor(() => victim.node.wantStatus().some((s) => s.head >= FAR), {
    timeout: 15_000,
    message: "the victim processed the forwarder's claim",
  })
  for (let i = 1; i <= 30; i++) log.append(natsEntry(i, `t.${i % 3}`))
  await waitFor(() => got.entries.length >= 30, {
    timeout: 15_000,
    message: 'entries of the author',
  })
  assert.deepEqual(
    got.seqs(),
    Array.from({ length: 30 }, (_, i) => i + 1),
  )
  const status = victim.node.wantStatus().find((s) => s.logId === LOG)
  assert.equal(status?.height, 30, 'the height follows signed data, not the claim')
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Delivery } from '../../src/sync/want.js'
import { natsLogId } from '../../src/core/selector.js'
import { CollectingConsumer, natsEntry, startTestNode } from '../helpers/p2p.js'
import { waitFor } from '../helpers/wait.js'

const LOG = natsLogId('sensors.>', 'S', 1)

/** Refuses the first delivery that has entries (as a failing sink would), then accepts. */
class FailOnceConsumer extends CollectingConsumer {
  failed = 0
  override async deliver(d: Delivery): Promise<void> {
    if (this.failed === 0 && d.entries.length > 0) {
      this.failed++
      throw new Error('sink refused the delivery')
    }
    await super.deliver(d)
  }
}

test('a delivery the consumer refuses is delivered again, not skipped (height rolled back)', async () => {
  await using a = await startTestNode()
  const log = await a.node.publish({ logId: LOG, kind: 'nats' }, ['sensors.>'])
  for (let i = 1; i <= 300; i++) log.append(natsEntry(i, `sensors.${i % 3}`))
  await log.drained()
  await using b = await startTestNode({ staticNodes: [a.asStatic()] })
  const consumer = new FailOnceConsumer()
  const want = await b.node.subscribe(
    { author: a.key.publicKey, kind: 'nats', filters: ['sensors.>'] },
    consumer,
  )
  await waitFor(() => consumer.entries.length >= 300, {
    timeout: 15_000,
    message: 'all 300 entries delivered after the refusal',
  })
  assert.equal(consumer.failed, 1)
  assert.deepEqual(
    consumer.seqs(),
    Array.from({ length: 300 }, (_, i) => i + 1),
  )
  await want.waitDurable(LOG, 300, 5_000)
})

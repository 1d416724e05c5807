import assert from 'node:assert/strict'
import { test } from 'node:test'
import { natsLogId } from '../../src/core/selector.js'
import type { Delivery } from '../../src/sync/want.js'
import { MemoryStateStore } from '../../src/state/state-store.js'
import { CollectingConsumer, natsEntry, startTestNode } from '../helpers/p2p.js'
import { testKey } from '../helpers/keys.js'
import { waitFor } from '../helpers/wait.js'

const LOG = natsLogId('t.>', 'T', 1)

/** Accepts entries until `limit`, then hangs (the process "dies" there). */
class FreezingConsumer extends CollectingConsumer {
  frozen = false
  constructor(private readonly limit: number) {
    super()
  }
  override async deliver(d: Delivery): Promise<void> {
    if (this.frozen) return new Promise(() => {})
    await super.deliver(d)
    if (this.entries.length >= this.limit) this.frozen = true
  }
}
const N = 100_000

test('a late joiner catches up 100k entries; after a crash mid-sync it resumes from its heights', async () => {
  await using a = await startTestNode()
  const log = await a.node.publish({ logId: LOG, kind: 'nats' }, ['t.>'])
  for (let i = 1; i <= N; i++) if (!log.append(natsEntry(i, `t.${i % 7}`))) await log.drained()
  await log.drained()
  assert.equal(log.store.head, N)

  const state = new MemoryStateStore()
  const key = testKey()
  const first = await startTestNode({ key, state, staticNodes: [a.asStatic()] })
  const before = new FreezingConsumer(N / 2)
  const want = { author: a.key.publicKey, kind: 'nats' as const, filters: ['t.>'] }
  await first.node.subscribe(want, before)
  await waitFor(() => before.frozen, { timeout: 60_000, message: 'half way' })
  await first.node.kill() // no graceful flush of heights
  const seenBefore = before.entries.length
  const maxBefore = Math.max(...before.seqs())
  assert.ok(seenBefore < N, 'crashed before the end')

  await using second = await startTestNode({ key, state, staticNodes: [a.asStatic()] })
  const after = new CollectingConsumer()
  await second.node.subscribe(want, after)
  await waitFor(() => after.entries.length > 0 && Math.max(...after.seqs().slice(-1)) >= N, {
    timeout: 60_000,
    message: 'caught up after restart',
  })
  const resent = after.entries.filter((e) => e.seq <= maxBefore).length
  const union = new Set([...before.seqs(), ...after.seqs()])
  assert.equal(union.size, N, 'every entry arrived')
  assert.ok(resent <= 1024, `re-received ${resent} entries, more than one batch`)
  // the restarted node asked from its persisted height, not from zero
  assert.ok(after.seqs()[0]! > 1, 'resumed, not restarted from the beginning')
  // in order, no duplicates within the second run
  const s = after.seqs()
  for (let i = 1; i < s.length; i++) assert.ok(s[i]! > s[i - 1]!, 'strictly increasing')
})

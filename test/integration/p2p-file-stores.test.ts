/**
 * File frame stores under real p2p nodes: history survives a restart of its
 * author and of a forwarder, and is served from disk to new subscribers.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileFrameStores } from '../../src/log/file-frame-store.js'
import { storedLogs } from '../../src/log/file-layout.js'
import { natsLogId } from '../../src/core/selector.js'
import { testKey } from '../helpers/keys.js'
import { CollectingConsumer, natsEntry, startTestNode } from '../helpers/p2p.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

const LOG = natsLogId('t.>', 'T', 1)
const N = 2_000

test('an author and a forwarder restarted on their data dirs serve history from disk', async () => {
  await using tmp = await tempDir('rhio-p2p-files-')
  const stores = (name: string) =>
    fileFrameStores({ root: join(tmp.path, name), segmentBytes: 64 * 1024, tailCacheBytes: 0 })
  const authorKey = testKey()
  const forwarderKey = testKey()
  const want = { author: authorKey.publicKey, kind: 'nats' as const, filters: ['t.>'] }

  // the author writes N entries, then restarts on the same directory
  {
    await using a = await startTestNode({ key: authorKey, frameStores: stores('a') })
    const log = await a.node.publish({ logId: LOG, kind: 'nats' }, ['t.>'])
    for (let i = 1; i <= N; i++) if (!log.append(natsEntry(i, `t.${i % 3}`))) await log.drained()
    await log.drained()
  }
  await using a = await startTestNode({ key: authorKey, frameStores: stores('a') })
  const log = await a.node.publish({ logId: LOG, kind: 'nats' }, ['t.>'])
  assert.equal(log.store.head, N, 'the author reopened its log')
  log.append(natsEntry(N + 1, 't.new'))
  await log.drained()

  // a forwarder receives everything from the restarted author
  {
    await using b = await startTestNode({
      key: forwarderKey,
      frameStores: stores('b'),
      staticNodes: [a.asStatic()],
    })
    const got = new CollectingConsumer()
    await b.node.subscribe(want, got)
    await waitFor(() => got.entries.length === N + 1, { timeout: 30_000, message: 'b caught up' })
    assert.deepEqual(
      got.seqs(),
      Array.from({ length: N + 1 }, (_, i) => i + 1),
    )
  }
  await a.node.stop()

  // the forwarder restarts alone: it reopens its logs and serves them to a newcomer
  await using b = await startTestNode({ key: forwarderKey, frameStores: stores('b') })
  const held = await storedLogs(join(tmp.path, 'b'))
  assert.deepEqual(
    held.map((l) => l.logId),
    [LOG],
  )
  for (const info of held) await b.node.registry.open(info)
  await b.node.subscribe(want, new CollectingConsumer())
  await using c = await startTestNode({ staticNodes: [b.asStatic()] })
  const fromDisk = new CollectingConsumer()
  await c.node.subscribe(want, fromDisk)
  await waitFor(() => fromDisk.entries.length === N + 1, {
    timeout: 30_000,
    message: 'c caught up from the forwarder',
  })
  assert.deepEqual(
    fromDisk.seqs(),
    Array.from({ length: N + 1 }, (_, i) => i + 1),
  )
})

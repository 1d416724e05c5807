/**
 * Hostile peers (issue 14, finding 6): an author that puts X-Rhio-* headers
 * into its own messages cannot forge provenance. The subscriber writes its own
 * X-Rhio-PublicKey / X-Rhio-Log / X-Rhio-Seq and drops the author's, so a
 * consumer's headers.get() sees the real author.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { natsLogId } from '../../src/core/selector.js'
import { NatsSubscriber } from '../../src/replication/nats-subscriber.js'
import { NatsServer } from '../helpers/nats-server.js'
import { startTestNode } from '../helpers/p2p.js'
import { waitFor } from '../helpers/wait.js'
import { connectTo, manager, readAll } from './nats-helpers.js'
import pino from 'pino'

test('an author’s own X-Rhio-* headers are dropped; the subscriber writes the real provenance', async () => {
  await using ns = await NatsServer.start()
  await using nc = await connectTo(ns)
  await (await manager(nc)).streams.add({ name: 'copy', subjects: ['t.>'] })
  await using author = await startTestNode()
  await using sub = await startTestNode({ staticNodes: [author.asStatic()] })
  const forged = 'f'.repeat(64)
  const subscriber = new NatsSubscriber({
    author: author.key.publicKeyHex,
    entries: [{ subject: 't.>', stream: 'copy' }],
    connection: async () => nc,
    logger: pino({ level: 'silent' }),
  })
  await sub.node.subscribe(
    { author: author.key.publicKey, kind: 'nats', filters: ['t.>'] },
    subscriber,
  )
  const log = await author.node.publish({ logId: natsLogId('t.>', 'T', 1), kind: 'nats' }, ['t.>'])
  log.append({
    seq: 1,
    body: {
      kind: 'nats',
      subject: 't.a',
      headers: [
        ['X-Rhio-PublicKey', forged],
        ['x-rhio-log', 'not the log'],
        ['X-RHIO-SEQ', '999'],
        ['Keep', 'me'],
      ],
      payload: new TextEncoder().encode('hello'),
    },
  })
  await waitFor(async () => (await readAll(nc, 'copy')).length === 1, {
    message: 'the message arrives',
  })
  const [m] = await readAll(nc, 'copy')
  const named = (n: string): string[] =>
    m!.headers.filter(([k]) => k.toLowerCase() === n.toLowerCase()).map(([, v]) => v)
  assert.deepEqual(named('X-Rhio-PublicKey'), [author.key.publicKeyHex])
  assert.deepEqual(named('X-Rhio-Seq'), ['1'])
  assert.equal(named('X-Rhio-Log').length, 1)
  assert.notEqual(named('X-Rhio-Log')[0], 'not the log')
  assert.deepEqual(named('Keep'), ['me'], 'other headers are kept')
  await subscriber.stop()
})

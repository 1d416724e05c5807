/**
 * Hostile peers (issue 14), findings 1–3, each through rogue peers speaking
 * rhio's own protocol over loopback against real p2p nodes:
 * 1. unsigned log ids cannot grow a subscriber's state or block its requests;
 * 2. cheap keys cannot take every upstream slot (eclipse);
 * 3. the peer table stays bounded, and a hello flood is cut off.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { natsLogId } from '../../src/core/selector.js'
import { MAX_GONE_PEERS } from '../../src/p2p/peer-table.js'
import { HELLO_BURST } from '../../src/sync/hello.js'
import { encodeHello, encodeSync } from '../../src/sync/wire.js'
import { testKey, type TestKey } from '../helpers/keys.js'
import { CollectingConsumer, natsEntry, startTestNode } from '../helpers/p2p.js'
import { metricValue } from '../helpers/prom.js'
import { frame, RawPeer } from '../helpers/raw-peer.js'
import { Rogue, type RogueScript } from '../helpers/rogue.js'
import { waitFor } from '../helpers/wait.js'

const LOG = natsLogId('t.>', 'T', 1)

/** Answers the request with pings only: holds a slot, delivers nothing. */
const pingsOnly: RogueScript = async ({ framed }) => {
  for (;;) {
    await framed.write(encodeSync({ type: 'ping' }))
    await new Promise((r) => setTimeout(r, 300))
  }
}

test('finding 1: 12 000 unsigned log ids neither grow the subscriber’s state nor block its requests', async () => {
  const authorKey = testKey()
  const FAKE = 12_000
  let flooded = false
  const flood: RogueScript = async ({ framed }) => {
    for (let i = 0; i < FAKE; i++) {
      const logId = natsLogId(`t.fake${i}`, `S${i}`, i)
      await framed.write(encodeSync({ type: 'log', logId, low: 1, head: 1_000_000 + i }))
    }
    flooded = true
    await pingsOnly({ raw: undefined as never, framed })
  }
  await using rogue = await Rogue.start({
    holds: [{ author: authorKey.publicKey, kind: 'nats', filters: ['>'] }],
    scripts: [flood],
  })
  await using author = await startTestNode({ key: authorKey })
  const log = await author.node.publish({ logId: LOG, kind: 'nats' }, ['t.>'])
  // the victim meets the rogue first, the author only after the flood
  await using victim = await startTestNode({ staticNodes: [rogue.asStatic()] })
  const got = new CollectingConsumer()
  await victim.node.subscribe({ author: authorKey.publicKey, kind: 'nats', filters: ['t.>'] }, got)
  await waitFor(
    () =>
      flooded &&
      (victim.node.sync.status().find((s) => s.peer === rogue.key.publicKeyHex)?.messages ?? 0) >=
        FAKE,
    { timeout: 30_000, message: 'the victim read the flood' },
  )
  assert.equal(victim.node.sync.logStatus().length, 0, 'no log state from unsigned ids')
  const lagSeries = (await victim.registry.getSingleMetricAsString('rhio_log_lag_entries'))
    .split('\n')
    .filter((l) => l.startsWith('rhio_log_lag_entries{'))
  assert.ok(lagSeries.length <= 1, `${lagSeries.length} lag series`)

  await victim.node.host.dial(author.node.host.getMultiaddrs()[0]!)
  for (let i = 1; i <= 20; i++) log.append(natsEntry(i, `t.${i % 3}`))
  await waitFor(() => got.entries.length >= 20, {
    timeout: 20_000,
    message: `the author's 20 entries (got ${got.entries.length})`,
  })
  assert.deepEqual(
    got.seqs(),
    Array.from({ length: 20 }, (_, i) => i + 1),
  )
  assert.deepEqual(
    victim.node.sync.logStatus().map((s) => s.logId),
    [LOG],
    'state only for the signed log',
  )
})

/** A key whose hex sorts before `than` (as an attacker would mint in a few tries). */
function keyBefore(than: string): TestKey {
  for (;;) {
    const k = testKey(randomBytes(32))
    if (k.publicKeyHex < than) return k
  }
}

test('finding 2: eight cheap keys sorting before the forwarder cannot cut the subscriber off (eclipse)', async () => {
  const authorKey = testKey()
  let bKey = testKey()
  while (!bKey.publicKeyHex.startsWith('f')) bKey = testKey(randomBytes(32))
  await using author = await startTestNode({ key: authorKey })
  const log = await author.node.publish({ logId: LOG, kind: 'nats' }, ['t.>'])
  // C knows nobody; B (which holds A's log) and eight rogues connect to it
  await using c = await startTestNode()
  await using b = await startTestNode({
    key: bKey,
    staticNodes: [author.asStatic(), c.asStatic()],
  })
  const filter = { author: authorKey.publicKey, kind: 'nats' as const, filters: ['t.>'] }
  await b.node.subscribe(filter, new CollectingConsumer())
  const rogues: Rogue[] = []
  try {
    for (let i = 0; i < 8; i++) {
      const r = await Rogue.start({
        key: keyBefore(bKey.publicKeyHex),
        holds: [{ author: authorKey.publicKey, kind: 'nats', filters: ['>'] }],
        scripts: [pingsOnly],
      })
      rogues.push(r)
      await r.dial(c.node)
    }
    await waitFor(() => c.node.hello.list().length >= 9, { message: 'C heard B and 8 rogues' })
    const got = new CollectingConsumer()
    await c.node.subscribe(filter, got)
    for (let i = 1; i <= 50; i++) log.append(natsEntry(i, `t.${i % 5}`))
    await waitFor(() => got.entries.length >= 50, {
      timeout: 30_000,
      message: `C gets all 50 through B (got ${got.entries.length})`,
    })
    assert.deepEqual(
      got.seqs(),
      Array.from({ length: 50 }, (_, i) => i + 1),
    )
    // rogues holding slots are dropped once B's signed batches move past them
    await waitFor(
      async () =>
        (metricValue(await c.registry.metrics(), 'rhio_sync_sessions_dropped_total', {
          reason: 'stalled',
        }) ?? 0) >= 7,
      { timeout: 20_000, message: 'the silent rogues are dropped' },
    )
  } finally {
    await Promise.allSettled(rogues.map((r) => r[Symbol.asyncDispose]()))
  }
})

test('finding 3: the peer table forgets strangers that left, and a hello flood is cut off', async () => {
  await using victim = await startTestNode({ heartbeatMs: 1000 })
  const target = { peerId: victim.node.host.peerId, addresses: victim.node.addresses() }
  // 150 strangers come and go (more than the 64 gone peers kept)
  await using visitor = await RawPeer.start()
  for (let i = 0; i < 150; i++) {
    if (i > 0) await visitor.fresh()
    await visitor.connect(target)
    await waitFor(() => victim.node.peers.get(visitor.id)?.connected === true)
  }
  await visitor.fresh() // the last one leaves too
  await waitFor(() => victim.node.peers.list().every((p) => !p.connected), {
    message: 'every visitor disconnected',
  })
  const kept = victim.node.peers.list().length
  assert.ok(kept <= MAX_GONE_PEERS, `${kept} peers kept after 150 visitors`)

  // one peer floods hellos: answered within the allowance, then penalised and banned
  await using spammer = await RawPeer.start()
  await spammer.connect(target)
  const hello = frame(encodeHello({ version: 1, holds: [], wants: [] }))
  let lag = 0
  let last = Date.now()
  const probe = setInterval(() => {
    const now = Date.now()
    lag = Math.max(lag, now - last - 50)
    last = now
  }, 50)
  try {
    // 100 000 hellos, on new streams whenever the victim closes one on us
    const burst = Uint8Array.from(Buffer.concat(Array.from({ length: 1000 }, () => hello)))
    for (let i = 0; i < 100; i++) {
      if (victim.node.peers.get(spammer.id)?.bannedUntil !== undefined) break
      await spammer.send(victim.node.host.peerId, 'hello', {
        pieces: [burst],
        delayMs: 0,
        end: 'close',
      })
    }
    await waitFor(() => victim.node.peers.get(spammer.id)?.bannedUntil !== undefined, {
      message: 'the spammer is banned',
    })
  } finally {
    clearInterval(probe)
  }
  const flood = metricValue(await victim.registry.metrics(), 'rhio_p2p_rejected_total', {
    reason: 'flood',
  })
  assert.ok((flood ?? 0) >= 1, 'hellos beyond the allowance are counted as flood')
  assert.ok(lag < 1000, `the event loop stalled for ${lag} ms`)
  assert.ok(HELLO_BURST < 1000)
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { multiaddr } from '@multiformats/multiaddr'
import { natsLogId } from '../../src/core/selector.js'
import { FramedStream } from '../../src/p2p/framing.js'
import type { RelayServeLimits } from '../../src/p2p/relay.js'
import { CollectingConsumer, natsEntry, startTestNode } from '../helpers/p2p.js'
import { waitFor } from '../helpers/wait.js'

const LOG = natsLogId('sensors.>', 'S', 1)
const MiB = 1024 * 1024

function serve(o: Partial<RelayServeLimits> = {}): RelayServeLimits {
  return {
    maxReservations: 15,
    reservationTtlMs: 3_600_000,
    maxCircuitsPerConnection: 16,
    circuitDurationMs: 600_000,
    circuitBytes: 256 * MiB,
    maxRequestsPerMinute: 30,
    ...o,
  }
}

test('two nodes that know no address of each other replicate through a relay, with its limits in view', async () => {
  await using r = await startTestNode({ relay: { reserve: 'never', serve: serve() } })
  // A reserves a slot on R and announces its relayed address
  await using a = await startTestNode({
    staticNodes: [r.asStatic()],
    relay: { reserve: 'always' },
  })
  await waitFor(() => a.node.reachStatus().reservations.length === 1, {
    message: 'A holds a reservation on R',
  })
  assert.deepEqual(a.node.reachStatus().reservations, [r.node.host.peerId.toString()])
  assert.ok(a.node.reachStatus().announced.some((x) => x.includes('/p2p-circuit')))
  assert.equal(r.node.reachStatus().relay?.reservations, 1)

  const logA = await a.node.publish({ logId: LOG, kind: 'nats' }, ['sensors.>'])
  for (let i = 1; i <= 100; i++) logA.append(natsEntry(i, `sensors.${i % 3}`))
  await logA.drained()

  // B knows A only by its key: no endpoint, so the dialer goes through R
  await using b = await startTestNode({
    staticNodes: [r.asStatic(), { publicKey: a.key.publicKeyHex, endpoints: [] }],
    relay: { reserve: 'auto' },
  })
  const atB = new CollectingConsumer()
  await b.node.subscribe({ author: a.key.publicKey, kind: 'nats', filters: ['sensors.>'] }, atB)
  await waitFor(() => atB.entries.length >= 100, { message: 'B has A’s 100 entries' })
  assert.deepEqual(
    atB.seqs(),
    Array.from({ length: 100 }, (_, i) => i + 1),
  )
  assert.ok(
    atB.entries.every((e) => e.peer === a.key.publicKeyHex),
    'from A itself',
  )

  const peerA = b.node.peers.get(a.key.publicKeyHex)
  assert.ok(peerA?.connected)
  const path = b.node.path(peerA)
  assert.equal(path.via, 'relay')
  const left = path.limitBytes ?? 0
  assert.ok(left > 255 * MiB && left <= 256 * MiB, `the relay’s byte limit is in view (${left})`)
  const peerR = b.node.peers.get(r.key.publicKeyHex)
  assert.ok(peerR)
  assert.equal(b.node.path(peerR).via, 'direct')
  // on loopback nobody sees B behind a NAT: `auto` reserves nothing
  assert.equal(b.node.reachStatus().reachability, 'unknown')
  assert.deepEqual(b.node.reachStatus().reservations, [])
})

test('replication keeps going over a relay whose circuits carry at most 1 MiB each', async () => {
  await using r = await startTestNode({
    relay: { reserve: 'never', serve: serve({ circuitBytes: MiB }) },
  })
  // frames well below the circuit limit: a batch larger than a circuit would never pass
  const limits = { maxFrameBytes: 128 * 1024, maxEntryBytes: 64 * 1024 }
  await using a = await startTestNode({
    staticNodes: [r.asStatic()],
    relay: { reserve: 'always' },
    limits,
  })
  await waitFor(() => a.node.reachStatus().reservations.length === 1, {
    message: 'A holds a reservation on R',
  })
  const logA = await a.node.publish({ logId: LOG, kind: 'nats' }, ['sensors.>'])
  const payload = 'x'.repeat(16 * 1024)
  // 4 MiB: at least four circuits
  for (let i = 1; i <= 256; i++) logA.append(natsEntry(i, 'sensors.1', payload))
  await logA.drained()

  await using b = await startTestNode({
    staticNodes: [r.asStatic(), { publicKey: a.key.publicKeyHex, endpoints: [] }],
    relay: { reserve: 'auto' },
    limits,
  })
  const atB = new CollectingConsumer()
  let circuits = 0
  b.node.host.addEventListener('connection:open', (e) => {
    if (e.detail.remotePeer.equals(a.node.host.peerId)) circuits++
  })
  await b.node.subscribe({ author: a.key.publicKey, kind: 'nats', filters: ['sensors.>'] }, atB)
  await waitFor(() => new Set(atB.seqs()).size >= 256, {
    message: 'B has all 256 entries',
    timeout: 60_000,
  })
  assert.ok(circuits >= 4, `${circuits} circuits carried 4 MiB at 1 MiB each`)
})

test('circuits that the relay closes after 2 s are dialled again and live entries keep flowing', async () => {
  await using r = await startTestNode({
    relay: { reserve: 'never', serve: serve({ circuitDurationMs: 2_000 }) },
  })
  await using a = await startTestNode({ staticNodes: [r.asStatic()], relay: { reserve: 'always' } })
  await waitFor(() => a.node.reachStatus().reservations.length === 1, {
    message: 'A holds a reservation on R',
  })
  const logA = await a.node.publish({ logId: LOG, kind: 'nats' }, ['sensors.>'])
  await using b = await startTestNode({
    staticNodes: [r.asStatic(), { publicKey: a.key.publicKeyHex, endpoints: [] }],
    relay: { reserve: 'auto' },
  })
  let circuits = 0
  b.node.host.addEventListener('connection:open', (e) => {
    if (e.detail.remotePeer.equals(a.node.host.peerId)) circuits++
  })
  const atB = new CollectingConsumer()
  await b.node.subscribe({ author: a.key.publicKey, kind: 'nats', filters: ['sensors.>'] }, atB)
  // one entry as each new circuit comes up, until three circuits have carried entries
  let seq = 0
  while (circuits < 4) {
    await waitFor(() => b.node.peers.get(a.key.publicKeyHex)?.connected === true, {
      timeout: 15_000,
      message: `B reconnected to A (${circuits} circuits so far)`,
    })
    const seen = circuits
    logA.append(natsEntry(++seq, 'sensors.1'))
    await waitFor(() => new Set(atB.seqs()).size >= seq, {
      timeout: 15_000,
      message: `entry ${seq} arrived`,
    })
    await waitFor(() => circuits > seen, {
      timeout: 15_000,
      message: 'the relay closed the circuit',
    })
  }
  assert.deepEqual(
    [...new Set(atB.seqs())].sort((x, y) => x - y),
    Array.from({ length: seq }, (_, i) => i + 1),
  )
})

test('a relay serves only its own network and bounds reservations and circuits', async () => {
  await using r = await startTestNode({
    relay: { reserve: 'never', serve: serve({ maxReservations: 1, maxRequestsPerMinute: 3 }) },
  })
  await using a = await startTestNode({
    staticNodes: [r.asStatic()],
    relay: { reserve: 'always' },
  })
  await waitFor(() => a.node.reachStatus().reservations.length === 1, {
    message: 'A holds a reservation on R',
  })

  // the relay's only slot is taken: B gets none
  await using b = await startTestNode({
    staticNodes: [r.asStatic()],
    relay: { reserve: 'always' },
  })
  await waitFor(() => b.node.peers.get(r.key.publicKeyHex)?.connected === true)
  await waitFor(
    async () => (await b.node.host.peerStore.get(r.node.host.peerId)).protocols.length > 0,
  )
  assert.deepEqual(b.node.reachStatus().reservations, [])
  assert.equal(r.node.reachStatus().relay?.reservations, 1)

  // a node of another network gets no reservation and no circuit
  await using x = await startTestNode({
    networkId: new Uint8Array(32).fill(9),
    staticNodes: [r.asStatic()],
    relay: { reserve: 'always' },
  })
  // R hangs up on it as soon as it finds it speaks no rhio protocol of this network; the
  // relay's guard refuses whatever it asks before that
  let attempts = 0
  r.node.host.addEventListener('connection:open', (e) => {
    if (e.detail.remotePeer.equals(x.node.host.peerId)) attempts++
  })
  await waitFor(() => attempts >= 3, { message: 'the outsider came back three times' })
  assert.equal(r.node.reachStatus().relay?.reservations, 1, 'only A holds a slot')
  assert.deepEqual(x.node.reachStatus().reservations, [])
  const viaR = multiaddr(
    `${r.asStatic().endpoints[0]}/p2p/${r.node.host.peerId.toString()}/p2p-circuit/p2p/${a.node.host.peerId.toString()}`,
  )
  await assert.rejects(x.node.host.dial(viaR, { signal: AbortSignal.timeout(10_000) }))
  assert.equal(a.node.peers.get(x.key.publicKeyHex)?.connected ?? false, false)

  // a member that opens circuit after circuit is refused beyond 3 a minute, then banned
  await using f = await startTestNode({ staticNodes: [r.asStatic()], relay: { reserve: 'auto' } })
  await waitFor(() => f.node.peers.get(r.key.publicKeyHex)?.connected === true)
  let opened = 0
  for (let i = 0; i < 20 && !r.node.penalties.isBanned(f.key.publicKeyHex); i++) {
    try {
      const conn = await f.node.host.dial(viaR, {
        force: true,
        signal: AbortSignal.timeout(10_000),
      })
      opened++
      await conn.close()
    } catch {
      // refused beyond the rate
    }
  }
  assert.ok(opened >= 1 && opened <= 3, `${opened} circuits opened within the rate`)
  assert.ok(r.node.penalties.isBanned(f.key.publicKeyHex), 'the flooding peer is banned')
  assert.ok((r.node.reachStatus().relay?.refusedFlood ?? 0) >= 1)
  await waitFor(() => r.node.peers.get(f.key.publicKeyHex)?.connected === false, {
    message: 'R hung up on the banned peer',
  })
})

/** The status of a circuit relay v2 HopMessage (field 5, a varint), or undefined. */
function hopStatus(msg: Uint8Array): number | undefined {
  // HopMessage { type = 1 (varint), ..., status = 5 (varint) }: walk the top-level fields
  let i = 0
  const varint = (): number => {
    let v = 0
    let shift = 0
    for (;;) {
      const b = msg[i++] ?? 0
      v += (b & 0x7f) * 2 ** shift
      if (b < 0x80) return v
      shift += 7
    }
  }
  while (i < msg.length) {
    const tag = varint()
    const wire = tag & 7
    if (wire === 0) {
      const v = varint()
      if (tag >> 3 === 5) return v
    } else if (wire === 2) {
      const len = varint() // (read before `i` is: `i += varint()` would add to the old `i`)
      i += len
    } else return undefined
  }
  return undefined
}

test('a peer that keeps asking a relay for reservations is refused beyond the rate, then banned', async () => {
  await using r = await startTestNode({
    relay: { reserve: 'never', serve: serve({ maxRequestsPerMinute: 3 }) },
  })
  await using f = await startTestNode({ staticNodes: [r.asStatic()], relay: { reserve: 'auto' } })
  await waitFor(() => f.node.peers.get(r.key.publicKeyHex)?.connected === true)
  // wait until R knows F speaks this network (identify), so only the rate decides
  await waitFor(async () =>
    (await r.node.host.peerStore.get(f.node.host.peerId)).protocols.some((p) =>
      p.includes('/hello/'),
    ),
  )
  const statuses: Array<number | undefined> = []
  for (let i = 0; i < 20 && !r.node.penalties.isBanned(f.key.publicKeyHex); i++) {
    try {
      const stream = await f.node.host.dialProtocol(r.node.host.peerId, RELAY_V2_HOP_CODEC, {
        signal: AbortSignal.timeout(5_000),
      })
      const framed = new FramedStream(stream, { maxFrameBytes: 4096 })
      // HopMessage { type: RESERVE }
      await framed.write(Uint8Array.of(0x08, 0x00))
      const reply = await framed.read(AbortSignal.timeout(5_000))
      statuses.push(reply && hopStatus(reply))
      framed.abort(new Error('done'))
    } catch {
      statuses.push(undefined) // the connection went away: banned
    }
  }
  const OK = 100
  const PERMISSION_DENIED = 202
  assert.deepEqual(statuses.slice(0, 3), [OK, OK, OK], `within the rate: ${statuses.join(',')}`)
  assert.equal(statuses[3], PERMISSION_DENIED, 'the fourth in a minute is refused')
  assert.ok(
    r.node.penalties.isBanned(f.key.publicKeyHex),
    `banned after ${statuses.length} requests`,
  )
  assert.ok(statuses.length <= 14, 'ten refused requests (weight 2 each) reach the ban threshold')
  await waitFor(() => r.node.peers.get(f.key.publicKeyHex)?.connected === false, {
    message: 'R hung up on the banned peer',
  })
})

/**
 * Leader changes on a 3-node NATS cluster at the publishing site: replication
 * resumes within a second after the source stream's leader steps down, and
 * within a few seconds after the leader node (not the one rhio is connected
 * to) is killed.
 *
 * A message's delay is its arrival at B (a core subscription on B's server
 * sees rhio B's JetStream publish) minus the acknowledgement of its publish at
 * A. Messages are published at a steady pace through nodes the event does not
 * touch; the worst delay of a message acknowledged after the event measures
 * how long rhio A stood still.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { connectedNode, NatsCluster } from '../helpers/nats-cluster.js'
import type { NatsServer } from '../helpers/nats-server.js'
import { startRhio } from '../helpers/rhio.js'
import { Site } from '../helpers/site.js'
import { waitFor } from '../helpers/wait.js'

/** Publishing pace: one message every PACE_MS. */
const PACE_MS = 10
/** Target from issue 16: resume within 1 s; CI machines are noisy, so allow some slack. */
const LIMIT_MS = 1_500
/**
 * After the leader node dies: a new consumer can be created only once JetStream
 * answers again. If the dead node also led the JetStream meta group, that waits
 * for the meta group's election (server-side, 1–2 s here; publishes into the
 * stream work before that), and rhio asks every second until it answers.
 * Before the fix this took 8–15 s (missed heartbeats, then 5 s API timeouts).
 */
const KILL_LIMIT_MS = 4_000

/** A paced publisher through `nc` that records each message's ack time. */
class PacedPublisher {
  readonly acked = new Map<number, number>()
  private stopped = false
  private next = 0
  private readonly done: Promise<void>

  constructor(nc: NatsConnection) {
    const js = jetstream(nc)
    const enc = new TextEncoder()
    this.done = (async () => {
      while (!this.stopped) {
        const i = this.next++
        const started = performance.now()
        // A publish that fails (no leader for a moment) is sent again with the same id.
        await waitFor(
          async () => {
            await js.publish(`plant.${i % 4}`, enc.encode(String(i)), {
              msgID: `m-${i}`,
              timeout: 2_000,
            })
            return true
          },
          { timeout: 30_000, interval: 20, message: `publish of message ${i}` },
        )
        this.acked.set(i, performance.now())
        const wait = PACE_MS - (performance.now() - started)
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      }
    })()
  }

  get count(): number {
    return this.next
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.done
  }
}

/** Core subscription on B's server: arrival time of each message rhio B writes. */
function arrivals(nc: NatsConnection): Map<number, number> {
  const seen = new Map<number, number>()
  const dec = new TextDecoder()
  nc.subscribe('plant.>', {
    callback: (_err, m) => {
      const i = Number(dec.decode(m.data))
      if (!seen.has(i)) seen.set(i, performance.now())
    },
  })
  return seen
}

/**
 * The worst delay (arrival at B − ack at A) over messages below `upTo`
 * acknowledged at or after `from`.
 */
function worstDelayAfter(
  acked: Map<number, number>,
  arrived: Map<number, number>,
  from: number,
  upTo: number,
): { worst: number; n: number } {
  let worst = 0
  let n = 0
  for (const [i, at] of acked) {
    if (at < from || i >= upTo) continue
    const got = arrived.get(i)
    assert.ok(got !== undefined, `message ${i} arrived at B`)
    worst = Math.max(worst, got - at)
    n++
  }
  return { worst, n }
}

test('publishing site on a 3-node NATS cluster: after a stream leader change, and after the leader node dies, replication resumes within a second', async () => {
  await using a = await NatsCluster.start('a')
  await using b = await Site.start('b', [{ name: 'plant-copy', subjects: ['plant.>'] }])
  const ncAdmin = await a.connect()
  await (
    await jetstreamManager(ncAdmin, { checkAPI: false })
  ).streams.add({ name: 'plant', subjects: ['plant.>'], num_replicas: 3 })

  await using ra = await startRhio({
    name: 'rhio-a',
    config: {
      nats: { endpoint: a.endpoint },
      log_level: 'INFO',
      publish: { nats_subjects: [{ subject: 'plant.>', stream: 'plant' }] },
    },
  })
  const rb = await b.rhio({
    config: {
      nodes: [await ra.asNode()],
      subscribe: {
        nats_subjects: [{ subject: 'plant.>', stream: 'plant-copy', public_key: ra.publicKey }],
      },
    },
  })
  const arrived = arrivals(b.nc)
  // rhio A's node stays up throughout; the leader moves to, and dies on, another one.
  const carrier = await connectedNode(ra, a)
  const others = a.nodes.filter((n) => n !== carrier)
  const [first, second] = others as [NatsServer, NatsServer]
  await a.moveStreamLeader(ncAdmin, 'plant', first)
  const ncPub = await a.connect([carrier, second])
  const pub = new PacedPublisher(ncPub)
  /** Waits until B holds every message up to 50 past those published so far; returns that count. */
  const settle = async (label: string): Promise<number> => {
    const want = pub.count + 50
    await waitFor(
      () => {
        for (let i = 0; i < want; i++) if (!arrived.has(i)) return false
        return true
      },
      {
        timeout: 30_000,
        message: `${label}: B receives ${want}\nA:\n${ra.tail()}\nB:\n${rb.tail()}`,
      },
    )
    return want
  }
  try {
    await settle('before the events')

    // (1) the leader steps down; the group elects one of the others
    const stepdown = performance.now()
    await a.moveStreamLeader(ncAdmin, 'plant', second)
    const afterStepdown = worstDelayAfter(
      pub.acked,
      arrived,
      stepdown,
      await settle('after the stepdown'),
    )

    // (2) the leader node, which carries neither rhio A nor the publisher, is killed
    await a.moveStreamLeader(ncAdmin, 'plant', first)
    await settle('after moving the leader back')
    const kill = performance.now()
    await first.kill()
    // If the killed node also led the JetStream meta group, no consumer can be
    // created until the others elect a new meta leader (server-side; publishes
    // into the stream work before that). rhio is held to resuming within a
    // second of the API answering again.
    const afterKill = worstDelayAfter(pub.acked, arrived, kill, await settle('after the kill'))

    console.log(
      `# worst delay after a leader stepdown ${afterStepdown.worst.toFixed(0)} ms (${afterStepdown.n} messages); ` +
        `after the leader node's kill ${afterKill.worst.toFixed(0)} ms (${afterKill.n} messages)`,
    )
    assert.ok(afterStepdown.worst <= LIMIT_MS, `resumed ${afterStepdown.worst} ms after a stepdown`)
    assert.ok(
      afterKill.worst <= KILL_LIMIT_MS,
      `resumed ${afterKill.worst} ms after the leader's kill`,
    )
  } finally {
    await pub.stop()
    await ncPub.close()
    await ncAdmin.close()
  }
})

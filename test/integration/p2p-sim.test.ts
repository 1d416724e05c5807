import assert from 'node:assert/strict'
import { test } from 'node:test'
import { natsLogId } from '../../src/core/selector.js'
import { CollectingConsumer, natsEntry, startTestNode, type TestNode } from '../helpers/p2p.js'
import { waitFor } from '../helpers/wait.js'

const NODES = 100
const AUTHORS = 3
const ENTRIES = 100

/** Deterministic pseudo-random numbers (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

test(
  `${NODES} nodes on the memory transport in a random sparse topology converge on all entries of ${AUTHORS} authors`,
  { timeout: 180_000 },
  async () => {
    const seed = Number(process.env.RHIO_SIM_SEED ?? 42)
    const random = rng(seed)
    // random spanning tree plus a few extra edges: sparse (average degree ~2.6) and connected
    const edges: Array<[number, number]> = []
    for (let i = 1; i < NODES; i++) edges.push([i, Math.floor(random() * i)])
    for (let k = 0; k < NODES * 0.3; k++) {
      const x = Math.floor(random() * NODES)
      const y = Math.floor(random() * NODES)
      if (x !== y) edges.push([x, y])
    }
    // Sessions, hello streams and requests run by the hundred here: none may pile listeners
    // on one long-lived AbortSignal (Node warns at 11: MaxListenersExceededWarning).
    const warnings: string[] = []
    const onWarning = (w: Error): void => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w.message)
    }
    process.on('warning', onWarning)
    const nodes: TestNode[] = []
    try {
      for (let i = 0; i < NODES; i++) {
        const dialTo = edges
          .filter(([x]) => x === i)
          .map(([, y]) => nodes[y]?.asStatic())
          .filter((s) => s !== undefined)
        nodes.push(
          await startTestNode({
            transport: 'memory',
            staticNodes: dialTo,
            heartbeatMs: 2000,
            resyncIntervalMs: 5000,
          }),
        )
      }
      const logs = await Promise.all(
        nodes
          .slice(0, AUTHORS)
          .map((n, a) =>
            n.node.publish({ logId: natsLogId('sim.>', `S${a}`, 1), kind: 'nats' }, ['sim.>']),
          ),
      )
      const consumers = new Map<string, CollectingConsumer>()
      for (const [i, n] of nodes.entries()) {
        for (let a = 0; a < AUTHORS; a++) {
          if (i === a) continue
          const c = new CollectingConsumer()
          consumers.set(`${i}/${a}`, c)
          await n.node.subscribe(
            { author: nodes[a]!.key.publicKey, kind: 'nats', filters: ['sim.>'] },
            c,
          )
        }
      }
      for (let s = 1; s <= ENTRIES; s++)
        for (const [a, log] of logs.entries()) log.append(natsEntry(s, `sim.${a}.${s % 5}`))
      const t0 = Date.now()
      const complete = (): number =>
        [...consumers.values()].filter((c) => c.entries.length >= ENTRIES).length
      await waitFor(() => complete() === consumers.size, {
        timeout: 150_000,
        interval: 250,
        message: `convergence (seed ${seed})`,
      }).catch((err: Error) => {
        throw new Error(`${err.message}: ${complete()}/${consumers.size} subscriptions complete`)
      })
      const elapsed = Date.now() - t0
      for (const [k, c] of consumers) {
        assert.deepEqual(
          c.seqs(),
          Array.from({ length: ENTRIES }, (_, i) => i + 1),
          `${k} in order, once`,
        )
      }
      console.log(`# ${NODES} nodes, ${edges.length} edges: converged in ${elapsed} ms`)
      await Promise.allSettled(nodes.map((n) => n.node.stop()))
      // warnings are emitted on the next tick
      await new Promise((r) => setImmediate(r))
      assert.deepEqual(warnings, [], 'no MaxListenersExceededWarning')
    } finally {
      process.off('warning', onWarning)
      await Promise.allSettled(nodes.map((n) => n.node.stop()))
    }
  },
)

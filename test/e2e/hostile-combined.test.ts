/**
 * Hostile peers (issue 14), all at once against a three-site setup of real
 * processes: A publishes, B forwards, C subscribes through B (the README's
 * demo topology). While eight cheap keys try to take C's upstream slots
 * (eclipse), one floods C with unsigned log ids and one floods it with hellos
 * (coming back under a fresh key whenever it is banned), C still receives
 * everything within twice its normal time, its /health answers within 1 s
 * throughout, and its RSS grows by less than 64 MiB.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { toHex } from '../../src/core/codec.js'
import { networkIdHash } from '../../src/core/network-id.js'
import { HostileAttackers } from '../helpers/hostile-attackers.js'
import { Site } from '../helpers/site.js'
import { waitFor } from '../helpers/wait.js'

const NETWORK = 'rhio-default-network-1'
const N = 6_000
const payload = new TextEncoder().encode('x'.repeat(200))

test(
  'eclipse, log-id flood and hello spam together: C still gets everything in time, /health stays responsive, RSS bounded',
  { timeout: 240_000 },
  async () => {
    const streams = (name: string): Array<{ name: string; subjects: string[] }> => [
      { name, subjects: ['fleet.>'] },
    ]
    await using a = await Site.start('a', streams('fleet'))
    await using b = await Site.start('b', streams('fleet-b'))
    await using c = await Site.start('c', streams('fleet-c'))
    const ra = await a.rhio({
      config: { publish: { nats_subjects: [{ subject: 'fleet.>', stream: 'fleet' }] } },
    })
    const rb = await b.rhio({
      config: {
        nodes: [await ra.asNode()],
        subscribe: {
          nats_subjects: [{ subject: 'fleet.>', stream: 'fleet-b', public_key: ra.publicKey }],
        },
      },
    })
    const rc = await c.rhio({
      config: {
        nodes: [await rb.asNode()],
        subscribe: {
          nats_subjects: [{ subject: 'fleet.>', stream: 'fleet-c', public_key: ra.publicKey }],
        },
      },
    })
    const publishBatch = async (tag: string): Promise<number> => {
      const t0 = performance.now()
      const before = await c.count('fleet-c')
      await a.publishMany(
        Array.from({ length: N }, (_, i) => ({
          subject: `fleet.${tag}.${i % 10}`,
          payload,
          headers: [],
        })),
      )
      await waitFor(async () => (await c.count('fleet-c')) >= before + N, {
        timeout: 120_000,
        interval: 50,
        message: `C gets the ${tag} batch\n${rc.tail()}`,
      })
      return performance.now() - t0
    }
    await publishBatch('warmup')
    // C's normal time: the median of three batches (one batch varied 680-905 ms here)
    const normals: number[] = []
    for (let i = 0; i < 3; i++) normals.push(await publishBatch(`normal${i}`))
    const normal = [...normals].sort((x, y) => x - y)[1]!
    const rssBefore = await rc.rssMiB()

    // the attack, from a process of its own (its work must not slow this one's publisher)
    await using attack = await HostileAttackers.start({
      victim: rc.publicKey,
      victimAddress: `/ip4/127.0.0.1/tcp/${await rc.p2pPort()}`,
      author: ra.publicKey,
      forwarder: rb.publicKey,
      networkId: toHex(networkIdHash(NETWORK)),
    })
    // /health latency and RSS while the attack runs
    let worstHealthMs = 0
    let rssMax = rssBefore
    let probing = true
    const probe = (async () => {
      while (probing) {
        const t0 = performance.now()
        await rc.health()
        worstHealthMs = Math.max(worstHealthMs, performance.now() - t0)
        rssMax = Math.max(rssMax, await rc.rssMiB())
        await new Promise((r) => setTimeout(r, 200))
      }
    })()
    // let the flood and the eclipse attempt land before measuring
    await attack.floodSession()
    const underAttack = await publishBatch('attack')
    probing = false
    await probe
    console.log(
      `# normal ${normal.toFixed(0)} ms (median of ${normals.map((x) => x.toFixed(0)).join(', ')}), under attack ${underAttack.toFixed(0)} ms; ` +
        `/health worst ${worstHealthMs.toFixed(0)} ms; RSS ${rssBefore.toFixed(1)} -> max ${rssMax.toFixed(1)} MiB`,
    )
    // Issue 14's targets, with the attackers on the same two cores as the three sites and
    // this process. Twelve runs here on 2026-12-07 measured 1.19-1.79x and 113-497 ms. (With the
    // attackers in this process their work slowed the publisher: up to 2.07x; and before
    // yamux credit was granted at half window, /health reached 844 ms.)
    assert.ok(
      underAttack <= 2 * normal,
      `${underAttack.toFixed(0)} ms under attack vs ${normal.toFixed(0)} ms normally (target 2x)`,
    )
    assert.ok(worstHealthMs < 1000, `/health took ${worstHealthMs.toFixed(0)} ms (target 1 s)`)
    assert.ok(rssMax - rssBefore < 64, `RSS grew by ${rssMax - rssBefore} MiB`)
  },
)

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { S3ObjectStore } from '../../src/store/index.js'
import { NatTopology } from '../helpers/netns.js'
import { S3Server } from '../helpers/s3-server.js'
import { Site } from '../helpers/site.js'
import { testBytes } from '../helpers/sizes.js'
import { waitFor } from '../helpers/wait.js'

interface Reach {
  reachability: string
  observed: string[]
  announced: string[]
  reservations: string[]
  relay: { reservations: number } | null
}
interface PeerRow {
  id: string
  connected: boolean
  addresses: string[]
  via: string
  relay_limit_bytes?: number | null
}

test(
  'two sites behind NATs (new inbound connections dropped) replicate messages and an object through a relay',
  { timeout: 240_000 },
  async () => {
    await using net = await NatTopology.create({ strict: true })

    // the relay: a rhio node with a public address and its own NATS
    await using pub = await Site.start('relay', [], {
      netns: { name: net.pub.ns, host: net.pub.mgmtIp },
    })
    const relay = await pub.rhio({
      config: {
        bind_host: net.pub.publicIp,
        http_bind_host: net.pub.mgmtIp,
        relay: { serve: true },
      },
    })
    const relayNode = {
      public_key: relay.publicKey,
      endpoints: [`${net.pub.publicIp}:${await relay.p2pPort()}`],
    }

    const s3 = async (site: 'a' | 'b', bucket: string): Promise<S3Server> =>
      S3Server.start({
        buckets: [bucket],
        name: `s3-${site}`,
        netns: net[site].ns,
        host: net[site].mgmtIp,
      })
    await using s3a = await s3('a', 'outbox')
    await using s3b = await s3('b', 'inbox')
    await using a = await Site.start('a', [{ name: 'events', subjects: ['sensors.>'] }], {
      netns: { name: net.a.ns, host: net.a.mgmtIp },
    })
    await using b = await Site.start('b', [{ name: 'mirror', subjects: ['sensors.>'] }], {
      netns: { name: net.b.ns, host: net.b.mgmtIp },
    })
    const siteConfig = (site: 'a' | 'b', s3c: S3Server['config']): Record<string, unknown> => ({
      bind_host: net[site].lanIp,
      http_bind_host: net[site].mgmtIp,
      relay: { reserve: 'auto' },
      s3: { ...s3c, watcher_poll_interval_millis: 200 },
    })
    const ra = await a.rhio({
      config: {
        ...siteConfig('a', s3a.config),
        nodes: [relayNode],
        publish: {
          nats_subjects: [{ subject: 'sensors.>', stream: 'events' }],
          s3_buckets: ['outbox'],
        },
      },
    })
    // B knows A only by its key: no address of A is reachable from B
    const rb = await b.rhio({
      config: {
        ...siteConfig('b', s3b.config),
        nodes: [relayNode, { public_key: ra.publicKey, endpoints: [] }],
        subscribe: {
          nats_subjects: [{ subject: 'sensors.>', stream: 'mirror', public_key: ra.publicKey }],
          s3_buckets: [
            { remote_bucket: 'outbox', local_bucket: 'inbox', public_key: ra.publicKey },
          ],
        },
      },
    })
    const reach = async (n: typeof ra): Promise<Reach> =>
      (await n.health()).body['reachability'] as unknown as Reach
    const peers = async (n: typeof ra): Promise<PeerRow[]> =>
      (await n.health()).body['peers'] as unknown as PeerRow[]

    // each site learns from the relay that it is behind a NAT and reserves a slot there
    for (const [n, s] of [
      [ra, net.a],
      [rb, net.b],
    ] as const) {
      await waitFor(async () => (await reach(n)).reservations.length === 1, {
        timeout: 30_000,
        message: `${n.name} holds a reservation on the relay\n${n.tail()}`,
      })
      const r = await reach(n)
      assert.equal(r.reachability, 'private')
      assert.ok(
        r.observed.some((o) => o.startsWith(`/ip4/${s.natIp}/tcp/`)),
        JSON.stringify(r),
      )
      assert.ok(
        r.announced.some((x) => x.includes('/p2p-circuit')),
        'relayed address announced',
      )
    }
    const rr = await reach(relay)
    assert.equal(rr.reachability, 'public', 'the sites reached the relay directly')
    assert.equal(rr.relay?.reservations, 2)

    for (let i = 0; i < 50; i++) await a.publish(`sensors.${i % 5}`, `m${i}`)
    const object = testBytes(3 * 1024 * 1024 + 17, 1)
    await S3ObjectStore.fromConfig(s3a.config).put('outbox', 'dir/o.bin', object)

    await waitFor(async () => (await b.count('mirror')) >= 50, {
      timeout: 60_000,
      message: `B has A's 50 messages\n${rb.tail()}`,
    })
    const got = await b.read('mirror')
    assert.deepEqual(
      got.map((m) => new TextDecoder().decode(m.payload)),
      Array.from({ length: 50 }, (_, i) => `m${i}`),
    )
    const storeB = S3ObjectStore.fromConfig(s3b.config)
    await waitFor(async () => (await storeB.head('inbox', 'dir/o.bin')) !== undefined, {
      timeout: 90_000,
      message: `the object reached B\n${rb.tail()}`,
    })
    const parts: Uint8Array[] = []
    for await (const c of (await storeB.get('inbox', 'dir/o.bin')).body) parts.push(c as Uint8Array)
    assert.ok(Buffer.concat(parts).equals(Buffer.from(object)), 'byte-exact')

    // the sites talk through the relay only, within its limits
    const atB = (await peers(rb)).find((p) => p.id === ra.publicKey)
    assert.ok(atB?.connected)
    assert.equal(atB.via, 'relay')
    assert.ok(
      atB.addresses.every((x) => x.includes('/p2p-circuit')),
      JSON.stringify(atB),
    )
    assert.ok((atB.relay_limit_bytes ?? 0) > 0)

    // the relay restarts (same key and port): both sites reserve again and replication goes on
    await relay.restart()
    await waitFor(async () => (await reach(relay)).relay?.reservations === 2, {
      timeout: 60_000,
      message: `both sites reserved again\n${relay.tail()}`,
    })
    for (let i = 50; i < 60; i++) await a.publish(`sensors.${i % 5}`, `m${i}`)
    await waitFor(async () => (await b.count('mirror')) >= 60, {
      timeout: 60_000,
      message: `B has the messages sent after the relay restarted\n${rb.tail()}`,
    })
    assert.equal(await b.count('mirror'), 60)
  },
)

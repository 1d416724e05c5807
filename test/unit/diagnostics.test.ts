import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { BlobMetrics } from '../../src/blobs/metrics.js'
import { HealthModel } from '../../src/component/index.js'
import { TrafficSampler } from '../../src/node/traffic.js'
import { SyncMetrics } from '../../src/sync/metrics.js'
import { parseConfig } from '../../src/config/index.js'
import { PublicationCheck, published } from '../../src/replication/publication-check.js'
import { mismatchReason, type PeerHello } from '../../src/sync/hello.js'
import { problemMessage, RecentProblems } from '../../src/logging/recent.js'
import { RepeatThrottle } from '../../src/util/backoff.js'
import { captureLogs } from '../helpers/logs.js'

describe('recent problems ring (/health errors[])', () => {
  it('keeps WARN and ERROR lines of every component, newest first, with their error', () => {
    const { logs } = captureLogs()
    logs.forComponent('rhio:nats').warn({ err: 'ECONNREFUSED' }, 'nats: cannot connect')
    logs.forComponent('rhio:http').info('http listening')
    logs.forComponent('rhio:blobs').error('bucket publisher stopped')
    const list = logs.recent.list()
    assert.deepEqual(
      list.map((e) => [e.level, e.component, e.message]),
      [
        ['error', 'rhio:blobs', 'bucket publisher stopped'],
        ['warn', 'rhio:nats', 'nats: cannot connect: ECONNREFUSED'],
      ],
    )
    assert.ok(list.every((e) => typeof e.time === 'number' && e.count === 1))
  })

  it('counts a repeated line instead of pushing others out, and is bounded', () => {
    const ring = new RecentProblems(3)
    for (let i = 0; i < 5; i++) ring.add({ time: i, level: 'warn', component: 'a', message: 'x' })
    ring.add({ time: 5, level: 'warn', component: 'b', message: 'y' })
    assert.deepEqual(
      ring.list().map((e) => [e.component, e.count, e.time]),
      [
        ['b', 1, 5],
        ['a', 5, 4],
      ],
    )
    for (let i = 0; i < 10; i++)
      ring.add({ time: 10 + i, level: 'error', component: 'c', message: String(i) })
    assert.equal(ring.list().length, 3)
    assert.equal(ring.list()[0]?.message, '9')
  })

  it('renders pino call arguments as one message', () => {
    assert.equal(problemMessage(['plain']), 'plain')
    assert.equal(problemMessage([{ err: new Error('boom') }, 'failed']), 'failed: boom')
    assert.equal(problemMessage([{ peer: 'x' }, 'no err field']), 'no err field')
    assert.equal(problemMessage([new Error('thrown')]), 'thrown')
  })
})

describe('RepeatThrottle', () => {
  it('logs the first occurrence, then at doubling intervals, counting the ones between', () => {
    let now = 0
    const t = new RepeatThrottle({ minMs: 1_000, maxMs: 4_000 }, () => now)
    const logged: Array<[number, number]> = []
    for (now = 0; now <= 20_000; now += 250) {
      const r = t.hit()
      if (r.log) logged.push([now, r.suppressed])
    }
    // 0, +1 s, +2 s, +4 s, then every 4 s
    assert.deepEqual(
      logged.map(([at]) => at),
      [0, 1_000, 3_000, 7_000, 11_000, 15_000, 19_000],
    )
    assert.deepEqual(logged[1], [1_000, 3])
    t.reset()
    assert.equal(t.hit().log, true, 'after a reset the next occurrence is logged at once')
  })
})

describe('network id mismatch', () => {
  const ours = '/rhio/a5188cc3c905faa8/hello/1'
  it('names another network id when the peer speaks another rhio network', () => {
    const r = mismatchReason(
      '8970ddfb' + '0'.repeat(56),
      ['/ipfs/id/1.0.0', '/rhio/c84ed89a8fe40131/hello/1'],
      ours,
    )
    assert.equal(r.certain, true)
    assert.match(
      r.reason,
      /^peer 8970ddfb… uses another network id \(its network hash c84ed89a8fe40131, this node's a5188cc3c905faa8\)/,
    )
    assert.match(r.reason, /network_id/)
  })

  it('is not certain when the peer announced no rhio protocol (yet)', () => {
    const r = mismatchReason('8970ddfb' + '0'.repeat(56), ['/ipfs/id/1.0.0'], ours)
    assert.equal(r.certain, false)
    assert.match(r.reason, /does not speak this network's protocols/)
  })
})

describe('subscription to a name the author does not publish', () => {
  const author = 'ab'.repeat(32)
  const config = parseConfig({
    subscribe: {
      nats_subjects: [
        { stream: 'in', subject: 'orders.>', public_key: author },
        { stream: 'in', subject: 'odrers.>', public_key: author },
      ],
      s3_buckets: [{ remote_bucket: 'fiels', local_bucket: 'files', public_key: author }],
    },
  })
  const hello = (holds: Array<{ kind: 'nats' | 'blobs'; filters: string[] }>): PeerHello => ({
    peer: { id: author } as PeerHello['peer'],
    hello: {
      version: 1,
      holds: holds.map((h) => ({ ...h, author: Buffer.from(author, 'hex') })),
      wants: [],
    },
  })

  it('is a problem in /health and one WARN once the author says what it publishes', () => {
    const { logs, lines } = captureLogs()
    const health = new HealthModel({ config, publicKeyHex: 'cd'.repeat(32), version: 't' })
    const check = new PublicationCheck(
      { health, logger: logs.forComponent('rhio:subscribe') },
      config,
    )
    // the author's first hello holds nothing yet (still starting): no verdict
    check.check(hello([]))
    assert.ok(!health.reasons().some((r) => r.startsWith('subscribe.')))
    for (let i = 0; i < 3; i++) {
      check.check(
        hello([
          { kind: 'nats', filters: ['orders.>', 'stock.*'] },
          { kind: 'blobs', filters: ['files'] },
        ]),
      )
    }
    const reasons = health.reasons().filter((r) => r.startsWith('subscribe.'))
    assert.deepEqual(reasons, [
      'subscribe.nats_subjects[1]: author abababab… does not publish subject odrers.> (it publishes orders.>, stock.*)',
      'subscribe.s3_buckets[0]: author abababab… does not publish bucket fiels (it publishes files)',
    ])
    const warns = lines.filter((l) => l.level === 'warn')
    assert.equal(warns.length, 2, 'once each, not at every hello')
    // the author fixes its config: cleared
    check.check(
      hello([
        { kind: 'nats', filters: ['orders.>', 'odrers.x'] },
        { kind: 'blobs', filters: ['files', 'fiels'] },
      ]),
    )
    assert.ok(!health.reasons().some((r) => r.startsWith('subscribe.')))
  })

  it('ignores hellos of other peers (forwarders hold only what they subscribed to)', () => {
    const { logs } = captureLogs()
    const health = new HealthModel({ config, publicKeyHex: 'cd'.repeat(32), version: 't' })
    const check = new PublicationCheck({ health, logger: logs.forComponent('x') }, config)
    const h = hello([{ kind: 'nats', filters: ['other.>'] }])
    check.check({ ...h, peer: { id: 'ef'.repeat(32) } as PeerHello['peer'] })
    assert.ok(!health.reasons().some((r) => r.startsWith('subscribe.')))
  })

  it('matches NATS filters by overlap and buckets by name', () => {
    assert.equal(published('nats', ['a.>'], 'a.b.c'), true)
    assert.equal(published('nats', ['a.*'], 'a.>'), true)
    assert.equal(published('nats', ['a.b'], 'a.c'), false)
    assert.equal(published('blobs', ['files'], 'files'), true)
    assert.equal(published('blobs', ['files'], 'file'), false)
  })
})

describe('docs/CONFIG.md lists the log components', () => {
  it('names every component the code logs under', async () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '../../..')
    const files = (await readdir(join(root, 'src'), { recursive: true })).filter((f) =>
      f.endsWith('.ts'),
    )
    const used = new Set<string>()
    for (const f of files) {
      const text = await readFile(join(root, 'src', f), 'utf8')
      for (const m of text.matchAll(/forComponent\('([a-z0-9:]+)'\)/g)) used.add(m[1] ?? '')
    }
    const doc = await readFile(join(root, 'docs/CONFIG.md'), 'utf8')
    const para = doc.slice(doc.indexOf('Component names in logs:'))
    const listed = new Set(
      [...para.slice(0, para.indexOf('\n\n')).matchAll(/`(rhio[a-z0-9:]*)`/g)].map((m) => m[1]),
    )
    assert.ok(used.size >= 10, `found ${used.size} components`)
    assert.deepEqual([...used].sort(), [...listed].sort())
  })
})

describe('traffic section (status page charts)', () => {
  it('samples messages and bytes in and out from the counters, keeping a bounded history', async () => {
    const registry = new Registry()
    const sync = new SyncMetrics(registry)
    const blobs = new BlobMetrics(registry)
    const sampler = new TrafficSampler(registry, { points: 3 })
    await sampler.sample()
    sync.entriesReceived.inc({ kind: 'nats' }, 5)
    sync.entriesReceived.inc({ kind: 'blobs' }, 7)
    sync.entriesSent.inc({ kind: 'nats' }, 9)
    sync.syncBytes.inc({ direction: 'in' }, 100)
    sync.syncBytes.inc({ direction: 'out' }, 200)
    blobs.bytes.inc({ direction: 'in' }, 1000)
    await sampler.sample()
    const h = sampler.section().history
    assert.deepEqual(
      h.map(({ t: _t, ...v }) => v),
      [
        { messages_in: 0, messages_out: 0, bytes_in: 0, bytes_out: 0 },
        { messages_in: 5, messages_out: 9, bytes_in: 1100, bytes_out: 200 },
      ],
    )
    await sampler.sample()
    await sampler.sample()
    assert.equal(sampler.section().history.length, 3)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { mismatchReason } from '../../src/sync/hello.js'
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

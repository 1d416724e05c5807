import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseConfig } from '../../src/config/index.js'
import { HealthModel } from '../../src/component/index.js'

const PK = 'ab'.repeat(32)
const OWN = 'ee'.repeat(32)

function model(): HealthModel {
  const config = parseConfig({
    publish: {
      s3_buckets: ['out'],
      nats_subjects: [
        { subject: 'a.b', stream: 'A' },
        { subject: 'a.b', stream: 'A' }, // merged
        { subject: 'a.c', stream: 'A' },
      ],
    },
    subscribe: {
      s3_buckets: [{ remote_bucket: 'r', local_bucket: 'in', public_key: PK }],
      nats_subjects: [{ subject: 'x.*', public_key: PK, stream: 'X' }],
    },
  })
  return new HealthModel({ config, publicKeyHex: OWN, version: '1.2.3', clock: () => 1000 })
}

const active = { status: 'Active' as const, lastError: null, lastCheckTime: 2000 }

function connectEverything(h: HealthModel): void {
  h.setNats({ status: 'Connected', server: '127.0.0.1:4222', lastError: null })
  h.setPublishedStream('A', 'a.b', active)
  h.setPublishedStream('A', 'a.c', active)
  h.setSubscribedStream(PK, 'X', 'x.*', active)
}

describe('HealthModel', () => {
  it("renders the original HealthStatus shape, fields in the original's order, then additions", () => {
    const body = model().snapshot()
    assert.deepEqual(Object.keys(body), ['status', 'msg', 'streams', 'stores', 'nats', 'node'])
    assert.deepEqual(Object.keys(body.streams), ['published', 'subscribed'])
    assert.deepEqual(Object.keys(body.stores), ['published', 'subscribed'])
    assert.deepEqual(Object.keys(body.streams.published[0] ?? {}), [
      'stream',
      'subject',
      'status',
      'last_error',
      'last_check_time',
    ])
    assert.deepEqual(Object.keys(body.streams.subscribed[0] ?? {}), [
      'source',
      'stream',
      'subject',
      'status',
      'last_error',
      'last_check_time',
    ])
    assert.deepEqual(Object.keys(body.stores.published[0] ?? {}), [
      'bucket',
      'status',
      'last_error',
      'last_check_time',
    ])
    assert.deepEqual(Object.keys(body.stores.subscribed[0] ?? {}), [
      'source',
      'remote_bucket',
      'local_bucket',
      'status',
      'last_error',
      'last_check_time',
    ])
    assert.deepEqual(body.node, {
      public_key: OWN,
      network_id: 'rhio-default-network-1',
      version: '1.2.3',
      started_at: 1000,
    })
  })

  it('lists every configured stream (duplicates merged) and bucket, honestly unchecked', () => {
    const body = model().snapshot()
    assert.deepEqual(
      body.streams.published.map((s) => [s.stream, s.subject, s.status, s.last_check_time]),
      [
        ['A', 'a.b', 'Unknown', null],
        ['A', 'a.c', 'Unknown', null],
      ],
    )
    assert.deepEqual(body.streams.subscribed[0], {
      source: PK,
      stream: 'X',
      subject: 'x.*',
      status: 'Unknown',
      last_error: null,
      last_check_time: null,
    })
    assert.deepEqual(body.stores.published, [
      { bucket: 'out', status: 'New', last_error: null, last_check_time: null },
    ])
    assert.deepEqual(body.stores.subscribed, [
      {
        source: PK,
        remote_bucket: 'r',
        local_bucket: 'in',
        status: 'New',
        last_error: null,
        last_check_time: null,
      },
    ])
  })

  it('is Error until NATS is connected and every stream is Active; buckets New are fine', () => {
    const h = model()
    const first = h.snapshot()
    assert.equal(first.status, 'Error')
    assert.match(first.msg ?? '', /^nats: connecting; published stream 'A' \(a\.b\) is unknown/)
    connectEverything(h)
    const ok = h.snapshot()
    assert.equal(ok.status, 'Running')
    assert.equal(ok.msg, null)
    assert.ok(h.healthy())
  })

  it('names what is wrong: NATS down, an inactive stream, a failed bucket, a component problem', () => {
    const h = model()
    connectEverything(h)
    h.setNats({ status: 'Disconnected', server: 's:1', lastError: 'disconnected from s:1' })
    h.setSubscribedStream(PK, 'X', 'x.*', {
      status: 'Inactive',
      lastError: "stream 'X' does not capture subject 'x.*'",
      lastCheckTime: 3000,
    })
    h.setPublishedBucket('out', {
      status: 'Inactive',
      lastError: 'NoSuchBucket',
      lastCheckTime: 4000,
    })
    h.setProblem('p2p', 'cannot listen on port 9102')
    const body = h.snapshot()
    assert.equal(body.status, 'Error')
    assert.deepEqual(h.reasons(), [
      'nats: disconnected (disconnected from s:1)',
      "subscribed stream 'X' (x.*) is inactive: stream 'X' does not capture subject 'x.*'",
      "published bucket 'out' is inactive: NoSuchBucket",
      'p2p: cannot listen on port 9102',
    ])
    assert.equal(body.msg, h.reasons().join('; '))
    assert.deepEqual(body.nats, {
      status: 'Disconnected',
      server: 's:1',
      last_error: 'disconnected from s:1',
      since: 1000,
    })
    h.setProblem('p2p', null)
    assert.equal(h.reasons().length, 3)
  })

  it('a problem seen by the source or sink shows over the stream check, and neither overwrites the other', () => {
    const h = model()
    connectEverything(h)
    assert.ok(
      h.setSubscribedStreamProblem(PK, 'X', 'x.*', { error: 'NATS_NO_STREAM: x', time: 5000 }),
    )
    assert.ok(
      h.setPublishedStreamProblem('A', 'a.c', { error: 'NATS_STREAM_NOT_FOUND', time: 6000 }),
    )
    // a later stream check (Active) does not hide the sink's problem
    h.setSubscribedStream(PK, 'X', 'x.*', { ...active, lastCheckTime: 7000 })
    const body = h.snapshot()
    assert.equal(body.status, 'Error')
    assert.deepEqual(body.streams.subscribed[0], {
      source: PK,
      stream: 'X',
      subject: 'x.*',
      status: 'Inactive',
      last_error: 'NATS_NO_STREAM: x',
      last_check_time: 5000,
    })
    assert.equal(body.streams.published[1]?.status, 'Inactive')
    assert.deepEqual(h.reasons(), [
      "published stream 'A' (a.c) is inactive: NATS_STREAM_NOT_FOUND",
      "subscribed stream 'X' (x.*) is inactive: NATS_NO_STREAM: x",
    ])
    // the check's own state is unchanged underneath
    assert.equal(h.subscribedStreams()[0]?.state.lastCheckTime, 7000)
    h.setSubscribedStreamProblem(PK, 'X', 'x.*', null)
    h.setPublishedStreamProblem('A', 'a.c', null)
    assert.ok(h.healthy())
    assert.equal(h.setSubscribedStreamProblem(PK, 'Y', 'x.*', null), false)
  })

  it('updates for unconfigured entries are refused', () => {
    const h = model()
    assert.equal(h.setPublishedStream('Z', 'a.b', active), false)
    assert.equal(h.setSubscribedBucket(PK, 'r', 'other', active), false)
    assert.equal(h.setSubscribedBucket(PK, 'r', 'in', active), true)
  })

  it('components add sections after the original fields; reserved names are refused', () => {
    const h = model()
    h.setSection('peers', [{ public_key: PK, connected: true }])
    const body = h.snapshot()
    assert.deepEqual(Object.keys(body).slice(-1), ['peers'])
    assert.deepEqual(body.peers, [{ public_key: PK, connected: true }])
    assert.throws(() => h.setSection('streams', {}), /reserved/)
  })
})

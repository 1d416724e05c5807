import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError, ownKeyViolations, parseConfig } from '../../src/config/index.js'

const PK = 'ab'.repeat(32)
const PK2 = 'cd'.repeat(32)

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw)
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    return err.violations.map((v) => `${v.path}: ${v.message}`)
  }
  return []
}

describe('config rules across entries', () => {
  it('a bucket published twice', () => {
    assert.deepEqual(problems({ publish: { s3_buckets: ['a', 'b', 'a'] } }), [
      "publish.s3_buckets[2]: bucket 'a' is already published (publish.s3_buckets[0])",
    ])
  })

  it('a subject published from two streams (the same stream twice is merged)', () => {
    assert.deepEqual(
      problems({
        publish: {
          nats_subjects: [
            { subject: 'a.b', stream: 'S' },
            { subject: 'a.b', stream: 'S' },
            { subject: 'a.b', stream: 'T' },
          ],
        },
      }),
      [
        "publish.nats_subjects[2].subject: subject 'a.b' is already published from stream 'S' (publish.nats_subjects[0]); publish a subject from one stream only",
      ],
    )
  })

  it('a local bucket both published and subscribed into', () => {
    assert.deepEqual(
      problems({
        publish: { s3_buckets: ['x', 'shared'] },
        subscribe: { s3_buckets: [{ remote_bucket: 'r', local_bucket: 'shared', public_key: PK }] },
      }),
      [
        "subscribe.s3_buckets[0].local_bucket: bucket 'shared' is also published (publish.s3_buckets[1]); a local bucket cannot be both published and downloaded into",
      ],
    )
  })

  it('one local bucket in two subscriptions', () => {
    assert.deepEqual(
      problems({
        subscribe: {
          s3_buckets: [
            { remote_bucket: 'r1', local_bucket: 'in', public_key: PK },
            { remote_bucket: 'r2', local_bucket: 'in', public_key: PK2 },
          ],
        },
      }),
      [
        "subscribe.s3_buckets[1].local_bucket: bucket 'in' is already the local bucket of subscribe.s3_buckets[0]; give each subscription its own local bucket",
      ],
    )
  })

  it('several S3 subscriptions to one remote key are allowed (the original refused them)', () => {
    const c = parseConfig({
      subscribe: {
        s3_buckets: [
          { remote_bucket: 'r1', local_bucket: 'in1', public_key: PK },
          { remote_bucket: 'r2', local_bucket: 'in2', public_key: PK },
        ],
      },
    })
    assert.equal(c.subscribe.s3_buckets.length, 2)
  })

  it('cross-entry rules are reported together with schema violations', () => {
    const list = problems({ bind_port: 'x', publish: { s3_buckets: ['a', 'a'] } })
    assert.equal(list.length, 2, list.join('\n'))
  })

  it("subscribing to the node's own key (checked once the key is loaded)", () => {
    const c = parseConfig({
      subscribe: {
        s3_buckets: [{ remote_bucket: 'r', local_bucket: 'l', public_key: PK }],
        nats_subjects: [
          { subject: 'a', public_key: PK2, stream: 's' },
          { subject: 'b', public_key: PK, stream: 's' },
        ],
      },
    })
    const v = ownKeyViolations(c, PK.toUpperCase()).map((x) => `${x.path}: ${x.message}`)
    assert.deepEqual(v, [
      "subscribe.s3_buckets[0].public_key: is this node's own public key; a node cannot subscribe to itself",
      "subscribe.nats_subjects[1].public_key: is this node's own public key; a node cannot subscribe to itself",
    ])
    assert.deepEqual(ownKeyViolations(c, 'ee'.repeat(32)), [])
  })
})

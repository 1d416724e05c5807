/**
 * Message sets for the end-to-end replication tests and the checks run on
 * what arrives: every message exactly once, user headers byte-exact (same
 * lines, same order, repeated names interleaved), payload identical, per-subject
 * order kept.
 *
 * Each generated message carries its index in an `X-Index` header (payloads
 * may be empty), so a copy can be matched with its original whatever its
 * position.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { subjectMatches } from '../../src/core/subject.js'
import type { HeaderList } from '../../src/nats/headers.js'
import type { SourceMessage } from '../../src/nats/source.js'
import type { OutMessage } from './site.js'

export const INDEX_HEADER = 'X-Index'

/** Headers rhio adds or replaces on the way into the subscriber's stream. */
export function isRhioOrControlHeader(name: string): boolean {
  const n = name.toLowerCase()
  return n.startsWith('x-rhio-') || n === 'nats-msg-id' || n.startsWith('nats-expected-')
}

export function userHeaders(h: HeaderList): HeaderList {
  return h.filter(([k]) => !isRhioOrControlHeader(k))
}

export function indexOf(m: { headers: HeaderList }): number {
  const v = m.headers.find(([k]) => k === INDEX_HEADER)?.[1]
  if (v === undefined) throw new Error(`message without ${INDEX_HEADER}`)
  return Number(v)
}

/** A deterministic pseudo-random generator (tests must be reproducible). */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 2 ** 32
  }
}

export interface MessageSetOptions {
  count: number
  /** Subjects used round-robin-ish (picked by the generator). */
  subjects: string[]
  /** Index offset, so several sets never share an index. */
  first?: number
  /** Small payloads are 0 .. maxSmall bytes. Default 300. */
  maxSmall?: number
  /** Payload sizes of a few large messages spread over the set. */
  large?: number[]
  seed?: number
}

/**
 * `count` messages over the given subjects with varied headers: three to five
 * distinct names, a repeated name interleaved with another, mixed case and
 * spaces inside values.
 */
export function messageSet(o: MessageSetOptions): OutMessage[] {
  const rnd = prng(o.seed ?? 42)
  const first = o.first ?? 0
  const large = o.large ?? []
  const stride = large.length > 0 ? Math.floor(o.count / (large.length + 1)) : 0
  const out: OutMessage[] = []
  for (let i = 0; i < o.count; i++) {
    const index = first + i
    const li = stride > 0 && i > 0 && i % stride === 0 ? i / stride - 1 : -1
    const size =
      li >= 0 && li < large.length
        ? (large[li] as number)
        : Math.floor(rnd() * ((o.maxSmall ?? 300) + 1))
    const payload = new Uint8Array(size)
    for (let j = 0; j < size; j += 4096) payload[j] = (index + j) & 0xff
    if (size > 0) payload[size - 1] = index & 0xff
    const headers: HeaderList = [[INDEX_HEADER, String(index)]]
    headers.push(['Trace-Id', `t-${(rnd() * 1e9).toFixed(0)}`])
    switch (i % 4) {
      case 0:
        headers.push(['tag', 'a'], ['Content-Type', 'application/octet-stream'], ['tag', 'b'])
        break
      case 1:
        headers.push(['B-Header', ' spaced  value '], ['a-header', String(i)])
        break
      case 2:
        headers.push(['Content-Type', 'text/plain; charset=utf-8'])
        break
      default:
        break // two headers only
    }
    out.push({
      subject: o.subjects[Math.floor(rnd() * o.subjects.length)] as string,
      payload,
      headers,
    })
  }
  return out
}

function digestOf(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex')
}

export interface ReplicaCheck {
  /** Messages of the origin's stream, as stored there. */
  sent: SourceMessage[]
  /** Messages of the copy's stream. */
  got: SourceMessage[]
  /** Filter the subscriber asked for (only matching originals must arrive). */
  filter?: string
  /** Hex key expected in X-Rhio-PublicKey. */
  author?: string
}

/**
 * Asserts that `got` holds every matching message of `sent` exactly once,
 * with identical payload and user headers, and in the origin's order per subject.
 */
export function assertReplica(c: ReplicaCheck): void {
  const wanted = c.sent.filter((m) => c.filter === undefined || subjectMatches(c.filter, m.subject))
  const byIndex = new Map<number, SourceMessage>()
  for (const m of wanted) byIndex.set(indexOf(m), m)
  const seen = new Map<number, number>()
  const dups: number[] = []
  for (const m of c.got) {
    const i = indexOf(m)
    seen.set(i, (seen.get(i) ?? 0) + 1)
    if ((seen.get(i) ?? 0) > 1) dups.push(i)
  }
  assert.deepEqual(dups.slice(0, 10), [], `duplicates (${dups.length})`)
  const missing = [...byIndex.keys()].filter((i) => !seen.has(i))
  assert.deepEqual(missing.slice(0, 10), [], `missing (${missing.length} of ${byIndex.size})`)
  const extra = [...seen.keys()].filter((i) => !byIndex.has(i))
  assert.deepEqual(extra.slice(0, 10), [], `unexpected messages (${extra.length})`)
  assert.equal(c.got.length, wanted.length)
  const lastBySubject = new Map<string, number>()
  for (const m of c.got) {
    const i = indexOf(m)
    const o = byIndex.get(i) as SourceMessage
    assert.equal(m.subject, o.subject, `subject of ${i}`)
    assert.equal(m.payload.length, o.payload.length, `payload size of ${i}`)
    if (m.payload.length > 0)
      assert.equal(digestOf(m.payload), digestOf(o.payload), `payload of ${i}`)
    assert.deepEqual(userHeaders(m.headers), userHeaders(o.headers), `headers of ${i}`)
    if (c.author !== undefined) {
      const pk = m.headers.find(([k]) => k === 'X-Rhio-PublicKey')?.[1]
      assert.equal(pk, c.author, `X-Rhio-PublicKey of ${i}`)
    }
    const before = lastBySubject.get(m.subject)
    if (before !== undefined)
      assert.ok(o.seq > before, `order on ${m.subject}: origin seq ${o.seq} after ${before}`)
    lastBySubject.set(m.subject, o.seq)
  }
}

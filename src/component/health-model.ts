/**
 * What `/health` reports. Components update it (NATS connection, each
 * configured stream and bucket; peers, sync and transfers as sections); the HTTP layer
 * renders `snapshot()`. The JSON keeps the original rhio's `HealthStatus`
 * shape and field order, and adds fields after them (`nats`, `node`, and any
 * section a component registers).
 */
import type { Config } from '../config/index.js'
import type { ItemState, ItemStatus, NatsState, NatsStatus, UsageProblem } from './health.js'

interface Status {
  status: ItemStatus
  last_error: string | null
  last_check_time: number | null
}

/** The JSON body of GET /health (original fields first, in the original order). */
export interface HealthReport {
  status: 'Running' | 'Unknown' | 'Error'
  msg: string | null
  streams: {
    published: Array<{ stream: string; subject: string } & Status>
    subscribed: Array<{ source: string; stream: string; subject: string } & Status>
  }
  stores: {
    published: Array<{ bucket: string } & Status>
    subscribed: Array<{ source: string; remote_bucket: string; local_bucket: string } & Status>
  }
  nats: { status: NatsStatus; server: string | null; last_error: string | null; since: number }
  node: { public_key: string; network_id: string; version: string; started_at: number }
  [section: string]: unknown
}

interface Entry<K> {
  key: K
  state: ItemState
}

const sep = '\u0000'
const id = (...parts: string[]): string => parts.join(sep)

export interface HealthModelInit {
  config: Config
  publicKeyHex: string
  version: string
  clock?: () => number
}

export class HealthModel {
  private readonly clock: () => number
  private readonly startedAt: number
  private readonly pubStreams = new Map<string, Entry<{ stream: string; subject: string }>>()
  private readonly subStreams = new Map<
    string,
    Entry<{ source: string; stream: string; subject: string }>
  >()
  private readonly pubBuckets = new Map<string, Entry<{ bucket: string }>>()
  private readonly subBuckets = new Map<
    string,
    Entry<{ source: string; remote_bucket: string; local_bucket: string }>
  >()
  private nats: NatsState
  /** Additive sections: a value, or a function giving the current one (undefined: left out). */
  private readonly sections = new Map<string, () => unknown>()
  private readonly problems = new Map<string, string>()
  /** Problems reported by the stream's users, by 'pub'/'sub' + entry id. */
  private readonly usage = new Map<string, UsageProblem>()

  constructor(private readonly init: HealthModelInit) {
    this.clock = init.clock ?? Date.now
    this.startedAt = this.clock()
    const c = init.config
    const fresh = (status: ItemStatus): ItemState => ({
      status,
      lastError: null,
      lastCheckTime: null,
    })
    // Streams are Unknown until checked; buckets New until the blob component reports.
    for (const e of c.publish.nats_subjects) {
      this.pubStreams.set(id(e.stream, e.subject), {
        key: { stream: e.stream, subject: e.subject },
        state: fresh('Unknown'),
      })
    }
    for (const e of c.subscribe.nats_subjects) {
      this.subStreams.set(id(e.public_key, e.stream, e.subject), {
        key: { source: e.public_key, stream: e.stream, subject: e.subject },
        state: fresh('Unknown'),
      })
    }
    for (const b of c.publish.s3_buckets) {
      this.pubBuckets.set(b, { key: { bucket: b }, state: fresh('New') })
    }
    for (const s of c.subscribe.s3_buckets) {
      this.subBuckets.set(id(s.public_key, s.remote_bucket, s.local_bucket), {
        key: { source: s.public_key, remote_bucket: s.remote_bucket, local_bucket: s.local_bucket },
        state: fresh('New'),
      })
    }
    this.nats = { status: 'Connecting', server: null, lastError: null, since: this.startedAt }
  }

  /** Configured published streams (deduplicated) and their states. */
  publishedStreams(): ReadonlyArray<{ stream: string; subject: string; state: ItemState }> {
    return [...this.pubStreams.values()].map((e) => ({ ...e.key, state: { ...e.state } }))
  }

  subscribedStreams(): ReadonlyArray<{
    source: string
    stream: string
    subject: string
    state: ItemState
  }> {
    return [...this.subStreams.values()].map((e) => ({ ...e.key, state: { ...e.state } }))
  }

  /** Updates a published stream entry; false when it is not configured. */
  setPublishedStream(stream: string, subject: string, state: ItemState): boolean {
    return set(this.pubStreams, id(stream, subject), state)
  }

  setSubscribedStream(source: string, stream: string, subject: string, state: ItemState): boolean {
    return set(this.subStreams, id(source, stream, subject), state)
  }

  /**
   * Records (or clears, with null) what the publisher reading this stream
   * sees; the entry shows Inactive with this error until it is cleared.
   */
  setPublishedStreamProblem(
    stream: string,
    subject: string,
    problem: UsageProblem | null,
  ): boolean {
    return this.setUsage(this.pubStreams, 'pub', id(stream, subject), problem)
  }

  /** As setPublishedStreamProblem, for the sink writing a subscription into its stream. */
  setSubscribedStreamProblem(
    source: string,
    stream: string,
    subject: string,
    problem: UsageProblem | null,
  ): boolean {
    return this.setUsage(this.subStreams, 'sub', id(source, stream, subject), problem)
  }

  private setUsage<K>(
    map: Map<string, Entry<K>>,
    side: string,
    key: string,
    problem: UsageProblem | null,
  ): boolean {
    if (!map.has(key)) return false
    if (problem === null) this.usage.delete(side + sep + key)
    else this.usage.set(side + sep + key, { ...problem })
    return true
  }

  /** The state /health shows: a usage problem wins over the stream check's state. */
  private effective(side: string, key: string, state: ItemState): ItemState {
    const p = this.usage.get(side + sep + key)
    if (!p) return state
    return { status: 'Inactive', lastError: p.error, lastCheckTime: p.time }
  }

  private pubEntries(): Array<Entry<{ stream: string; subject: string }>> {
    return [...this.pubStreams].map(([k, e]) => ({
      key: e.key,
      state: this.effective('pub', k, e.state),
    }))
  }

  private subEntries(): Array<Entry<{ source: string; stream: string; subject: string }>> {
    return [...this.subStreams].map(([k, e]) => ({
      key: e.key,
      state: this.effective('sub', k, e.state),
    }))
  }

  setPublishedBucket(bucket: string, state: ItemState): boolean {
    return set(this.pubBuckets, bucket, state)
  }

  setSubscribedBucket(
    source: string,
    remoteBucket: string,
    localBucket: string,
    state: ItemState,
  ): boolean {
    return set(this.subBuckets, id(source, remoteBucket, localBucket), state)
  }

  setNats(state: Omit<NatsState, 'since'>): void {
    const since = state.status === this.nats.status ? this.nats.since : this.clock()
    this.nats = { ...state, since }
  }

  natsState(): NatsState {
    return { ...this.nats }
  }

  /** Adds or replaces an additive top-level section (e.g. `peers`, `transfers`). */
  setSection(name: string, value: unknown): void {
    this.provideSection(name, () => value)
  }

  /**
   * Adds a section computed when /health is rendered (so it is always current
   * and costs nothing between requests); `get` returning undefined leaves it out.
   */
  provideSection(name: string, get: () => unknown): void {
    if (RESERVED.has(name)) throw new Error(`health section '${name}' is reserved`)
    this.sections.set(name, get)
  }

  /** Marks a component unhealthy with a reason (null clears it). */
  setProblem(component: string, problem: string | null): void {
    if (problem === null) this.problems.delete(component)
    else this.problems.set(component, problem)
  }

  /** Every reason the node is not healthy; empty when it is. */
  reasons(): string[] {
    const out: string[] = []
    if (this.nats.status !== 'Connected') {
      const detail = this.nats.lastError ? ` (${this.nats.lastError})` : ''
      out.push(`nats: ${this.nats.status.toLowerCase()}${detail}`)
    }
    for (const e of this.pubEntries()) {
      if (e.state.status !== 'Active') {
        out.push(itemReason(`published stream '${e.key.stream}' (${e.key.subject})`, e.state))
      }
    }
    for (const e of this.subEntries()) {
      if (e.state.status !== 'Active') {
        out.push(itemReason(`subscribed stream '${e.key.stream}' (${e.key.subject})`, e.state))
      }
    }
    for (const e of this.pubBuckets.values()) {
      if (!bucketOk(e.state)) out.push(itemReason(`published bucket '${e.key.bucket}'`, e.state))
    }
    for (const e of this.subBuckets.values()) {
      if (!bucketOk(e.state)) {
        out.push(itemReason(`subscribed bucket '${e.key.local_bucket}'`, e.state))
      }
    }
    for (const [c, p] of this.problems) out.push(`${c}: ${p}`)
    return out
  }

  healthy(): boolean {
    return this.reasons().length === 0
  }

  snapshot(): HealthReport {
    const reasons = this.reasons()
    const body: HealthReport = {
      status: reasons.length === 0 ? 'Running' : 'Error',
      msg: reasons.length === 0 ? null : reasons.join('; '),
      streams: {
        published: this.pubEntries().map((e) => ({ ...e.key, ...render(e.state) })),
        subscribed: this.subEntries().map((e) => ({ ...e.key, ...render(e.state) })),
      },
      stores: {
        published: [...this.pubBuckets.values()].map((e) => ({ ...e.key, ...render(e.state) })),
        subscribed: [...this.subBuckets.values()].map((e) => ({ ...e.key, ...render(e.state) })),
      },
      nats: {
        status: this.nats.status,
        server: this.nats.server,
        last_error: this.nats.lastError,
        since: this.nats.since,
      },
      node: {
        public_key: this.init.publicKeyHex,
        network_id: this.init.config.network_id,
        version: this.init.version,
        started_at: this.startedAt,
      },
    }
    for (const [name, get] of this.sections) {
      const value = get()
      if (value !== undefined) body[name] = value
    }
    return body
  }
}

const RESERVED = new Set(['status', 'msg', 'streams', 'stores', 'nats', 'node'])

/** A bucket the blob component has not reported yet (New) is not a failure. */
function bucketOk(s: ItemState): boolean {
  return s.status === 'Active' || s.status === 'New'
}

function itemReason(what: string, s: ItemState): string {
  return `${what} is ${s.status.toLowerCase()}${s.lastError ? `: ${s.lastError}` : ''}`
}

function render(s: ItemState): Status {
  return { status: s.status, last_error: s.lastError, last_check_time: s.lastCheckTime }
}

function set<K>(map: Map<string, Entry<K>>, key: string, state: ItemState): boolean {
  const e = map.get(key)
  if (!e) return false
  e.state = { ...state }
  return true
}

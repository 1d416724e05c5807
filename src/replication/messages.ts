/**
 * Message replication as a node component: one publisher per
 * `publish.nats_subjects` entry (stream → author log) and one subscriber per
 * author of `subscribe.nats_subjects` (want → local streams). Subscriptions
 * load their heights from the state store, which may need NATS: they are set
 * up in the background, so rhio starts while NATS is down.
 */
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Component, HealthModel, RhioMetrics } from '../component/index.js'
import type { Config } from '../config/index.js'
import { fromHex } from '../core/codec.js'
import { describeError, hasCode } from '../errors/index.js'
import type { LoggerFactory } from '../logging/index.js'
import type { NatsConnectionComponent } from '../nats/connection.js'
import { RepeatThrottle, retry } from '../util/backoff.js'
import { MessageMetrics } from './metrics.js'
import { NatsPublisher } from './nats-publisher.js'
import { NatsSubscriber } from './nats-subscriber.js'
import type { LogNetwork } from './network.js'

/** Setting up a subscription waits for the state store (NATS KV): 1 s, doubling to 10 s. */
export const SETUP_RETRY = { minMs: 1_000, maxMs: 10_000 }
/**
 * Distinct `subject` label values of message_receive_total per source; later subjects are
 * counted as `_other`. Subjects are chosen by authors: each value is a metric series.
 */
export const MAX_SUBJECT_LABELS = 1000

/** Keeps the label values seen, up to `max`; anything new beyond it becomes `_other`. */
export class BoundedLabels {
  private readonly seen = new Set<string>()
  constructor(private readonly max: number) {}

  of(value: string): string {
    if (this.seen.has(value)) return value
    if (this.seen.size >= this.max) return '_other'
    this.seen.add(value)
    return value
  }
}

/**
 * message_receive_total by subject for one source: the labelled child of each
 * subject is looked up once (prom-client hashes the labels on every inc()
 * otherwise: a measurable share of the per-message cost), and counts are added
 * to prom-client in a microtask after the code that counted them (once per
 * delivery rather than once per message; a scrape never misses one).
 */
class SubjectCounter {
  private readonly labels = new BoundedLabels(MAX_SUBJECT_LABELS)
  private readonly children = new Map<string, { inc(n: number): void }>()
  private readonly pending = new Map<{ inc(n: number): void }, number>()

  constructor(
    private readonly counter: RhioMetrics['messageReceiveTotal'],
    private readonly fixed: Record<string, string>,
  ) {}

  inc(subject: string): void {
    const label = this.labels.of(subject)
    let child = this.children.get(label)
    if (child === undefined) {
      child = this.counter.labels({ ...this.fixed, subject: label })
      this.children.set(label, child)
    }
    const n = this.pending.get(child)
    if (n === undefined) {
      if (this.pending.size === 0) queueMicrotask(() => this.flush())
      this.pending.set(child, 1)
    } else {
      this.pending.set(child, n + 1)
    }
  }

  private flush(): void {
    for (const [child, n] of this.pending) child.inc(n)
    this.pending.clear()
  }
}

export interface MessageReplicationComponents {
  nats: NatsConnectionComponent
  /** The node's sync layer (available once the p2p component has started). */
  network: () => LogNetwork
  health: HealthModel
  metrics: RhioMetrics
  registry: Registry
  logs: LoggerFactory
}

export class MessageReplication implements Component {
  readonly name = 'messages'
  private readonly publishers: NatsPublisher[] = []
  private readonly subscribers: NatsSubscriber[] = []
  private readonly metrics: MessageMetrics
  private readonly log: Logger
  private readonly abort = new AbortController()
  private background: Promise<void> | undefined
  private readonly local: SubjectCounter
  private readonly remote: SubjectCounter

  constructor(
    private readonly components: MessageReplicationComponents,
    private readonly config: Config,
  ) {
    this.log = components.logs.forComponent('rhio:replication')
    this.metrics = new MessageMetrics(components.registry)
    const received = components.metrics.messageReceiveTotal
    this.local = new SubjectCounter(received, { source: 'nats' })
    this.remote = new SubjectCounter(received, { source: 'network', msg_type: 'nats_message' })
  }

  private connection = (signal: AbortSignal): Promise<NatsConnection> =>
    this.components.nats.connected(signal)

  async start(): Promise<void> {
    const network = this.components.network()
    this.startPublishers(network)
    this.background = this.startSubscribers(network, this.abort.signal).catch((err: unknown) => {
      if (!this.abort.signal.aborted)
        this.log.error({ err: describeError(err) }, 'subscriptions failed to start')
    })
  }

  /** Stops setting up subscriptions (the network's intake stops next). */
  async beforeStop(): Promise<void> {
    this.abort.abort()
    await this.background
  }

  /** Stops reading streams, then lets the sinks flush what was delivered. */
  async stop(): Promise<void> {
    await this.beforeStop()
    await Promise.allSettled(this.publishers.map((p) => p.stop()))
    await Promise.allSettled(this.subscribers.map((s) => s.stop()))
  }

  private startPublishers(network: LogNetwork): void {
    const { health, logs } = this.components
    const byStream = new Map<string, string[]>()
    for (const { stream, subject } of this.config.publish.nats_subjects) {
      const earlier = byStream.get(stream) ?? []
      if (earlier.includes(subject)) continue // same subject twice in one stream: merged
      const pub = new NatsPublisher({
        stream,
        subject,
        earlier: [...earlier],
        openLog: (logId, filter) => network.publish({ logId, kind: 'nats' }, [filter]),
        connection: this.connection,
        logger: logs.forComponent('rhio:publish'),
        metrics: this.metrics,
        onMessage: (s) => this.local.inc(s),
        onProblem: (p) =>
          health.setPublishedStreamProblem(
            stream,
            subject,
            p === null ? null : { error: p, time: Date.now() },
          ),
      })
      byStream.set(stream, [...earlier, subject])
      this.publishers.push(pub)
      pub.start()
    }
  }

  private async startSubscribers(network: LogNetwork, signal: AbortSignal): Promise<void> {
    const { health, logs } = this.components
    const byAuthor = new Map<string, Array<{ subject: string; stream: string }>>()
    for (const { subject, stream, public_key } of this.config.subscribe.nats_subjects) {
      const list = byAuthor.get(public_key) ?? []
      list.push({ subject, stream })
      byAuthor.set(public_key, list)
    }
    for (const [author, entries] of byAuthor) {
      const sub = new NatsSubscriber({
        author,
        entries,
        connection: this.connection,
        logger: logs.forComponent('rhio:subscribe'),
        metrics: this.metrics,
        onProblem: (stream, p) => {
          for (const e of entries)
            if (e.stream === stream) health.setSubscribedStreamProblem(author, stream, e.subject, p)
        },
        onMessage: (s) => this.remote.inc(s),
      })
      this.subscribers.push(sub)
      const selector = {
        author: fromHex(author),
        kind: 'nats' as const,
        filters: [...new Set(entries.map((e) => e.subject))],
      }
      await retrySetup(
        () => network.subscribe(selector, sub),
        signal,
        this.log,
        `subscription to ${author}`,
      )
    }
  }
}

/**
 * Retries `fn` with backoff until it succeeds or `signal` aborts. Waiting for
 * NATS (STATE_UNAVAILABLE: the state store is not connected yet) is normal at
 * start and NATS reports its own trouble, so it is logged at DEBUG; anything
 * else at WARN, once and then at RepeatThrottle's intervals.
 */
export async function retrySetup(
  fn: () => Promise<unknown>,
  signal: AbortSignal,
  log: Logger,
  what: string,
): Promise<void> {
  const throttle = new RepeatThrottle()
  await retry(fn, {
    signal,
    policy: SETUP_RETRY,
    onError: (err, delayMs) => {
      const fields = { err: describeError(err), retry_ms: delayMs }
      if (hasCode(err, 'STATE_UNAVAILABLE')) log.debug(fields, `${what} waits for NATS`)
      else if (throttle.hit().log) log.warn(fields, `${what} waiting`)
    },
  })
}

/**
 * Subscribe side of message replication, one per remote author: the verified
 * entries of that author's logs are written into local JetStream through a
 * pipelined sink per configured stream (`Nats-Msg-Id` = entry id, so JetStream
 * drops anything delivered twice), with provenance headers added. A delivery
 * is acknowledged to the p2p layer (which then persists its height) only once
 * every message in it is acknowledged by JetStream.
 *
 * Nothing is dropped: a publish that fails (no stream captures the subject,
 * NATS down, …) is retried by the sink; a message the local server refuses
 * outright (larger than its max_payload) blocks its stream's subscription and
 * is retried with backoff until the server takes it (e.g. after max_payload
 * was raised). Either shows on the subscription's /health entries and in
 * `rhio_sink_retries_total{stream,reason}`.
 */
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from 'pino'
import { toHex } from '../core/codec.js'
import { subjectMatches } from '../core/subject.js'
import { describeError, RhioError } from '../errors/index.js'
import type { Delivery, LogConsumer } from '../sync/want.js'
import type { ItemState, UsageProblem } from '../component/index.js'
import { Backoff, type BackoffPolicy } from '../util/backoff.js'
import { sleep, timeLimit } from '../util/abort.js'
import { headerLines, isJetStreamControlHeader, type HeaderList } from '../nats/headers.js'
import {
  JetStreamSink,
  type JetStreamSinkInit,
  type PreparedSinkMessage,
  type SinkMessage,
} from '../nats/sink.js'

import type { MessageMetrics } from './metrics.js'
import { H_LOG, H_PUBLIC_KEY, H_SEQ, withoutProvenance } from './provenance.js'

export interface SubscriptionEntry {
  subject: string
  stream: string
}

export interface NatsSubscriberInit {
  author: string
  entries: SubscriptionEntry[]
  connection: (signal: AbortSignal) => Promise<NatsConnection>
  logger: Logger
  metrics?: MessageMetrics
  onMessage?: (subject: string) => void
  /** What the sink of `stream` sees changed (null: nothing wrong). */
  onProblem?: (stream: string, problem: UsageProblem | null) => void
  /** Delay between attempts to write a message the server refused. Default 1 s .. 30 s. */
  blockedRetry?: BackoffPolicy
  /** Sink options (tests). */
  sink?: Omit<JetStreamSinkInit, 'expectStream'>
}

/** The X-Rhio-PublicKey and X-Rhio-Log lines of a delivery, or undefined if they do not validate. */
function provenanceLines(author: string, logId: string): string | undefined {
  try {
    return headerLines([
      [H_PUBLIC_KEY, author],
      [H_LOG, logId],
    ])
  } catch {
    return undefined
  }
}

/**
 * The message with its header block built once (the author's own lines without
 * JetStream control headers, the shared provenance lines, X-Rhio-Seq, then the
 * sink's Nats-Msg-Id and Nats-Expected-Stream), or undefined when a line does
 * not validate (then the plain message is written and refused visibly).
 */
function prepared(
  sink: JetStreamSink,
  subject: string,
  own: HeaderList,
  shared: string | undefined,
  seq: number,
  msgId: string,
  payload: Uint8Array,
): PreparedSinkMessage | undefined {
  if (shared === undefined) return undefined
  try {
    const kept = own.some(([n]) => isJetStreamControlHeader(n))
      ? own.filter(([n]) => !isJetStreamControlHeader(n))
      : own
    const lines = `${kept.length > 0 ? headerLines(kept) : ''}${shared}${H_SEQ}: ${seq}\r\n`
    return { subject, headerBlock: sink.headerBlock(lines, msgId), msgId, payload }
  } catch {
    return undefined
  }
}

/** The sink's tryWrite, or undefined when it refuses the message (write() retries it visibly). */
function tryWrite(sink: JetStreamSink, msg: SinkMessage | PreparedSinkMessage): number | undefined {
  try {
    return sink.tryWrite(msg)
  } catch {
    return undefined
  }
}

/** A refused message is tried again after 1 s, then up to every 30 s. */
const BLOCKED_RETRY: BackoffPolicy = { minMs: 1_000, maxMs: 30_000 }

export class NatsSubscriber implements LogConsumer {
  private readonly sinks = new Map<string, JetStreamSink>()
  private readonly untrack: Array<() => void> = []
  /** Why a stream's subscription is blocked on a refused message. */
  private readonly blocked = new Map<string, string>()
  private readonly reported = new Map<string, string | null>()
  private nc: NatsConnection | undefined
  private readonly abort = new AbortController()
  /** The delivery being written (the want hands over one at a time). */
  private delivering: Promise<void> | undefined
  /** Logs whose author sent provenance headers of its own (logged once each). */
  private readonly forgedLogs = new Set<string>()
  written = 0

  constructor(private readonly o: NatsSubscriberInit) {}

  private async sink(stream: string): Promise<JetStreamSink> {
    let s = this.sinks.get(stream)
    if (s) return s
    const nc = (this.nc ??= await this.o.connection(this.abort.signal))
    s = this.sinks.get(stream)
    if (s) return s
    s = new JetStreamSink({ nc }, { ...this.o.sink, expectStream: stream })
    s.start()
    s.onEvent((e) => {
      if (e.type === 'failure') {
        this.o.metrics?.retries.inc({ stream, reason: e.reason })
        this.o.logger.warn(
          { stream, reason: e.reason, err: e.error },
          'publish into local stream failed; retrying',
        )
      }
      if (e.type === 'recovered')
        this.o.logger.info(
          { stream, attempts: e.attempts },
          'publishing into local stream recovered',
        )
      if (e.type === 'status') this.report(stream)
    })
    this.sinks.set(stream, s)
    if (this.o.metrics) this.untrack.push(this.o.metrics.track(stream, s))
    return s
  }

  /** Logs once per log that an author sent X-Rhio-* headers of its own (they are dropped). */
  private forgedProvenance(logId: string, seq: number): void {
    this.o.metrics?.provenanceDropped.inc()
    if (this.forgedLogs.has(logId)) return
    if (this.forgedLogs.size < 64) this.forgedLogs.add(logId)
    this.o.logger.warn(
      { author: this.o.author, log: logId, seq },
      'the author sent X-Rhio-* headers of its own; they are dropped (rhio adds provenance itself)',
    )
  }

  private plain(
    subject: string,
    own: HeaderList,
    logId: string,
    seq: number,
    msgId: string,
    payload: Uint8Array,
  ): SinkMessage {
    const headers: HeaderList = [
      ...own,
      [H_PUBLIC_KEY, this.o.author],
      [H_LOG, logId],
      [H_SEQ, String(seq)],
    ]
    return { subject, headers, payload, msgId }
  }

  /** The subscription entry (and so the stream) an entry's subject belongs to. */
  private route(subject: string): SubscriptionEntry | undefined {
    return this.o.entries.find((e) => subjectMatches(e.subject, subject))
  }

  deliver(d: Delivery): Promise<void> {
    const p = this.writeDelivery(d)
    this.delivering = p
    return p
  }

  private async writeDelivery(d: Delivery): Promise<void> {
    const waits: Array<Promise<void>> = []
    const last = new Map<JetStreamSink, number>()
    // The provenance lines every message of this delivery shares, validated once.
    const shared = provenanceLines(this.o.author, d.logId)
    for (const e of d.entries) {
      if (e.body.kind !== 'nats') continue
      const target = this.route(e.body.subject)
      if (!target) continue // the want's filters are the union of ours; cannot happen
      const sink = this.sinks.get(target.stream) ?? (await this.sink(target.stream))
      const id = toHex(e.id)
      // Provenance is ours to add: an author's own X-Rhio-* headers are dropped, or a
      // consumer's headers.get('X-Rhio-PublicKey') would return what the author claims.
      const own = withoutProvenance(e.body.headers)
      if (own.length !== e.body.headers.length) this.forgedProvenance(d.logId, e.seq)
      const msg =
        prepared(sink, e.body.subject, own, shared, e.seq, id, e.body.payload) ??
        // lines that do not validate: the sink refuses them visibly (write() below)
        this.plain(e.body.subject, own, d.logId, e.seq, id, e.body.payload)
      // Nats-Msg-Id (set by the sink) carries the entry id; no separate header for it.
      const index = tryWrite(sink, msg) ?? (await this.write(sink, target.stream, msg))
      last.set(sink, index)
      this.written++
      this.o.onMessage?.(e.body.subject)
    }
    for (const [sink, index] of last)
      waits.push(sink.waitForAck(index, { signal: this.abort.signal }))
    if (waits.length === 0) {
      d.ack()
      return
    }
    // Acknowledge asynchronously so the next delivery can be pipelined.
    void Promise.all(waits).then(
      () => d.ack(),
      () => {}, // stopped: the height stays where it was; entries are fetched again
    )
  }

  /**
   * Hands a message to the sink; while the sink refuses it (larger than the
   * server's max_payload, or not publishable at all), the subscription waits
   * here, visibly, and tries again with backoff. Only stop() ends the wait.
   */
  private async write(
    sink: JetStreamSink,
    stream: string,
    msg: SinkMessage | PreparedSinkMessage,
  ): Promise<number> {
    const signal = this.abort.signal
    let backoff: Backoff | undefined
    for (;;) {
      try {
        const index = await sink.write(msg, { signal })
        if (this.blocked.delete(stream)) {
          this.o.logger.info({ stream, subject: msg.subject }, 'blocked message written')
          this.report(stream)
        }
        return index
      } catch (err) {
        if (signal.aborted || (err instanceof RhioError && err.code === 'NATS_SINK_STOPPED'))
          throw err
        const reason =
          err instanceof RhioError && err.code === 'NATS_PAYLOAD_TOO_LARGE'
            ? 'too-large'
            : 'invalid'
        backoff ??= new Backoff(this.o.blockedRetry ?? BLOCKED_RETRY)
        const delayMs = backoff.next()
        this.o.metrics?.retries.inc({ stream, reason })
        const text = `message on ${msg.subject} cannot be written, retrying: ${describeError(err)}`
        if (!this.blocked.has(stream))
          this.o.logger.error(
            { stream, subject: msg.subject, err: describeError(err), retry_ms: delayMs },
            'local NATS refuses a replicated message; subscription blocked',
          )
        this.blocked.set(stream, text)
        this.report(stream)
        await sleep(delayMs, signal)
      }
    }
  }

  /** Calls onProblem when what the stream's subscription should show changes. */
  private report(stream: string): void {
    const h = this.sinks.get(stream)?.health()
    const problem =
      this.blocked.get(stream) ?? (h?.status === 'Inactive' ? (h.lastError ?? 'inactive') : null)
    if (this.reported.get(stream) === problem) return
    this.reported.set(stream, problem)
    this.o.onProblem?.(stream, problem === null ? null : { error: problem, time: Date.now() })
  }

  /** Health of the sink for one stream (Unknown until something was written). */
  health(stream: string): ItemState | undefined {
    return this.sinks.get(stream)?.health()
  }

  /**
   * Lets the delivery being written finish (intake has stopped, so no other
   * follows; a half-written delivery would be fetched and written again after a
   * restart), flushes the sinks, then stops. Bounded by `timeoutMs` each.
   */
  async stop(timeoutMs = 5_000): Promise<void> {
    await timeLimit(this.delivering?.catch(() => {}) ?? Promise.resolve(), timeoutMs, () => {})
    await Promise.allSettled([...this.sinks.values()].map((s) => s.stop({ timeoutMs })))
    this.abort.abort()
    for (const u of this.untrack.splice(0)) u()
  }
}

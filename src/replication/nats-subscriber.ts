/**
 * Subscribe side of message replication, one per remote author: the verified
 * entries of that author's logs are written into local JetStream through a
 * pipelined sink per configured stream (`Nats-Msg-Id` = entry id, so JetStream
 * drops anything delivered twice), with provenance headers added. A delivery
 * is acknowledged to the p2p layer (which then persists its height) only once
 * every message in it is acknowledged by JetStream.
 */
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from 'pino'
import { toHex } from '../core/codec.js'
import { subjectMatches } from '../core/subject.js'
import type { Delivery, LogConsumer } from '../log/want.js'
import { JetStreamSink } from '../nats/sink.js'
import type { ComponentHealth } from '../nats/status.js'
import { H_ENTRY, H_LOG, H_PUBLIC_KEY, H_SEQ } from './provenance.js'

export interface SubscriptionEntry {
  subject: string
  stream: string
}

export interface NatsSubscriberInit {
  author: string
  entries: SubscriptionEntry[]
  connection: (signal: AbortSignal) => Promise<NatsConnection>
  logger: Logger
  onMessage?: (subject: string) => void
}

export class NatsSubscriber implements LogConsumer {
  private readonly sinks = new Map<string, JetStreamSink>()
  private nc: NatsConnection | undefined
  private readonly abort = new AbortController()
  written = 0

  constructor(private readonly o: NatsSubscriberInit) {}

  private async sink(stream: string): Promise<JetStreamSink> {
    let s = this.sinks.get(stream)
    if (s) return s
    const nc = (this.nc ??= await this.o.connection(this.abort.signal))
    s = this.sinks.get(stream)
    if (s) return s
    s = new JetStreamSink({ nc }, { expectStream: stream })
    s.start()
    s.onEvent((e) => {
      if (e.type === 'failure')
        this.o.logger.warn(
          { stream, reason: e.reason, err: e.error },
          'publish into local stream failed; retrying',
        )
      if (e.type === 'recovered')
        this.o.logger.info(
          { stream, attempts: e.attempts },
          'publishing into local stream recovered',
        )
    })
    this.sinks.set(stream, s)
    return s
  }

  /** The subscription entry (and so the stream) an entry's subject belongs to. */
  private route(subject: string): SubscriptionEntry | undefined {
    return this.o.entries.find((e) => subjectMatches(e.subject, subject))
  }

  async deliver(d: Delivery): Promise<void> {
    const waits: Array<Promise<void>> = []
    const last = new Map<JetStreamSink, number>()
    for (const e of d.entries) {
      if (e.body.kind !== 'nats') continue
      const target = this.route(e.body.subject)
      if (!target) continue // the want's filters are the union of ours; cannot happen
      const sink = await this.sink(target.stream)
      const id = toHex(e.id)
      const index = await sink.write(
        {
          subject: e.body.subject,
          headers: [
            ...e.body.headers,
            [H_PUBLIC_KEY, this.o.author],
            [H_LOG, d.logId],
            [H_SEQ, String(e.seq)],
            [H_ENTRY, id],
          ],
          payload: e.body.payload,
          msgId: id,
        },
        { signal: this.abort.signal },
      )
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

  /** Health of the sink for one stream (Unknown until something was written). */
  health(stream: string): ComponentHealth | undefined {
    return this.sinks.get(stream)?.health()
  }

  async stop(timeoutMs = 5_000): Promise<void> {
    await Promise.allSettled([...this.sinks.values()].map((s) => s.stop({ timeoutMs })))
    this.abort.abort()
  }
}

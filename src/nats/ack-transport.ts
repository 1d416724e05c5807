/**
 * JetStream publishes without nats.js's request machinery: each goes out as a
 * plain NATS publish with a reply subject under one inbox subscription; the
 * answer (a PubAck, a JetStream API error, or a 503 no-responders status) is
 * matched by token, and one sweep times out attempts that got no answer.
 * (nats.js's js.publish makes a request object, a timer and an error object
 * per message: a large share of the sink's CPU at tens of thousands per
 * second.)
 *
 * A dropped connection fails every attempt awaiting its answer at once: nats.js
 * discards what it buffered while disconnected, so those may or may not have
 * landed, and waiting for their timeouts would let newer publishes overtake
 * them. The owner is told about disconnects and reconnects.
 */
import { JetStreamApiError, type ApiError } from '@nats-io/jetstream'
import {
  createInbox,
  NoRespondersError,
  TimeoutError,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Status,
  type Subscription,
} from '@nats-io/transport-node'
import { RhioError } from '../errors/index.js'

/** One publish attempt; the transport writes its token and deadline. */
export interface Attempt {
  subject: string
  payload: Uint8Array
  headers: MsgHdrs
  /** Reply token of the current attempt. */
  token: string
  /** When the current attempt times out (ms). */
  deadline: number
}

/** What the transport reports, once per attempt (an answer, an error or a timeout). */
export interface AttemptHandler<A extends Attempt> {
  acked(attempt: A, ack: { seq: number; duplicate: boolean }): void
  failed(attempt: A, err: unknown): void
  /** The connection dropped (called after every awaiting attempt failed). */
  disconnected(): void
  reconnected(): void
}

export interface AckTransportInit {
  /** Time for an answer per attempt. */
  publishTimeoutMs: number
}

export class AckTransport<A extends Attempt> {
  private readonly inbox = createInbox()
  private replySub: Subscription | undefined
  /** Attempts awaiting their answer, in the order sent (so they expire in order). */
  private readonly awaiting = new Map<string, A>()
  private tokens = 0
  private sweepTimer: NodeJS.Timeout | undefined
  private statusIter: AsyncIterable<Status> | undefined
  private started = false

  constructor(
    private readonly components: { nc: NatsConnection },
    private readonly init: AckTransportInit,
    private readonly handler: AttemptHandler<A>,
  ) {}

  start(): void {
    if (this.started) return
    this.started = true
    const { nc } = this.components
    this.replySub = nc.subscribe(`${this.inbox}.*`, {
      callback: (_err, msg) => this.onReply(msg),
    })
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(250, this.init.publishTimeoutMs / 4))
    this.sweepTimer.unref()
    const iter = nc.status()
    this.statusIter = iter
    void (async () => {
      for await (const s of iter) {
        if (s.type === 'disconnect') this.onDisconnect()
        else if (s.type === 'reconnect') this.handler.reconnected()
      }
    })().catch(() => {
      // Ends with the connection.
    })
  }

  stop(): void {
    ;(this.statusIter as Partial<{ stop(): void }> | undefined)?.stop?.()
    if (this.sweepTimer) clearInterval(this.sweepTimer)
    this.replySub?.unsubscribe()
  }

  /**
   * Sends one attempt (with `headers` instead of its own when given); its
   * outcome comes to the handler (a synchronous failure too).
   */
  send(attempt: A, headers: MsgHdrs = attempt.headers): void {
    attempt.token = (++this.tokens).toString(36)
    attempt.deadline = Date.now() + this.init.publishTimeoutMs
    this.awaiting.set(attempt.token, attempt)
    try {
      this.components.nc.publish(attempt.subject, attempt.payload, {
        headers,
        reply: `${this.inbox}.${attempt.token}`,
      })
    } catch (err) {
      this.awaiting.delete(attempt.token)
      this.handler.failed(attempt, err)
    }
  }

  /**
   * Publishes without asking for an answer (a message whose fate a later
   * attempt's answer tells: see the sink's chained sends). Throws what
   * nats.js throws (a closed connection).
   */
  publish(subject: string, payload: Uint8Array, headers: MsgHdrs): void {
    this.components.nc.publish(subject, payload, { headers })
  }

  /** The largest message the server takes, when known. */
  get maxPayload(): number | undefined {
    return this.components.nc.info?.max_payload
  }

  /** A PubAck, a JetStream error, or a no-responders status for one attempt. */
  private onReply(msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length + 1)
    const attempt = this.awaiting.get(token)
    if (!attempt) return // a late answer to an attempt that already timed out
    this.awaiting.delete(token)
    if (msg.headers?.code === 503) {
      this.handler.failed(attempt, new NoRespondersError(attempt.subject))
      return
    }
    let ack: { seq?: number; duplicate?: boolean; error?: ApiError }
    try {
      ack = JSON.parse(new TextDecoder().decode(msg.data)) as typeof ack
    } catch (err) {
      this.handler.failed(attempt, err)
      return
    }
    if (ack.error) this.handler.failed(attempt, new JetStreamApiError(ack.error))
    else this.handler.acked(attempt, { seq: ack.seq ?? 0, duplicate: ack.duplicate === true })
  }

  private onDisconnect(): void {
    const err = new RhioError('NATS_DISCONNECTED', 'the connection to the NATS server dropped')
    const attempts = [...this.awaiting.values()]
    this.awaiting.clear()
    for (const a of attempts) this.handler.failed(a, err)
    this.handler.disconnected()
  }

  /** Fails attempts whose answer did not come in time (sent in order, so they expire in order). */
  private sweep(): void {
    const now = Date.now()
    for (const [token, attempt] of this.awaiting) {
      if (attempt.deadline > now) break
      this.awaiting.delete(token)
      this.handler.failed(attempt, new TimeoutError())
    }
  }
}

/**
 * One incarnation of an ephemeral, ordered, pull-based JetStream consumer.
 *
 * `JetStreamSource` opens a session at its cursor, reads from it, and opens a
 * new one from its cursor whenever this one ends (gap, consumer deleted,
 * disconnect, missed heartbeats). A session never recovers by itself; that keeps
 * the resume logic in one place.
 *
 * Why not nats.js's ordered consumer: its `consume()` bounds the buffer by message
 * count or by bytes but not both (bytes mode caps batches at 100 messages, ~30 %
 * slower here). This session sends pull requests with both `batch` and
 * `max_bytes` and accounts for them exactly: the server charges
 * `len(subject) + len(ack reply) + len(headers) + len(payload)` per message and
 * ends a request when its batch is used up, its bytes reach exactly 0, or with a
 * 404/408/409 status, serving open requests oldest first. So the client knows
 * what each open request may still deliver, and buffered messages plus what
 * open requests may deliver never exceed `batchMessages` / `batchBytes`.
 *
 * The consumer has no name (server-assigned), `ack_policy: none`, memory
 * storage and an inactivity threshold, so nothing is left behind on the server,
 * and subjects with `.`, `*` or `>` never end up in a consumer name.
 */
import { AckPolicy, DeliverPolicy, ReplayPolicy, type JetStreamManager } from '@nats-io/jetstream'
import {
  createInbox,
  nanos,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node'
import { RhioError, describeError } from '../errors/index.js'
import { WaitQueue } from '../util/wait-queue.js'
import { messageHeaders, type HeaderList } from './headers.js'

export interface PulledMessage {
  /** Stream sequence. */
  seq: number
  subject: string
  headers: HeaderList
  payload: Uint8Array
  /** Time the stream stored the message, unix ms. */
  time: number
  /**
   * Matching messages left after this one, as the server reports it. Not exact:
   * nats-server 2.9 sometimes undercounts for filtered consumers (seen: 0 while
   * one more message followed), so nothing relies on it.
   */
  pending: number
  /** Bytes the server charged for this message (used for buffer accounting). */
  size: number
  /** Header lines dropped (no colon) / block not valid UTF-8. */
  headerIssues: number
}

export type SessionEndReason =
  | 'gap'
  | 'heartbeats-missed'
  | 'consumer-deleted'
  | 'no-responders'
  | 'server-status'
  | 'server-shutdown'
  | 'disconnected'
  | 'protocol'
  | 'idle'
  /** The stream's replica group elected a new leader (JetStream advisory). */
  | 'leader-changed'
  | 'expired'
  | 'closed'

export interface SessionEnd {
  reason: SessionEndReason
  error: RhioError
}

export interface PullSessionOptions {
  nc: NatsConnection
  jsm: JetStreamManager
  apiPrefix: string
  stream: string
  filterSubject: string
  startSeq: number
  batchMessages: number
  batchBytes: number
  expiresMs: number
  heartbeatMs: number
  inactiveThresholdMs: number
  /** End with reason 'idle' when a pull request expires without any message (catch-up). */
  endWhenIdle?: boolean
}

interface OpenRequest {
  remainingMsgs: number
  remainingBytes: number
  delivered: number
}

const utf8 = new TextEncoder()

/** Pull requests open at once: the one being delivered and the next. */
const MAX_OPEN_REQUESTS = 2
/** Treat a consumer as expired this long before the server's inactivity threshold. */
const INACTIVITY_MARGIN_MS = 1_000

function byteLength(s: string): number {
  // Subjects are nearly always ASCII; only pay for encoding when they are not.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return utf8.encode(s).length
  return s.length
}

/**
 * Parses a JetStream ack reply subject: `$JS.ACK.<stream>.<consumer>.<delivered>.
 * <sseq>.<dseq>.<ts>.<pending>` or the v2 form with `<domain>.<account hash>`
 * after `ACK` and an optional trailing token.
 */
export function parseAckReply(
  reply: string,
): { seq: number; dseq: number; timeNs: string; pending: number } | undefined {
  if (!reply.startsWith('$JS.ACK.')) return undefined
  const t = reply.split('.')
  const o = t.length === 9 ? 4 : t.length === 11 || t.length === 12 ? 6 : -1
  if (o < 0) return undefined
  const seq = Number(t[o + 1])
  const dseq = Number(t[o + 2])
  const timeNs = t[o + 3] ?? ''
  const pending = Number(t[o + 4])
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(dseq) || !Number.isSafeInteger(pending)) {
    return undefined
  }
  return { seq, dseq, timeNs, pending }
}

export class PullSession {
  readonly consumer: string
  /** Matching messages at or after the start sequence when the consumer was created. */
  readonly numPending: number
  private readonly inbox = createInbox()
  private readonly nextSubject: string
  private readonly sub: Subscription
  private readonly timer: NodeJS.Timeout
  private queue: PulledMessage[] = []
  private queueHead = 0
  private queuedBytes = 0
  /** Open pull requests, oldest first; the server serves them in this order. */
  private requests: OpenRequest[] = []
  private outstandingMsgs = 0
  private outstandingBytes = 0
  private received = 0
  private receivedAtLastCheck = 0
  private quietSince = Date.now()
  /** When the last open request finished (the server's inactivity clock starts then). */
  private unusedSince = Date.now()
  private lastDseq = 0
  private ended: SessionEnd | undefined
  /** take() waiting for a message or the end. */
  private readonly arrivals = new WaitQueue<null>()

  /** Creates the consumer; throws what the JetStream API throws (e.g. stream not found). */
  static async open(o: PullSessionOptions): Promise<PullSession> {
    const ci = await o.jsm.consumers.add(o.stream, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: o.startSeq,
      replay_policy: ReplayPolicy.Instant,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(o.inactiveThresholdMs),
      // `>` means the whole stream; leaving it out avoids "filter not subset".
      ...(o.filterSubject === '>' ? {} : { filter_subject: o.filterSubject }),
    })
    return new PullSession(o, ci.name, ci.num_pending)
  }

  private constructor(
    private readonly o: PullSessionOptions,
    consumer: string,
    numPending: number,
  ) {
    this.consumer = consumer
    this.numPending = numPending
    this.nextSubject = `${o.apiPrefix}.CONSUMER.MSG.NEXT.${o.stream}.${consumer}`
    this.sub = o.nc.subscribe(this.inbox, {
      callback: (err, msg) => {
        if (err) {
          this.end(
            'protocol',
            new RhioError('NATS_CONSUMER_FAILED', describeError(err), { cause: err }),
          )
        } else {
          this.onMessage(msg)
        }
      },
    })
    this.timer = setInterval(
      () => this.checkHeartbeat(),
      Math.max(100, Math.floor(o.heartbeatMs / 2)),
    )
    this.timer.unref()
    this.maybePull()
  }

  get isEnded(): boolean {
    return this.ended !== undefined
  }

  /**
   * Up to `max` buffered messages, waiting for at least one; or, once the
   * buffer is empty and the session has ended, why it ended.
   */
  async take(max: number, signal?: AbortSignal): Promise<PulledMessage[] | SessionEnd> {
    while (this.queueHead === this.queue.length && this.ended === undefined) {
      signal?.throwIfAborted()
      await this.arrivals.wait(null, signal)
    }
    if (this.queueHead === this.queue.length) return this.ended as SessionEnd
    const end = Math.min(this.queue.length, this.queueHead + Math.max(1, max))
    const out = this.queue.slice(this.queueHead, end)
    this.queueHead = end
    if (this.queueHead === this.queue.length) {
      this.queue = []
      this.queueHead = 0
    }
    for (const m of out) this.queuedBytes -= m.size
    this.maybePull()
    return out
  }

  /** Ends the session (idempotent); buffered messages can still be taken. */
  end(reason: SessionEndReason, error: RhioError): void {
    if (this.ended !== undefined) return
    this.ended = { reason, error }
    this.requests = []
    clearInterval(this.timer)
    this.sub.unsubscribe()
    this.arrivals.releaseWhere()
  }

  /** Ends the session and deletes the consumer (best effort, not awaited). */
  close(): void {
    this.end('closed', new RhioError('NATS_CONSUMER_CLOSED', 'consumer closed'))
    this.queue = []
    this.queueHead = 0
    if (!this.o.nc.isClosed()) {
      void this.o.jsm.consumers.delete(this.o.stream, this.consumer).catch(() => {
        // The inactivity threshold removes it if this fails (e.g. disconnected).
      })
    }
  }

  private get queuedCount(): number {
    return this.queue.length - this.queueHead
  }

  /**
   * Pulls when half the buffer is free (counting what open requests may still
   * deliver). Up to two requests overlap, so the next batch is on its way
   * while the current one is delivered.
   */
  private maybePull(): void {
    if (this.ended !== undefined || this.requests.length >= MAX_OPEN_REQUESTS) return
    const freeMsgs = this.o.batchMessages - this.queuedCount - this.outstandingMsgs
    const freeBytes = this.o.batchBytes - this.queuedBytes - this.outstandingBytes
    if (
      freeMsgs < Math.ceil(this.o.batchMessages / 2) ||
      freeBytes < Math.ceil(this.o.batchBytes / 2)
    ) {
      return
    }
    if (this.requests.length === 0) {
      // A reader that paused past the inactivity threshold finds the consumer
      // gone; replace it now instead of waiting for missed heartbeats.
      if (Date.now() - this.unusedSince > this.o.inactiveThresholdMs - INACTIVITY_MARGIN_MS) {
        this.end(
          'expired',
          new RhioError('NATS_CONSUMER_DELETED', `consumer ${this.consumer} expired while unused`),
        )
        return
      }
      this.quietSince = Date.now()
      this.receivedAtLastCheck = this.received
    }
    this.requests.push({ remainingMsgs: freeMsgs, remainingBytes: freeBytes, delivered: 0 })
    this.outstandingMsgs += freeMsgs
    this.outstandingBytes += freeBytes
    const body = JSON.stringify({
      batch: freeMsgs,
      max_bytes: freeBytes,
      expires: nanos(this.o.expiresMs),
      idle_heartbeat: nanos(this.o.heartbeatMs),
    })
    try {
      this.o.nc.publish(this.nextSubject, body, { reply: this.inbox })
    } catch (err) {
      this.end(
        'closed',
        new RhioError('NATS_CONSUMER_FAILED', `pull request failed: ${describeError(err)}`, {
          cause: err,
        }),
      )
    }
  }

  /** Drops the oldest open request (the server finished it). */
  private finishOldest(): OpenRequest | undefined {
    const r = this.requests.shift()
    if (r !== undefined) {
      this.outstandingMsgs -= r.remainingMsgs
      this.outstandingBytes -= r.remainingBytes
    }
    if (this.requests.length === 0) this.unusedSince = Date.now()
    return r
  }

  private checkHeartbeat(): void {
    if (this.ended !== undefined) return
    const now = Date.now()
    if (this.requests.length === 0 || this.received !== this.receivedAtLastCheck) {
      this.receivedAtLastCheck = this.received
      this.quietSince = now
      return
    }
    // The server sends a heartbeat every heartbeatMs while a request is open and idle.
    if (now - this.quietSince > 2 * this.o.heartbeatMs + 500) {
      this.end(
        'heartbeats-missed',
        new RhioError(
          'NATS_CONSUMER_STALLED',
          `no messages or heartbeats from consumer ${this.consumer}`,
        ),
      )
    }
  }

  private onMessage(msg: Msg): void {
    if (this.ended !== undefined) return
    this.received++
    if (msg.subject === this.inbox) {
      this.onStatus(msg)
      return
    }
    const reply = msg.reply ?? ''
    const ack = parseAckReply(reply)
    if (ack === undefined) {
      this.end(
        'protocol',
        new RhioError('NATS_CONSUMER_FAILED', `unexpected reply subject ${JSON.stringify(reply)}`),
      )
      return
    }
    if (ack.dseq !== this.lastDseq + 1) {
      this.end(
        'gap',
        new RhioError(
          'NATS_CONSUMER_GAP',
          `delivery ${ack.dseq} after ${this.lastDseq} on consumer ${this.consumer}`,
        ),
      )
      return
    }
    this.lastDseq = ack.dseq
    const parsed = messageHeaders(msg)
    const payload = msg.data
    const headerBytes = (msg as Partial<{ _msg: { hdr?: number } }>)._msg?.hdr ?? 0
    const size = byteLength(msg.subject) + reply.length + Math.max(0, headerBytes) + payload.length
    this.queue.push({
      seq: ack.seq,
      subject: msg.subject,
      headers: parsed.headers,
      payload,
      time: Math.floor(Number(ack.timeNs) / 1e6),
      pending: ack.pending,
      size,
      headerIssues: parsed.malformed + (parsed.lossy ? 1 : 0),
    })
    this.queuedBytes += size
    const r = this.requests[0]
    if (r !== undefined) {
      r.remainingMsgs--
      r.remainingBytes -= size
      r.delivered++
      this.outstandingMsgs--
      this.outstandingBytes -= size
      // The server ends a request when its batch is used up or its bytes reach exactly 0.
      if (r.remainingMsgs <= 0 || r.remainingBytes <= 0) this.finishOldest()
    }
    this.arrivals.releaseWhere()
  }

  private onStatus(msg: Msg): void {
    const h = msg.headers
    const code = h?.code ?? 0
    const description = h?.description ?? ''
    const what = `${code} ${description}`.trim()
    if (code === 100) return // idle heartbeat
    const tooBig = code === 409 && /exceeds maxbytes/i.test(description)
    const oldest = this.requests[0]
    if (tooBig && this.queuedCount === 0 && oldest?.delivered === 0) {
      // Not even an empty buffer can take the next message: pulling again would spin.
      this.end(
        'server-status',
        new RhioError(
          'NATS_CONSUMER_FAILED',
          `a message in ${this.o.stream} is larger than the read buffer (${this.o.batchBytes} B)`,
        ),
      )
      return
    }
    if (
      this.o.endWhenIdle &&
      (code === 404 || code === 408) &&
      oldest?.delivered === 0 &&
      this.queuedCount === 0
    ) {
      this.end(
        'idle',
        new RhioError(
          'NATS_CONSUMER_IDLE',
          `no more messages in ${this.o.stream} for ${this.o.filterSubject}`,
        ),
      )
      return
    }
    if (code === 404 || code === 408 || tooBig) {
      // The oldest open request ended; pull again when there is room.
      this.finishOldest()
      this.maybePull()
      return
    }
    if (code === 409 && /consumer deleted/i.test(description)) {
      this.end(
        'consumer-deleted',
        new RhioError('NATS_CONSUMER_DELETED', `consumer ${this.consumer} was deleted`),
      )
      return
    }
    if (code === 409 && /server shutdown|leadership change/i.test(description)) {
      this.end(
        'server-shutdown',
        new RhioError('NATS_DISCONNECTED', `consumer ${this.consumer} ended: ${what}`),
      )
      return
    }
    if (code === 503) {
      this.end(
        'no-responders',
        new RhioError('NATS_CONSUMER_DELETED', `consumer ${this.consumer} is gone (503)`),
      )
      return
    }
    this.end(
      'server-status',
      new RhioError('NATS_CONSUMER_FAILED', `pull request ended with status ${what}`),
    )
  }
}

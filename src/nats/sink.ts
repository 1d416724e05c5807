/**
 * JetStreamSink: writes replicated messages into the local JetStream exactly
 * once and in order (subscribe side).
 *
 * - Every message carries `Nats-Msg-Id = msgId`, so JetStream drops re-sends
 *   (within the stream's duplicate window, 2 min by default).
 * - Up to `maxInFlight` publishes wait for their acks at once (the measured
 *   ceiling needs ~1000); `write()` resolves as soon as the message is in the
 *   window and waits while the window is full (backpressure).
 * - Acks are reported in order as a cursor: `ackedIndex` = N means messages
 *   1..N are stored. Callers persist progress only up to that cursor.
 * - Any failure (timeout, no stream for the subject, wrong stream, too large,
 *   connection closed) stops sending, backs off (jittered, 100 ms .. 5 s), probes
 *   with the first unacknowledged message and then re-sends the unacknowledged
 *   ones after it, in order. Re-sent messages that had landed (ack lost) come
 *   back as duplicates. Nothing is dropped; failures are counted by reason and
 *   shown in `health()`. Dedup only covers the stream's duplicate window: a
 *   message whose ack was lost and that is re-sent after a longer outage is
 *   stored twice.
 *
 * Order across failures: a single connection delivers publishes in order and
 * nats.js discards (does not replay) what it buffered while disconnected, so
 * what landed before a failure is a prefix and re-sending from the first
 * unacked message keeps per-subject order. A disconnect fails every publish
 * awaiting its ack at once and holds every new one until the reconnect, so
 * nothing is sent into nats.js's discarded buffer and nothing newer goes out
 * before the lost ones are re-sent (with timeouts alone, newer publishes sent
 * after the reconnect overtook them). One race remains: a stream created
 * (or a subject added, or a size limit raised) while publishes for it are in
 * flight lets later messages land before the re-sent earlier ones. The sink
 * detects this from the sequence numbers in the acks, counts it as
 * `reordered` and reports it as NATS_REORDERED; JetStream offers no way to
 * undo it.
 *
 * Parts: ack-transport.ts (publishes and their answers), send-window.ts (the
 * ordered window and backpressure), sink-recovery.ts (probe and re-send).
 */
import type { NatsConnection } from '@nats-io/transport-node'
import type { ItemState } from '../component/index.js'
import { RhioError, describeError } from '../errors/index.js'
import { Wakeup, withDeadline } from '../util/abort.js'
import { Backoff, type BackoffPolicy } from '../util/backoff.js'
import { Listeners } from '../util/listeners.js'
import { WaitQueue } from '../util/wait-queue.js'
import { JetStreamApiError } from '@nats-io/jetstream'
import { AckTransport, type Attempt } from './ack-transport.js'
import {
  classifyPublishError,
  findCause,
  PUBLISH_FAILURE_REASONS,
  type PublishFailureReason,
} from './failures.js'
import {
  appendHeaderLine,
  EncodedHeaders,
  headerBlock,
  isJetStreamControlHeader,
  WireHeaders,
  type HeaderList,
} from './headers.js'
import { SendWindow } from './send-window.js'
import { SinkRecovery, type RecoverableEntry } from './sink-recovery.js'
import { validatePublishSubject } from './subjects.js'

export interface SinkMessage {
  subject: string
  /** User headers in order; JetStream control headers among them are dropped. */
  headers: HeaderList
  payload: Uint8Array
  /** Idempotency key, sent as Nats-Msg-Id. */
  msgId: string
}

/**
 * A message whose header block the caller built with `sink.headerBlock()`
 * (validated lines, then this sink's Nats-Msg-Id and Nats-Expected-Stream):
 * for callers that write many messages with the same lines and want to
 * validate and encode those once.
 */
export interface PreparedSinkMessage {
  subject: string
  headerBlock: Uint8Array
  /** The msgId given to headerBlock(). */
  msgId: string
  payload: Uint8Array
}

export interface JetStreamSinkInit {
  /** When set, every publish carries Nats-Expected-Stream (the configured stream). */
  expectStream?: string
  /** Publishes awaiting their ack at once. Default 1024. */
  maxInFlight?: number
  /** Bytes (headers + payload) of unacknowledged messages held. Default 64 MiB. */
  maxInFlightBytes?: number
  /** Ack timeout per publish. Default 5 s. */
  publishTimeoutMs?: number
  /** Delay before re-sending after a failure. Default 100 ms .. 5 s. */
  retry?: BackoffPolicy
  /**
   * Chained sends under load (with expectStream only; default on): messages
   * that queue up go out in segments of up to this many, only the last one
   * asking for an ack, each carrying Nats-Expected-Last-Msg-Id of the one
   * before. 0 or 1 turns it off. Default 128.
   */
  chainSegment?: number
}

export interface JetStreamSinkComponents {
  nc: NatsConnection
}

export type SinkEvent =
  | { type: 'status'; health: ItemState }
  | { type: 'acked'; upTo: number }
  | { type: 'failure'; reason: PublishFailureReason; code: string; error: string; index: number }
  | { type: 'retry'; delayMs: number; fromIndex: number; attempt: number }
  | { type: 'recovered'; fromIndex: number; attempts: number }
  | { type: 'reordered'; subject: string; index: number; seq: number; laterSeq: number }

export interface SinkStats {
  written: number
  acked: number
  /** Acks that JetStream marked duplicate (re-sends that had landed, or repeated msgIds). */
  duplicates: number
  /** Publishes sent again after a failure. */
  resent: number
  /** Failed publish attempts by reason. */
  failures: Record<PublishFailureReason, number>
  /** Messages found stored out of per-subject order after a failure (see the file comment). */
  reordered: number
  /** Messages whose JetStream control headers were dropped. */
  controlHeadersDropped: number
  /** Messages sent without an ack of their own (a later one's ack vouched for them). */
  chained: number
  /** Chained segments refused because the stream's last message was not their predecessor. */
  chainBreaks: number
  inFlight: number
  unacked: number
}

interface Entry extends RecoverableEntry, Attempt {
  msgId: string
  /** On the last entry of a chained segment: the whole segment, in order. */
  segment: Entry[] | undefined
}

/** JetStream's answer to a Nats-Expected-Last-Msg-Id that does not match. */
const JS_WRONG_LAST_MSG_ID = 10070
const EXPECTED_LAST = 'Nats-Expected-Last-Msg-Id: '

/** Bytes the chain header adds to a message whose predecessor has `prevId`. */
function chainLineLength(prevId: string): number {
  return EXPECTED_LAST.length + prevId.length + 2
}

const DEFAULTS = {
  maxInFlight: 1024,
  maxInFlightBytes: 64 * 1024 * 1024,
  publishTimeoutMs: 5_000,
  retry: { minMs: 100, maxMs: 5_000 },
  stopTimeoutMs: 10_000,
  chainSegment: 128,
  /** Chaining pauses after a break for this long, doubled per break in a row (up to 5 min). */
  chainCooldownMs: 1_000,
} as const

export class JetStreamSink {
  private readonly nc: NatsConnection
  private readonly opts: Required<Omit<JetStreamSinkInit, 'expectStream'>> & {
    expectStream?: string
  }
  private readonly transport: AckTransport<Entry>
  private readonly window: SendWindow<Entry>
  private readonly recovery: SinkRecovery<Entry>
  private readonly listeners = new Listeners<SinkEvent>()
  private readonly stopper = new AbortController()
  private inflight = 0
  private recovering = false
  private stopping = false
  private started = false
  private toSend: Entry[] = []
  private sendScheduled = false
  /** The recovery loop waiting until no publish is in flight. */
  private readonly settleWaiters = new WaitQueue<null>()
  /** Between a disconnect and the reconnect: nothing may be sent (nats.js would drop it). */
  private disconnected = false
  private readonly connectWaiters = new WaitQueue<null>()
  /** Cuts a retry wait short (a reconnect to NATS). */
  private readonly wakeup = new Wakeup()
  /** Chained segments whose last entry awaits its answer. */
  private chainOpen = 0
  /** msgId of the last chained message sent, while a segment is open. */
  private chainPrev: string | undefined
  private chainPausedUntil = 0
  private chainBreaksInARow = 0
  /** A failure was reported during the current recovery (a chain break alone is quiet). */
  private recoveryNoisy = false
  private current: ItemState = { status: 'Unknown', lastError: null, lastCheckTime: null }
  private counters = {
    written: 0,
    acked: 0,
    duplicates: 0,
    reordered: 0,
    controlHeadersDropped: 0,
    chained: 0,
    chainBreaks: 0,
    failures: Object.fromEntries(PUBLISH_FAILURE_REASONS.map((r) => [r, 0])) as Record<
      PublishFailureReason,
      number
    >,
  }

  constructor(components: JetStreamSinkComponents, init: JetStreamSinkInit = {}) {
    this.nc = components.nc
    this.opts = {
      maxInFlight: init.maxInFlight ?? DEFAULTS.maxInFlight,
      maxInFlightBytes: init.maxInFlightBytes ?? DEFAULTS.maxInFlightBytes,
      publishTimeoutMs: init.publishTimeoutMs ?? DEFAULTS.publishTimeoutMs,
      retry: init.retry ?? DEFAULTS.retry,
      chainSegment: init.chainSegment ?? DEFAULTS.chainSegment,
      ...(init.expectStream !== undefined ? { expectStream: init.expectStream } : {}),
    }
    if (!(this.opts.maxInFlight >= 1))
      throw new RhioError('NATS_SINK_CONFIG', 'maxInFlight must be >= 1')
    this.window = new SendWindow(this.opts)
    this.transport = new AckTransport(
      { nc: this.nc },
      { publishTimeoutMs: this.opts.publishTimeoutMs },
      {
        acked: (e, ack) => this.onAck(e, ack),
        failed: (e, err) => this.onFail(e, err),
        disconnected: () => this.onDisconnect(),
        reconnected: () => {
          this.disconnected = false
          this.connectWaiters.releaseWhere()
          this.wakeup.wake()
        },
      },
    )
    this.recovery = new SinkRecovery<Entry>(
      {
        window: this.window,
        send: (e) => this.send(e),
        settled: () => (this.inflight === 0 ? Promise.resolve() : this.settleWaiters.wait(null)),
        connected: (signal) =>
          this.disconnected ? this.connectWaiters.wait(null, signal) : Promise.resolve(),
        sleep: (ms, signal) => this.wakeup.sleep(ms, signal),
        onRetry: (e) => this.listeners.emit({ type: 'retry', ...e }),
      },
      new Backoff(this.opts.retry),
    )
  }

  /** Starts watching the connection (a reconnect cuts a retry wait short); idempotent. */
  start(): void {
    if (this.started || this.stopping) return
    this.started = true
    this.transport.start()
  }

  /**
   * Accepts no more writes, waits up to `timeoutMs` (default 10 s) or until
   * `signal` aborts for outstanding acks, then stops retrying. Idempotent.
   * Returns how many written messages were not acknowledged.
   */
  async stop(
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<{ unacked: number }> {
    if (!this.stopping) {
      this.stopping = true
      this.window.rejectWriters(new RhioError('NATS_SINK_STOPPED', 'sink stopped'))
    }
    try {
      await withDeadline(
        opts.signal ?? new AbortController().signal,
        opts.timeoutMs ?? DEFAULTS.stopTimeoutMs,
        (signal) => this.flush({ signal }),
      )
    } catch {
      // Deadline reached: unacked messages stay unacked; the caller resends them later.
    }
    this.stopper.abort(new RhioError('NATS_SINK_STOPPED', 'sink stopped'))
    this.transport.stop()
    return { unacked: this.window.unacked }
  }

  /**
   * Adds a message to the send window and returns its index (1, 2, …). Waits
   * while the window is full. Throws NATS_SUBJECT_INVALID / NATS_HEADER_INVALID /
   * NATS_PAYLOAD_TOO_LARGE for a message that can never be published, and
   * NATS_SINK_STOPPED after stop().
   */
  async write(
    msg: SinkMessage | PreparedSinkMessage,
    opts: { signal?: AbortSignal } = {},
  ): Promise<number> {
    if (this.stopping) throw new RhioError('NATS_SINK_STOPPED', 'sink stopped')
    this.start()
    const entry = this.prepare(msg)
    await this.window.reserve(entry.bytes, opts.signal)
    if (this.stopping) {
      this.window.release(entry.bytes)
      throw new RhioError('NATS_SINK_STOPPED', 'sink stopped')
    }
    return this.enqueue(entry)
  }

  /**
   * write() without waiting: the message's index when the window has room
   * right now, undefined when it has not (then call write(), which waits).
   * Throws as write() does for a message that can never be published.
   */
  tryWrite(msg: SinkMessage | PreparedSinkMessage): number | undefined {
    if (this.stopping) throw new RhioError('NATS_SINK_STOPPED', 'sink stopped')
    this.start()
    const entry = this.prepare(msg)
    return this.window.tryReserve(entry.bytes) ? this.enqueue(entry) : undefined
  }

  /**
   * A header block for a PreparedSinkMessage: `lines` (validated `Name: value\r\n`
   * lines, see nats/headers.ts headerLines) then this sink's Nats-Msg-Id and
   * Nats-Expected-Stream. `msgId` must be printable ASCII without spaces.
   */
  headerBlock(lines: string, msgId: string): Uint8Array {
    return headerBlock(`${lines}Nats-Msg-Id: ${msgId}\r\n${this.expectLine}`)
  }

  private enqueue(entry: Entry): number {
    const index = this.window.push(entry)
    this.counters.written++
    this.toSend.push(entry)
    this.scheduleSend()
    return index
  }

  /** Index of the last message of the acknowledged prefix (0 before the first ack). */
  get ackedIndex(): number {
    return this.window.ackedIndex
  }

  /** Index of the last message written. */
  get writtenIndex(): number {
    return this.window.lastIndex
  }

  /** Resolves once messages 1..index are acknowledged. */
  waitForAck(index: number, opts: { signal?: AbortSignal } = {}): Promise<void> {
    return this.window.waitForAck(index, opts.signal)
  }

  /** Resolves once everything written so far is acknowledged. */
  flush(opts: { signal?: AbortSignal } = {}): Promise<void> {
    return this.waitForAck(this.window.lastIndex, opts)
  }

  health(): ItemState {
    return { ...this.current }
  }

  stats(): SinkStats {
    return {
      ...this.counters,
      failures: { ...this.counters.failures },
      resent: this.recovery.resent,
      inFlight: this.inflight,
      unacked: this.window.unacked,
    }
  }

  onEvent(listener: (event: SinkEvent) => void): () => void {
    return this.listeners.add(listener)
  }

  private prepare(msg: SinkMessage | PreparedSinkMessage): Entry {
    this.checkSubject(msg.subject)
    if ('headerBlock' in msg)
      return this.entry(msg.subject, msg.payload, msg.headerBlock, msg.msgId)
    if (typeof msg.msgId !== 'string' || msg.msgId.length === 0) {
      throw new RhioError('NATS_HEADER_INVALID', 'msgId must be a non-empty string')
    }
    const lines: HeaderList = msg.headers.filter(([name]) => !isJetStreamControlHeader(name))
    if (lines.length !== msg.headers.length) this.counters.controlHeadersDropped++
    lines.push(['Nats-Msg-Id', msg.msgId])
    if (this.opts.expectStream !== undefined)
      lines.push(['Nats-Expected-Stream', this.opts.expectStream])
    return this.entry(msg.subject, msg.payload, new WireHeaders(lines).encode(), msg.msgId)
  }

  private entry(subject: string, payload: Uint8Array, block: Uint8Array, msgId: string): Entry {
    const bytes = block.length + payload.length
    const max = this.transport.maxPayload
    if (max !== undefined && bytes > max) {
      throw new RhioError(
        'NATS_PAYLOAD_TOO_LARGE',
        `message on ${subject} has ${bytes} bytes of headers and payload; the NATS server allows ${max}`,
      )
    }
    return {
      index: 0,
      subject,
      payload,
      headers: new EncodedHeaders(block),
      bytes,
      state: 'queued',
      seq: 0,
      token: '',
      deadline: 0,
      msgId,
      segment: undefined,
    }
  }

  /** The Nats-Expected-Stream line of every message (empty without expectStream). */
  private get expectLine(): string {
    return this.opts.expectStream === undefined
      ? ''
      : `Nats-Expected-Stream: ${this.opts.expectStream}\r\n`
  }

  /** Publish subjects already found valid (they repeat; the check splits them into tokens). */
  private readonly validSubjects = new Set<string>()

  private checkSubject(subject: string): void {
    if (this.validSubjects.has(subject)) return
    validatePublishSubject(subject)
    if (this.validSubjects.size >= 4096) this.validSubjects.clear()
    this.validSubjects.add(subject)
  }

  /**
   * Sends what was written since the last turn of the event loop. Deferring to
   * setImmediate lets a writer's burst go out in one socket write; sending in
   * write() itself flushed every message separately (nats.js flushes in a
   * microtask) and cost a third of the throughput. A lone message goes out at
   * once with its own ack; messages that queued up go out chained.
   */
  private scheduleSend(): void {
    if (this.sendScheduled) return
    this.sendScheduled = true
    setImmediate(() => {
      this.sendScheduled = false
      if (this.recovering) return
      const batch = this.toSend
      this.toSend = []
      const queued = batch.filter((e) => e.state === 'queued')
      let sent = this.chaining(queued.length) ? this.sendChained(queued) : 0
      if (sent < queued.length && this.chainOpen > 0) {
        // A message too large to carry the chain header: it starts the next chain, once
        // the open segments are answered.
        this.toSend = queued.slice(sent).concat(this.toSend)
        return
      }
      for (; sent < queued.length; sent++) this.send(queued[sent] as Entry)
    })
  }

  /**
   * Whether to send `n` queued messages chained: always while a chained
   * segment is open (an unchained message sent behind a segment that breaks
   * would land before that segment's re-sent messages), otherwise when there
   * are several, the sink writes into one stream, and chaining is not paused
   * after a break.
   */
  private chaining(n: number): boolean {
    if (this.chainOpen > 0) return true
    return (
      n >= 2 &&
      this.opts.chainSegment >= 2 &&
      this.opts.expectStream !== undefined &&
      Date.now() >= this.chainPausedUntil
    )
  }

  /**
   * Sends `entries` in segments: every message carries
   * Nats-Expected-Last-Msg-Id of the one sent before it (the first of a new
   * chain carries none), only the last of a segment asks for an ack. JetStream
   * stores a message only if its predecessor is the stream's last message, so
   * one successful ack proves its whole segment (and every segment before it)
   * was stored, in order, with nothing lost in between; and if any message
   * does not land, none after it does, so what landed stays a prefix and the
   * usual recovery (probe, then re-send from the first unacknowledged, acked
   * one by one) keeps order. The acks JetStream does not send are a large
   * share of a sink's CPU and of the server's.
   */
  private sendChained(entries: Entry[]): number {
    const size = this.opts.chainSegment
    let end = entries.length
    const max = this.transport.maxPayload
    if (max !== undefined) {
      // Nothing after a message that would exceed max_payload with the header goes out now.
      let prev = this.chainPrev
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i] as Entry
        if (prev !== undefined && e.bytes + chainLineLength(prev) > max) {
          end = i
          break
        }
        prev = e.msgId
      }
    }
    for (let from = 0; from < end; from += size) {
      const segment = entries.slice(from, Math.min(from + size, end))
      const last = segment[segment.length - 1] as Entry
      this.chainOpen++
      this.inflight++
      last.segment = segment
      try {
        for (const e of segment) {
          e.state = 'inflight'
          const headers = this.chainHeaders(e)
          this.chainPrev = e.msgId
          if (e === last) this.transport.send(e, headers)
          else {
            this.transport.publish(e.subject, e.payload, headers)
            this.counters.chained++
          }
        }
      } catch (err) {
        this.onFail(last, err) // a closed connection: the segment fails as a whole
      }
    }
    return end
  }

  private chainHeaders(e: Entry): EncodedHeaders {
    if (this.chainPrev === undefined) return e.headers as EncodedHeaders
    return new EncodedHeaders(
      appendHeaderLine(
        (e.headers as EncodedHeaders).encode(),
        `${EXPECTED_LAST}${this.chainPrev}\r\n`,
      ),
    )
  }

  /** A chained segment got its answer (or failed): its entries follow `acked`. */
  private closeSegment(last: Entry, ack: { seq: number; duplicate: boolean } | undefined): void {
    const segment = last.segment as Entry[]
    last.segment = undefined
    this.chainOpen--
    if (this.chainOpen === 0) {
      this.chainPrev = undefined
      if (this.toSend.length > 0) this.scheduleSend() // what waited for the chain to close
    }
    const n = segment.length
    for (let i = 0; i < n; i++) {
      const e = segment[i] as Entry
      if (ack === undefined) {
        if (e.state === 'inflight') e.state = 'queued'
      } else if (e.state !== 'acked') {
        e.state = 'acked'
        // Stored back to back: JetStream took each only right after the one before.
        e.seq = ack.duplicate ? 0 : ack.seq - (n - 1 - i)
      }
    }
  }

  private send(entry: Entry): void {
    entry.state = 'inflight'
    this.inflight++
    this.transport.send(entry)
  }

  /**
   * The connection dropped (every publish awaiting its ack has failed). Even
   * with nothing in flight, new publishes are held until the reconnect: nats.js
   * drops what is published meanwhile and they would time out behind newer
   * ones sent after the reconnect.
   */
  private onDisconnect(): void {
    this.disconnected = true
    if (!this.recovering && !this.stopper.signal.aborted) {
      this.recovering = true
      this.recoveryNoisy = true
      this.setHealth(
        'Inactive',
        new RhioError('NATS_DISCONNECTED', 'the connection to the NATS server dropped'),
      )
      void this.recover()
    }
  }

  private onAck(entry: Entry, ack: { seq: number; duplicate: boolean }): void {
    this.inflight--
    this.current.lastCheckTime = Date.now()
    if (entry.segment !== undefined) {
      this.closeSegment(entry, ack)
      this.chainBreaksInARow = 0
      if (ack.duplicate) this.counters.duplicates++
      if (this.current.status === 'Unknown') this.setHealth('Active')
      this.advance()
    } else if (entry.state !== 'acked') {
      entry.state = 'acked'
      entry.seq = ack.seq
      if (ack.duplicate) this.counters.duplicates++
      if (this.current.status === 'Unknown') this.setHealth('Active')
      this.advance()
    }
    this.settled()
  }

  private onFail(entry: Entry, err: unknown): void {
    this.inflight--
    if (entry.segment !== undefined) {
      this.closeSegment(entry, undefined)
      if (isChainBreak(err)) {
        this.chainBroken()
        this.settled()
        return
      }
    }
    const { reason, error } = classifyPublishError(err, entry.subject, this.opts.expectStream)
    this.counters.failures[reason]++
    if (entry.state === 'inflight') entry.state = 'queued'
    const startsRecovery = !this.recovering && !this.stopper.signal.aborted
    if (startsRecovery || entry === this.recovery.probe) {
      this.recoveryNoisy = true
      this.setHealth('Inactive', error)
      this.listeners.emit({
        type: 'failure',
        reason,
        code: error.code,
        error: describeError(error),
        index: entry.index,
      })
    }
    if (startsRecovery) {
      this.recovering = true
      void this.recover()
    }
    this.settled()
  }

  /**
   * A chained segment was refused because the stream's last message was not
   * its predecessor: a message before it did not land (the probe of the
   * recovery will say why) or another publisher wrote into the stream in
   * between. Not a failure by itself: re-send one by one, and pause chaining
   * for a while (doubled per break in a row) so a stream shared with busy
   * local publishers does not break every segment.
   */
  private chainBroken(): void {
    this.counters.chainBreaks++
    const pause = Math.min(DEFAULTS.chainCooldownMs * 2 ** this.chainBreaksInARow, 300_000)
    this.chainBreaksInARow = Math.min(this.chainBreaksInARow + 1, 30)
    this.chainPausedUntil = Date.now() + pause
    if (!this.recovering && !this.stopper.signal.aborted) {
      this.recovering = true
      void this.recover()
    }
  }

  /** Moves the acked cursor over the acknowledged prefix of the window. */
  private advance(): void {
    const passed = this.window.advance()
    if (passed.length === 0) return
    this.counters.acked += passed.length
    if (this.recovery.order.active) for (const e of passed) this.checkOrder(e)
    this.listeners.emit({ type: 'acked', upTo: this.window.ackedIndex })
  }

  private checkOrder(e: Entry): void {
    const laterSeq = this.recovery.order.check(e)
    if (laterSeq === undefined) return
    this.counters.reordered++
    const err = new RhioError(
      'NATS_REORDERED',
      `message ${e.index} on ${e.subject} was stored as seq ${e.seq}, before an earlier message (seq ${laterSeq})`,
    )
    this.setHealth(this.current.status === 'Inactive' ? 'Inactive' : 'Active', err)
    this.listeners.emit({
      type: 'reordered',
      subject: e.subject,
      index: e.index,
      seq: e.seq,
      laterSeq,
    })
  }

  private settled(): void {
    if (this.inflight === 0) this.settleWaiters.releaseWhere()
  }

  /** Backs off, probes with the first unacked message, then re-sends the rest in order. */
  private async recover(): Promise<void> {
    let r: { fromIndex: number; attempts: number }
    try {
      r = await this.recovery.run(this.stopper.signal)
    } catch {
      return // stopped
    }
    this.recovering = false
    if (this.recoveryNoisy) {
      this.setHealth('Active')
      this.listeners.emit({ type: 'recovered', fromIndex: r.fromIndex, attempts: r.attempts })
    }
    this.recoveryNoisy = false
    this.toSend = []
    this.recovery.resend()
  }

  private setHealth(status: 'Active' | 'Inactive', error?: RhioError): void {
    const lastError = error ? describeError(error) : this.current.lastError
    const changed = status !== this.current.status || lastError !== this.current.lastError
    this.current = { status, lastError, lastCheckTime: Date.now() }
    if (changed) this.listeners.emit({ type: 'status', health: this.health() })
  }
}

function isChainBreak(err: unknown): boolean {
  const api = findCause(err, (e): e is JetStreamApiError => e instanceof JetStreamApiError)
  return api?.code === JS_WRONG_LAST_MSG_ID
}

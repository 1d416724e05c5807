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
 * flight lets later messages land before the re-sent earlier ones. The sink detects this from the
 * sequence numbers in the acks, counts it as `reordered` and reports it as
 * NATS_REORDERED; JetStream offers no way to undo it.
 */
import { JetStreamApiError, type ApiError } from '@nats-io/jetstream'
import {
  createInbox,
  NoRespondersError,
  TimeoutError,
  type Msg,
  type NatsConnection,
  type Status,
  type Subscription,
} from '@nats-io/transport-node'
import { RhioError, describeError } from '../errors/index.js'
import {
  classifyPublishError,
  PUBLISH_FAILURE_REASONS,
  type PublishFailureReason,
} from './failures.js'
import { isJetStreamControlHeader, WireHeaders, type HeaderList } from './headers.js'
import { Backoff, type BackoffPolicy } from '../util/backoff.js'
import { Wakeup, withDeadline } from '../util/abort.js'
import type { ItemState } from '../component/index.js'
import { Listeners } from '../util/listeners.js'
import { validatePublishSubject } from './subjects.js'
import { WaitQueue } from '../util/wait-queue.js'

export interface SinkMessage {
  subject: string
  /** User headers in order; JetStream control headers among them are dropped. */
  headers: HeaderList
  payload: Uint8Array
  /** Idempotency key, sent as Nats-Msg-Id. */
  msgId: string
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
  inFlight: number
  unacked: number
}

interface Entry {
  index: number
  subject: string
  payload: Uint8Array
  headers: WireHeaders
  bytes: number
  state: 'queued' | 'inflight' | 'acked'
  seq: number
  /** Reply token of the current attempt, and when it times out. */
  token: string
  deadline: number
}

const DEFAULTS = {
  maxInFlight: 1024,
  maxInFlightBytes: 64 * 1024 * 1024,
  publishTimeoutMs: 5_000,
  retry: { minMs: 100, maxMs: 5_000 },
  stopTimeoutMs: 10_000,
} as const

export class JetStreamSink {
  private readonly nc: NatsConnection
  /**
   * Publishes go out as plain NATS publishes with a reply subject under one
   * inbox subscription; acks are matched by token and timed out by one sweep.
   * (nats.js's js.publish makes a request object, a timer and an error object
   * per message: a large share of the sink's CPU at tens of thousands per second.)
   */
  private readonly inbox = createInbox()
  private replySub: Subscription | undefined
  private readonly awaiting = new Map<string, Entry>()
  private tokens = 0
  private sweepTimer: NodeJS.Timeout | undefined
  private readonly opts: Required<Omit<JetStreamSinkInit, 'expectStream'>> & {
    expectStream?: string
  }
  private readonly listeners = new Listeners<SinkEvent>()
  private readonly backoff: Backoff
  private readonly stopper = new AbortController()
  private window: Entry[] = []
  private head = 0
  private unackedBytes = 0
  private reservedCount = 0
  private reservedBytes = 0
  private lastIndex = 0
  private ackedUpTo = 0
  private inflight = 0
  private recovering = false
  private stopping = false
  private started = false
  private pass: { to: number; seqs: Map<string, number> } | undefined
  private probe: Entry | undefined
  private toSend: Entry[] = []
  private sendScheduled = false
  /** Writers waiting for room, by message size, in arrival order. */
  private readonly roomWaiters = new WaitQueue<number>()
  /** Callers waiting until the acked cursor reaches an index. */
  private readonly ackWaiters = new WaitQueue<number>()
  /** The recovery loop waiting until no publish is in flight. */
  private readonly settleWaiters = new WaitQueue<null>()
  /** Between a disconnect and the reconnect: nothing may be sent (nats.js would drop it). */
  private disconnected = false
  private readonly connectWaiters = new WaitQueue<null>()
  private statusIter: AsyncIterable<Status> | undefined
  /** Cuts a retry wait short (a reconnect to NATS). */
  private readonly wakeup = new Wakeup()
  private current: ItemState = { status: 'Unknown', lastError: null, lastCheckTime: null }
  private counters = {
    written: 0,
    acked: 0,
    duplicates: 0,
    resent: 0,
    reordered: 0,
    controlHeadersDropped: 0,
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
      ...(init.expectStream !== undefined ? { expectStream: init.expectStream } : {}),
    }
    if (!(this.opts.maxInFlight >= 1))
      throw new RhioError('NATS_SINK_CONFIG', 'maxInFlight must be >= 1')
    this.backoff = new Backoff(this.opts.retry)
  }

  /** Starts watching the connection (a reconnect cuts a retry wait short); idempotent. */
  start(): void {
    if (this.started || this.stopping) return
    this.started = true
    this.replySub = this.nc.subscribe(`${this.inbox}.*`, {
      callback: (_err, msg) => this.onReply(msg),
    })
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(250, this.opts.publishTimeoutMs / 4))
    this.sweepTimer.unref()
    const iter = this.nc.status()
    this.statusIter = iter
    void (async () => {
      for await (const s of iter) {
        if (s.type === 'disconnect') this.onDisconnect()
        else if (s.type === 'reconnect') {
          this.disconnected = false
          this.connectWaiters.releaseWhere(() => true)
          this.wakeup.wake()
        }
      }
    })().catch(() => {
      // Ends with the connection.
    })
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
      this.roomWaiters.rejectAll(new RhioError('NATS_SINK_STOPPED', 'sink stopped'))
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
    ;(this.statusIter as Partial<{ stop(): void }> | undefined)?.stop?.()
    if (this.sweepTimer) clearInterval(this.sweepTimer)
    this.replySub?.unsubscribe()
    return { unacked: this.lastIndex - this.ackedUpTo }
  }

  /**
   * Adds a message to the send window and returns its index (1, 2, …). Waits
   * while the window is full. Throws NATS_SUBJECT_INVALID / NATS_HEADER_INVALID /
   * NATS_PAYLOAD_TOO_LARGE for a message that can never be published, and
   * NATS_SINK_STOPPED after stop().
   */
  async write(msg: SinkMessage, opts: { signal?: AbortSignal } = {}): Promise<number> {
    if (this.stopping) throw new RhioError('NATS_SINK_STOPPED', 'sink stopped')
    this.start()
    const entry = this.prepare(msg)
    if (this.roomWaiters.length > 0 || !this.hasRoom(entry.bytes)) {
      await this.waitForRoom(entry.bytes, opts.signal)
      this.reservedCount--
      this.reservedBytes -= entry.bytes
      if (this.stopping) throw new RhioError('NATS_SINK_STOPPED', 'sink stopped')
    }
    entry.index = ++this.lastIndex
    this.window.push(entry)
    this.unackedBytes += entry.bytes
    this.counters.written++
    this.toSend.push(entry)
    this.scheduleSend()
    return entry.index
  }

  /** Index of the last message of the acknowledged prefix (0 before the first ack). */
  get ackedIndex(): number {
    return this.ackedUpTo
  }

  /** Index of the last message written. */
  get writtenIndex(): number {
    return this.lastIndex
  }

  /** Resolves once messages 1..index are acknowledged. */
  waitForAck(index: number, opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.ackedUpTo >= index) return Promise.resolve()
    return this.ackWaiters.wait(index, opts.signal)
  }

  /** Resolves once everything written so far is acknowledged. */
  flush(opts: { signal?: AbortSignal } = {}): Promise<void> {
    return this.waitForAck(this.lastIndex, opts)
  }

  health(): ItemState {
    return { ...this.current }
  }

  stats(): SinkStats {
    return {
      ...this.counters,
      failures: { ...this.counters.failures },
      inFlight: this.inflight,
      unacked: this.lastIndex - this.ackedUpTo,
    }
  }

  onEvent(listener: (event: SinkEvent) => void): () => void {
    return this.listeners.add(listener)
  }

  private prepare(msg: SinkMessage): Entry {
    validatePublishSubject(msg.subject)
    if (typeof msg.msgId !== 'string' || msg.msgId.length === 0) {
      throw new RhioError('NATS_HEADER_INVALID', 'msgId must be a non-empty string')
    }
    const lines: HeaderList = msg.headers.filter(([name]) => !isJetStreamControlHeader(name))
    if (lines.length !== msg.headers.length) this.counters.controlHeadersDropped++
    lines.push(['Nats-Msg-Id', msg.msgId])
    if (this.opts.expectStream !== undefined)
      lines.push(['Nats-Expected-Stream', this.opts.expectStream])
    const headers = new WireHeaders(lines)
    const bytes = headers.encode().length + msg.payload.length
    const max = this.nc.info?.max_payload
    if (max !== undefined && bytes > max) {
      throw new RhioError(
        'NATS_PAYLOAD_TOO_LARGE',
        `message on ${msg.subject} has ${bytes} bytes of headers and payload; the NATS server allows ${max}`,
      )
    }
    return {
      index: 0,
      subject: msg.subject,
      payload: msg.payload,
      headers,
      bytes,
      state: 'queued',
      seq: 0,
      token: '',
      deadline: 0,
    }
  }

  private hasRoom(bytes: number): boolean {
    const count = this.window.length - this.head + this.reservedCount
    if (count >= this.opts.maxInFlight) return false
    return (
      count === 0 || this.unackedBytes + this.reservedBytes + bytes <= this.opts.maxInFlightBytes
    )
  }

  private waitForRoom(bytes: number, signal?: AbortSignal): Promise<void> {
    return this.roomWaiters.wait(bytes, signal, () => this.wakeWriters())
  }

  private wakeWriters(): void {
    this.roomWaiters.releaseFront((bytes) => {
      if (!this.hasRoom(bytes)) return false
      // Reserve the room now: the writer runs later, after other wake-ups.
      this.reservedCount++
      this.reservedBytes += bytes
      return true
    })
  }

  /**
   * Sends what was written since the last turn of the event loop. Deferring to
   * setImmediate lets a writer's burst go out in one socket write; sending in
   * write() itself flushed every message separately (nats.js flushes in a
   * microtask) and cost a third of the throughput.
   */
  private scheduleSend(): void {
    if (this.sendScheduled) return
    this.sendScheduled = true
    setImmediate(() => {
      this.sendScheduled = false
      if (this.recovering) return
      const batch = this.toSend
      this.toSend = []
      for (const e of batch) if (e.state === 'queued') this.send(e)
    })
  }

  private send(entry: Entry): void {
    entry.state = 'inflight'
    this.inflight++
    entry.token = (++this.tokens).toString(36)
    entry.deadline = Date.now() + this.opts.publishTimeoutMs
    this.awaiting.set(entry.token, entry)
    try {
      this.nc.publish(entry.subject, entry.payload, {
        headers: entry.headers,
        reply: `${this.inbox}.${entry.token}`,
      })
    } catch (err) {
      this.awaiting.delete(entry.token)
      this.onFail(entry, err)
    }
  }

  /** A PubAck, a JetStream error, or a no-responders status for one publish. */
  private onReply(msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length + 1)
    const entry = this.awaiting.get(token)
    if (!entry) return // a late answer to an attempt that already timed out
    this.awaiting.delete(token)
    if (msg.headers?.code === 503) {
      this.onFail(entry, new NoRespondersError(entry.subject))
      return
    }
    let ack: { seq?: number; duplicate?: boolean; error?: ApiError }
    try {
      ack = JSON.parse(new TextDecoder().decode(msg.data)) as typeof ack
    } catch (err) {
      this.onFail(entry, err)
      return
    }
    if (ack.error) this.onFail(entry, new JetStreamApiError(ack.error))
    else this.onAck(entry, { seq: ack.seq ?? 0, duplicate: ack.duplicate === true })
  }

  /**
   * The connection dropped: every publish awaiting its ack may or may not have
   * landed, and nats.js discards what it buffered meanwhile. Failing them all
   * now (rather than at their timeouts) starts recovery at once, which holds
   * new publishes until the first unacked message is stored again; otherwise
   * publishes made after the reconnect would land before the lost ones are
   * re-sent, out of order.
   */
  private onDisconnect(): void {
    this.disconnected = true
    const err = new RhioError('NATS_DISCONNECTED', 'the connection to the NATS server dropped')
    const entries = [...this.awaiting.values()]
    this.awaiting.clear()
    for (const e of entries) this.onFail(e, err)
    // Nothing was in flight: still hold new publishes until the reconnect, since
    // nats.js drops what is published meanwhile and they would time out behind
    // newer ones sent after the reconnect.
    if (!this.recovering && !this.stopper.signal.aborted) {
      this.recovering = true
      this.setHealth('Inactive', err)
      void this.recover()
    }
  }

  /** Fails attempts whose ack did not come in time (sent in order, so they expire in order). */
  private sweep(): void {
    const now = Date.now()
    for (const [token, entry] of this.awaiting) {
      if (entry.deadline > now) break
      this.awaiting.delete(token)
      this.onFail(entry, new TimeoutError())
    }
  }

  private onAck(entry: Entry, ack: { seq: number; duplicate: boolean }): void {
    this.inflight--
    this.current.lastCheckTime = Date.now()
    if (entry.state !== 'acked') {
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
    const { reason, error } = classifyPublishError(err, entry.subject, this.opts.expectStream)
    this.counters.failures[reason]++
    if (entry.state === 'inflight') entry.state = 'queued'
    const startsRecovery = !this.recovering && !this.stopper.signal.aborted
    if (startsRecovery || entry === this.probe) {
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

  /** Moves the acked cursor over the acknowledged prefix of the window. */
  private advance(): void {
    const before = this.ackedUpTo
    while (this.head < this.window.length) {
      const e = this.window[this.head] as Entry
      if (e.state !== 'acked') break
      this.head++
      this.unackedBytes -= e.bytes
      this.ackedUpTo = e.index
      this.counters.acked++
      if (this.pass !== undefined) this.checkOrder(e)
    }
    if (this.ackedUpTo === before) return
    if (this.head > 1024 && this.head * 2 > this.window.length) {
      this.window = this.window.slice(this.head)
      this.head = 0
    }
    this.listeners.emit({ type: 'acked', upTo: this.ackedUpTo })
    this.ackWaiters.releaseWhere((index) => index <= this.ackedUpTo)
    this.wakeWriters()
  }

  /** Per-subject stream sequences must grow within the messages re-sent after a failure. */
  private checkOrder(e: Entry): void {
    const pass = this.pass as { to: number; seqs: Map<string, number> }
    const laterSeq = pass.seqs.get(e.subject)
    if (laterSeq !== undefined && e.seq < laterSeq) {
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
    } else {
      pass.seqs.set(e.subject, e.seq)
    }
    if (e.index >= pass.to) this.pass = undefined
  }

  private settled(): void {
    if (this.inflight === 0) this.settleWaiters.releaseWhere(() => true)
  }

  private waitSettled(): Promise<void> {
    return this.inflight === 0 ? Promise.resolve() : this.settleWaiters.wait(null)
  }

  private firstUnacked(): Entry | undefined {
    return this.head < this.window.length ? this.window[this.head] : undefined
  }

  /** Backs off, probes with the first unacked message, then re-sends the rest in order. */
  private async recover(): Promise<void> {
    const signal = this.stopper.signal
    let attempts = 0
    let from = this.firstUnacked()?.index ?? this.lastIndex + 1
    try {
      for (;;) {
        attempts++
        const delayMs = this.backoff.next()
        this.listeners.emit({ type: 'retry', delayMs, fromIndex: from, attempt: attempts })
        await this.pause(delayMs, signal)
        // Let every earlier attempt finish first, so none lands after a re-send.
        await this.waitSettled()
        if (this.disconnected) await this.connectWaiters.wait(null, signal)
        signal.throwIfAborted()
        const first = this.firstUnacked()
        if (first === undefined) break
        from = first.index
        for (let i = this.head; i < this.window.length; i++) {
          const e = this.window[i] as Entry
          if (e.state !== 'acked') e.state = 'queued'
        }
        this.pass = { to: this.lastIndex, seqs: new Map() }
        this.counters.resent++
        this.probe = first
        this.send(first)
        await this.waitSettled()
        this.probe = undefined
        if (first.state === 'acked') break
      }
    } catch {
      return // stopped
    }
    this.recovering = false
    this.backoff.reset()
    this.setHealth('Active')
    this.listeners.emit({ type: 'recovered', fromIndex: from, attempts })
    this.toSend = []
    for (let i = this.head; i < this.window.length; i++) {
      const e = this.window[i] as Entry
      if (e.state !== 'queued') continue
      if (this.pass !== undefined && e.index <= this.pass.to) this.counters.resent++
      this.send(e)
    }
  }

  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    await this.wakeup.sleep(ms, signal)
  }

  private setHealth(status: 'Active' | 'Inactive', error?: RhioError): void {
    const lastError = error ? describeError(error) : this.current.lastError
    const changed = status !== this.current.status || lastError !== this.current.lastError
    this.current = { status, lastError, lastCheckTime: Date.now() }
    if (changed) this.listeners.emit({ type: 'status', health: this.health() })
  }
}

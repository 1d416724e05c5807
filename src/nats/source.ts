/**
 * JetStreamSource: reads one subject filter of a user's existing stream, from a
 * given stream sequence, as a pull-based stream of messages (publish side).
 *
 * - `live` keeps reading forever; `catchup` stops after the last message that
 *   was in the stream when the source first reached it.
 * - Backpressure: nothing is fetched unless the caller reads; the buffer holds at
 *   most `batchMessages` messages / `batchBytes` bytes (see pull.ts).
 * - Resilience: a missing stream, a deleted consumer, a gap, a disconnect or
 *   missed heartbeats end the current consumer; the next one starts at the
 *   sequence after the last message handed to the caller, so nothing is lost or
 *   repeated. Failures are visible in `health()` and as events.
 */
import { jetstreamManager, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream'
import {
  TimeoutError,
  type NatsConnection,
  type Status,
  type Subscription,
} from '@nats-io/transport-node'
import { RhioError, describeError } from '../errors/index.js'
import { findCause } from './failures.js'
import type { HeaderList } from './headers.js'
import { PullSession, type PulledMessage, type SessionEnd, type SessionEndReason } from './pull.js'
import { Backoff, type BackoffPolicy } from '../util/backoff.js'
import { linkSignals, Wakeup } from '../util/abort.js'
import type { ItemState } from '../component/index.js'
import { Listeners } from '../util/listeners.js'
import { validateFilterSubject } from './subjects.js'

export interface SourceMessage {
  /** Stream sequence. */
  seq: number
  subject: string
  /** User headers in wire order (see headers.ts for what is byte-exact). */
  headers: HeaderList
  payload: Uint8Array
  /** When the stream stored the message, unix ms. */
  time: number
}

export type SourceMode = 'live' | 'catchup'

export interface JetStreamSourceInit {
  stream: string
  /** One subject filter; `*` and `>` allowed. */
  filterSubject: string
  /** First stream sequence to read (1 = beginning). Default 1. */
  startSeq?: number
  /** Default 'live'. */
  mode?: SourceMode
  /** Buffer bound in messages (buffered + requested). Default 1000. */
  batchMessages?: number
  /** Buffer bound in bytes (buffered + requested); raised to twice the largest possible message. Default 16 MiB. */
  batchBytes?: number
  /** Pull request lifetime. Default 30 s. */
  expiresMs?: number
  /** Server heartbeat interval while a pull waits; two missed end the consumer. Default 2 s. */
  heartbeatMs?: number
  /**
   * Catch-up only: a pull that waits this long without a message ends the
   * catch-up (a safety net; normally it ends at the last matching message).
   * Default 5 s.
   */
  catchupIdleMs?: number
  /**
   * The server deletes an unused consumer after this (min 2 s); a reader that
   * pauses longer gets a new consumer at its cursor. Default 2 min.
   */
  inactiveThresholdMs?: number
  /** Delay between attempts while the stream is missing or NATS fails. Default 1 s .. 10 s. */
  retry?: BackoffPolicy
  /** JetStream API prefix. Default `$JS.API`. */
  apiPrefix?: string
}

export interface JetStreamSourceComponents {
  nc: NatsConnection
}

export type SourceEvent =
  | { type: 'status'; health: ItemState }
  | { type: 'consumer-created'; consumer: string; startSeq: number; pending: number }
  | {
      type: 'consumer-ended'
      consumer: string
      reason: SessionEndReason
      error: string
      resumeSeq: number
    }
  | { type: 'retry'; error: string; code: string; delayMs: number }
  | { type: 'caught-up'; targetSeq: number; nextSeq: number }

export interface SourceStats {
  delivered: number
  consumersCreated: number
  consumersEnded: Partial<Record<SessionEndReason, number>>
  /** Messages whose header block had malformed lines or invalid UTF-8. */
  headerIssues: number
}

const DEFAULTS = {
  batchMessages: 1000,
  batchBytes: 16 * 1024 * 1024,
  expiresMs: 30_000,
  heartbeatMs: 2_000,
  catchupIdleMs: 5_000,
  inactiveThresholdMs: 120_000,
  retry: { minMs: 1_000, maxMs: 10_000 },
  /**
   * JetStream API requests (consumer create, stream info). Short: while a
   * stream has no leader they go unanswered, and nats.js's 5 s default would
   * hold replication that long after a leader change; a timed-out request is
   * simply sent again.
   */
  apiTimeoutMs: 1_000,
  // Subject + ack reply on top of max_payload (headers + payload), with room to spare.
  messageOverhead: 8 * 1024,
  defaultMaxPayload: 1024 * 1024,
} as const

export class JetStreamSource implements AsyncIterable<SourceMessage> {
  private readonly nc: NatsConnection
  private readonly init: Required<Omit<JetStreamSourceInit, 'retry'>> & { retry: BackoffPolicy }
  private readonly listeners = new Listeners<SourceEvent>()
  private readonly backoff: Backoff
  private readonly stopper = new AbortController()
  private jsm: JetStreamManager | undefined
  private session: PullSession | undefined
  private cursor: number
  private targetSeq: number | undefined
  private finished = false
  private started = false
  private reading = false
  private failedSessions = 0
  private statusIter: AsyncIterable<Status> | undefined
  private leaderSub: Subscription | undefined
  /** Cuts a retry wait short (a reconnect to NATS). */
  private readonly wakeup = new Wakeup()
  private disconnected = false
  private current: ItemState = { status: 'Unknown', lastError: null, lastCheckTime: null }
  private counters: SourceStats = {
    delivered: 0,
    consumersCreated: 0,
    consumersEnded: {},
    headerIssues: 0,
  }

  constructor(components: JetStreamSourceComponents, init: JetStreamSourceInit) {
    validateFilterSubject(init.filterSubject)
    const startSeq = init.startSeq ?? 1
    if (!Number.isSafeInteger(startSeq) || startSeq < 1) {
      throw new RhioError('NATS_SOURCE_CONFIG', `startSeq must be an integer >= 1, got ${startSeq}`)
    }
    this.nc = components.nc
    this.init = {
      stream: init.stream,
      filterSubject: init.filterSubject,
      startSeq,
      mode: init.mode ?? 'live',
      batchMessages: init.batchMessages ?? DEFAULTS.batchMessages,
      batchBytes: init.batchBytes ?? DEFAULTS.batchBytes,
      expiresMs: init.expiresMs ?? DEFAULTS.expiresMs,
      heartbeatMs: init.heartbeatMs ?? DEFAULTS.heartbeatMs,
      catchupIdleMs: init.catchupIdleMs ?? DEFAULTS.catchupIdleMs,
      inactiveThresholdMs: init.inactiveThresholdMs ?? DEFAULTS.inactiveThresholdMs,
      retry: init.retry ?? DEFAULTS.retry,
      apiPrefix: init.apiPrefix ?? '$JS.API',
    }
    if (this.init.inactiveThresholdMs < 2_000) {
      throw new RhioError('NATS_SOURCE_CONFIG', 'inactiveThresholdMs must be at least 2000')
    }
    if (this.init.expiresMs < 2 * this.init.heartbeatMs) {
      throw new RhioError('NATS_SOURCE_CONFIG', 'expiresMs must be at least twice heartbeatMs')
    }
    this.cursor = startSeq
    this.backoff = new Backoff(this.init.retry)
  }

  /** Starts watching the connection; idempotent. Reading also starts the source. */
  start(): void {
    if (this.started || this.stopper.signal.aborted) return
    this.started = true
    const iter = this.nc.status()
    this.statusIter = iter
    // A new stream leader: an R1 consumer lives on the node that led the stream
    // when it was created, and may be gone with it (a killed node answers
    // nothing, so only missed heartbeats would tell). Start a new consumer at
    // the cursor on the new leader at once. Without permission to subscribe to
    // advisories the subscription fails quietly and heartbeats remain.
    try {
      this.leaderSub = this.nc.subscribe(
        `$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.${this.init.stream}`,
        {
          callback: (err) => {
            if (err) return
            this.session?.end(
              'leader-changed',
              new RhioError('NATS_CONSUMER_CLOSED', `stream ${this.init.stream} has a new leader`),
            )
          },
        },
      )
    } catch {
      // connection closed: reading fails and reports it
    }
    void (async () => {
      for await (const s of iter) {
        if (s.type === 'disconnect') {
          this.disconnected = true
          const err = new RhioError('NATS_DISCONNECTED', 'disconnected from NATS')
          this.session?.end('disconnected', err)
          this.setHealth('Inactive', err)
        } else if (s.type === 'reconnect') {
          this.disconnected = false
          this.wakeup.wake()
        }
      }
    })().catch(() => {
      // The status iterator ends when the connection closes.
    })
  }

  /** Stops reading and deletes the consumer; idempotent. A pending read returns null. */
  stop(): Promise<void> {
    if (!this.stopper.signal.aborted) {
      this.stopper.abort(new RhioError('NATS_SOURCE_STOPPED', 'source stopped'))
      ;(this.statusIter as Partial<{ stop(): void }> | undefined)?.stop?.()
      this.leaderSub?.unsubscribe()
      this.session?.close()
      this.session = undefined
    }
    return Promise.resolve()
  }

  /** Stream sequence from which reading continues (last handed-out seq + 1, or startSeq). */
  get nextSeq(): number {
    return this.cursor
  }

  /** True once a catch-up source has delivered everything it will. */
  get done(): boolean {
    return this.finished
  }

  health(): ItemState {
    return { ...this.current }
  }

  stats(): SourceStats {
    return { ...this.counters, consumersEnded: { ...this.counters.consumersEnded } }
  }

  onEvent(listener: (event: SourceEvent) => void): () => void {
    return this.listeners.add(listener)
  }

  /**
   * The next messages in stream order (at least one, at most `max`), waiting
   * for them; null when a catch-up source is done or the source was stopped.
   * Messages handed out count as delivered: the source resumes after them.
   * Throws the signal's reason when `signal` aborts. One reader at a time.
   */
  async read(opts: { max?: number; signal?: AbortSignal } = {}): Promise<SourceMessage[] | null> {
    if (this.reading)
      throw new RhioError('NATS_SOURCE_BUSY', 'read() called while another read is pending')
    this.reading = true
    this.start()
    // read() is called in a loop: a linked signal detached after each call, not
    // AbortSignal.any, which leaves a reference on both sources every time
    const linked = opts.signal ? linkSignals(opts.signal, this.stopper.signal) : undefined
    const signal = linked?.signal ?? this.stopper.signal
    try {
      for (;;) {
        if (this.finished || this.stopper.signal.aborted) return null
        if (this.session === undefined) {
          await this.openSession(signal)
          continue
        }
        const r = await this.session.take(opts.max ?? Infinity, signal)
        if (!Array.isArray(r)) {
          if (r.reason === 'idle') this.finish()
          else this.sessionEnded(this.session, r)
          continue
        }
        const out = this.accept(r)
        if (out.length > 0) return out
      }
    } catch (err) {
      if (this.stopper.signal.aborted) return null
      throw err
    } finally {
      this.reading = false
      linked?.dispose()
    }
  }

  /**
   * Messages one by one. Leaving the loop early (break/return/throw) puts the
   * rest of the current batch back: `nextSeq` then follows the last message the
   * loop received, and reading again continues there.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<SourceMessage> {
    for (;;) {
      const batch = await this.read()
      if (batch === null) return
      let i = 0
      try {
        for (; i < batch.length; i++) yield batch[i] as SourceMessage
      } finally {
        const next = batch[i + 1]
        if (i < batch.length && next !== undefined) this.rewind(next.seq, batch.length - i - 1)
      }
    }
  }

  /** Un-delivers the last `count` handed-out messages, the first of which is `seq`. */
  private rewind(seq: number, count: number): void {
    this.cursor = seq
    this.counters.delivered -= count
    this.session?.close()
    this.session = undefined
    if (this.targetSeq !== undefined && seq <= this.targetSeq) this.finished = false
  }

  /** Applies the catch-up limit, advances the cursor. */
  private accept(batch: PulledMessage[]): SourceMessage[] {
    const out: SourceMessage[] = []
    for (const m of batch) {
      if (this.targetSeq !== undefined && m.seq > this.targetSeq) {
        this.finish()
        break
      }
      out.push({
        seq: m.seq,
        subject: m.subject,
        headers: m.headers,
        payload: m.payload,
        time: m.time,
      })
      this.cursor = m.seq + 1
      if (m.headerIssues > 0) this.counters.headerIssues++
      if (this.targetSeq !== undefined && m.seq >= this.targetSeq) {
        this.finish()
        break
      }
    }
    if (out.length > 0) {
      this.current.lastCheckTime = Date.now()
      this.counters.delivered += out.length
      this.failedSessions = 0
      this.backoff.reset()
    }
    return out
  }

  private finish(): void {
    if (this.finished) return
    this.finished = true
    this.listeners.emit({ type: 'caught-up', targetSeq: this.targetSeq ?? 0, nextSeq: this.cursor })
    this.session?.close()
    this.session = undefined
  }

  private async openSession(signal: AbortSignal): Promise<void> {
    // The first reopening after a failure is immediate; repeated failures back off.
    if (this.failedSessions > 1)
      await this.pause(signal, this.current.lastError ?? 'consumer failed', 'NATS_CONSUMER_FAILED')
    for (;;) {
      signal.throwIfAborted()
      if (this.disconnected) {
        // Requests sent now would be dropped by nats.js at reconnect and time out.
        await this.pause(signal, 'NATS_DISCONNECTED: waiting for NATS', 'NATS_DISCONNECTED')
        continue
      }
      try {
        this.jsm ??= await jetstreamManager(this.nc, {
          apiPrefix: this.init.apiPrefix,
          checkAPI: false,
          timeout: DEFAULTS.apiTimeoutMs,
        })
        if (this.init.mode === 'catchup' && this.targetSeq === undefined) {
          this.targetSeq = await this.catchupTarget(this.jsm)
        }
        if (this.targetSeq !== undefined && this.targetSeq < this.cursor) {
          this.setHealth('Active')
          this.finish()
          return
        }
        const session = await PullSession.open({
          nc: this.nc,
          jsm: this.jsm,
          apiPrefix: this.init.apiPrefix,
          stream: this.init.stream,
          filterSubject: this.init.filterSubject,
          startSeq: this.cursor,
          batchMessages: this.init.batchMessages,
          batchBytes: Math.max(this.init.batchBytes, 2 * this.maxMessageBytes()),
          ...this.pullTiming(),
          inactiveThresholdMs: this.init.inactiveThresholdMs,
          endWhenIdle: this.init.mode === 'catchup',
        })
        if (signal.aborted) {
          session.close()
          signal.throwIfAborted()
        }
        this.counters.consumersCreated++
        this.setHealth('Active')
        this.listeners.emit({
          type: 'consumer-created',
          consumer: session.consumer,
          startSeq: this.cursor,
          pending: session.numPending,
        })
        this.session = session
        return
      } catch (err) {
        if (signal.aborted) throw err
        const e = this.describeOpenError(err)
        this.setHealth('Inactive', e)
        // A request that went unanswered has already waited its (short) timeout:
        // ask again at once, so a consumer exists as soon as JetStream answers
        // (e.g. once its meta group has elected a new leader after a node died).
        const unanswered =
          findCause(err, (c): c is TimeoutError => c instanceof TimeoutError) !== undefined
        await this.pause(signal, describeError(e), e.code, unanswered)
      }
    }
  }

  /** Waits before the next attempt; a reconnect to NATS cuts the wait short. */
  private async pause(
    signal: AbortSignal,
    error: string,
    code: string,
    immediately = false,
  ): Promise<void> {
    const delayMs = immediately ? 0 : this.backoff.next()
    this.listeners.emit({ type: 'retry', error, code, delayMs })
    await this.wakeup.sleep(delayMs, signal)
  }

  private sessionEnded(session: PullSession, end: SessionEnd): void {
    session.close()
    this.session = undefined
    // A leader change is no failure: the next consumer starts at once.
    if (end.reason !== 'leader-changed') this.failedSessions++
    this.counters.consumersEnded[end.reason] = (this.counters.consumersEnded[end.reason] ?? 0) + 1
    this.listeners.emit({
      type: 'consumer-ended',
      consumer: session.consumer,
      reason: end.reason,
      error: describeError(end.error),
      resumeSeq: this.cursor,
    })
    if (
      end.reason === 'disconnected' ||
      end.reason === 'server-shutdown' ||
      end.reason === 'heartbeats-missed'
    ) {
      this.setHealth('Inactive', end.error)
    }
  }

  private describeOpenError(err: unknown): RhioError {
    const api = findCause(err, (e): e is JetStreamApiError => e instanceof JetStreamApiError)
    if (api?.code === 10059) {
      return new RhioError('NATS_STREAM_NOT_FOUND', `stream ${this.init.stream} not found`, {
        cause: err,
      })
    }
    if (api !== undefined) {
      return new RhioError(
        'NATS_CONSUMER_FAILED',
        `cannot read ${this.init.stream}: ${api.message}`,
        { cause: err },
      )
    }
    if (findCause(err, (e): e is TimeoutError => e instanceof TimeoutError) || this.nc.isClosed()) {
      return new RhioError('NATS_DISCONNECTED', 'NATS did not answer (disconnected or closed)', {
        cause: err,
      })
    }
    return new RhioError(
      'NATS_CONSUMER_FAILED',
      `cannot read ${this.init.stream}: ${describeError(err)}`,
      {
        cause: err,
      },
    )
  }

  /**
   * The sequence a catch-up ends at: the last message matching the filter now.
   * (Not the stream's last_seq: that message may not match or may be deleted.)
   * For `>` the stream's last_seq is used; should that message be gone, the
   * consumer running idle for `catchupIdleMs` ends the catch-up instead.
   */
  private async catchupTarget(jsm: JetStreamManager): Promise<number> {
    if (this.init.filterSubject === '>')
      return (await jsm.streams.info(this.init.stream)).state.last_seq
    const last = await jsm.streams.getMessage(this.init.stream, {
      last_by_subj: this.init.filterSubject,
    })
    return last?.seq ?? 0
  }

  private pullTiming(): { expiresMs: number; heartbeatMs: number } {
    const expiresMs = this.init.mode === 'catchup' ? this.init.catchupIdleMs : this.init.expiresMs
    return { expiresMs, heartbeatMs: Math.min(this.init.heartbeatMs, Math.floor(expiresMs / 2)) }
  }

  private maxMessageBytes(): number {
    return (this.nc.info?.max_payload ?? DEFAULTS.defaultMaxPayload) + DEFAULTS.messageOverhead
  }

  private setHealth(status: 'Active' | 'Inactive', error?: RhioError): void {
    const lastError = error ? describeError(error) : this.current.lastError
    const changed = status !== this.current.status || lastError !== this.current.lastError
    this.current = { status, lastError, lastCheckTime: Date.now() }
    if (changed) this.listeners.emit({ type: 'status', health: this.health() })
  }
}

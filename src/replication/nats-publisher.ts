/**
 * Publish side of message replication, one per `publish.nats_subjects` entry:
 * reads the user's existing stream with a subject filter and appends every
 * message to this node's author log (entry seq = stream sequence, so the log
 * can be rebuilt from the stream and re-signing gives the same entry ids).
 *
 * Skipped (but covered, so subscribers' heights move on): messages that carry
 * rhio provenance headers (loop prevention) and messages already published by
 * an earlier publication of the same stream whose filter matches too (so an
 * overlapping pair of publications never yields the same message twice).
 */
import { TimeoutError, type NatsConnection } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import type { Logger } from 'pino'
import { subjectMatches } from '../core/subject.js'
import { describeError, RhioError } from '../errors/index.js'
import type { AuthorLog } from '../log/author-log.js'
import { EntryTooLargeError } from '../log/author-log.js'
import { natsLogId } from '../core/selector.js'
import { findCause } from '../nats/failures.js'
import { hasRhioProvenance } from '../nats/headers.js'
import { JetStreamSource } from '../nats/source.js'
import type { MessageMetrics } from './metrics.js'
import { pause } from '../util/abort.js'
import { Backoff } from '../util/backoff.js'

/** Waiting for the stream (or NATS): 1 s, doubling to 10 s. */
const RETRY = { minMs: 1_000, maxMs: 10_000 }
/** How often a running publication checks whether its stream was recreated. */
const RECREATE_CHECK_MS = 30_000
/** JetStream API request timeout (see streamCreated). */
const API_TIMEOUT_MS = 1_000
const API_ATTEMPTS = 5

export interface NatsPublisherInit {
  stream: string
  subject: string
  /** Filters of earlier publications of the same stream (see file comment). */
  earlier: string[]
  /** Opens the author log for a log id (the stream's creation time is part of it). */
  openLog: (logId: string, subject: string) => Promise<AuthorLog>
  connection: (signal: AbortSignal) => Promise<NatsConnection>
  logger: Logger
  metrics?: MessageMetrics
  onMessage?: (subject: string) => void
  /** What reading the stream currently runs into (null: nothing). */
  onProblem?: (problem: string | null) => void
}

export class NatsPublisher {
  private abort = new AbortController()
  private task: Promise<void> | undefined
  private source: JetStreamSource | undefined
  private logId: string | undefined
  log: AuthorLog | undefined
  published = 0
  skipped = 0

  constructor(private readonly o: NatsPublisherInit) {}

  start(): void {
    this.task ??= this.run(this.abort.signal).catch((err: unknown) => {
      if (!this.abort.signal.aborted)
        this.o.logger.error({ err: describeError(err) }, 'publisher stopped')
    })
  }

  async stop(): Promise<void> {
    this.abort.abort()
    await this.source?.stop()
    await this.task
    await this.log?.drained().catch(() => {})
  }

  private async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(RETRY)
    while (!signal.aborted) {
      try {
        const nc = await this.o.connection(signal)
        const created = await streamCreated(nc, this.o.stream)
        const logId = natsLogId(this.o.subject, this.o.stream, created)
        // One AuthorLog per log id: a second one over the same store would sign
        // batches that overlap the first one's pending entries.
        if (this.log === undefined || this.logId !== logId) {
          await this.log?.drained().catch(() => {})
          this.log = await this.o.openLog(logId, this.o.subject)
          this.logId = logId
        }
        await this.pump(nc, this.log, created, signal)
        backoff.reset()
      } catch (err) {
        if (signal.aborted) return
        const msg = describeError(err)
        const delay = backoff.next()
        this.o.onProblem?.(`publishing ${this.o.subject} from stream ${this.o.stream}: ${msg}`)
        this.o.logger.warn(
          { stream: this.o.stream, subject: this.o.subject, err: msg, retry_ms: delay },
          'publisher waiting',
        )
        await pause(delay, signal)
      }
    }
  }

  /** Reads the stream from the log's head onwards until the stream is recreated or we stop. */
  private async pump(
    nc: NatsConnection,
    log: AuthorLog,
    created: number,
    signal: AbortSignal,
  ): Promise<void> {
    const source = new JetStreamSource(
      { nc },
      {
        stream: this.o.stream,
        filterSubject: this.o.subject,
        startSeq: log.head + 1,
        mode: 'live',
      },
    )
    this.source = source
    const what = `reading ${this.o.subject} from stream ${this.o.stream}`
    source.onEvent((e) => {
      // A deleted stream (its consumer goes with it) may come back as a new
      // one whose sequence starts over: start over, so the run loop compares
      // creation times and opens a new log if it is new.
      if (e.type === 'consumer-ended' || e.type === 'consumer-created' || e.type === 'retry')
        this.o.logger.debug({ stream: this.o.stream, subject: this.o.subject, ...e }, 'source')
      if (e.type === 'consumer-ended' && e.reason === 'consumer-deleted') void source.stop()
      if (e.type !== 'status') return
      if (e.health.status === 'Active') this.o.onProblem?.(null)
      else if (e.health.status === 'Inactive')
        this.o.onProblem?.(`${what}: ${e.health.lastError ?? 'inactive'}`)
      if (e.health.status === 'Inactive' && e.health.lastError?.includes('NATS_STREAM_NOT_FOUND'))
        void source.stop()
    })
    source.start()
    this.o.onProblem?.(null)
    this.o.logger.info(
      { stream: this.o.stream, subject: this.o.subject, from_seq: log.head + 1 },
      'publishing',
    )
    // Every 30 s, in the background (never holding the reading), check whether
    // the stream was recreated; an unanswered check (no leader for a moment)
    // is simply tried again at the next interval.
    let recreated = false
    const check = setInterval(() => {
      streamCreated(nc, this.o.stream).then(
        (now) => {
          if (now === created || signal.aborted) return
          recreated = true
          void source.stop()
        },
        () => {},
      )
    }, RECREATE_CHECK_MS)
    check.unref()
    try {
      while (!signal.aborted) {
        const batch = await source.read({ max: 1000, signal })
        if (!batch) return
        for (const m of batch) {
          const skip = hasRhioProvenance(m.headers)
            ? 'provenance'
            : this.o.earlier.some((f) => subjectMatches(f, m.subject))
              ? 'overlap'
              : undefined
          if (skip !== undefined) {
            this.skipped++
            this.o.metrics?.skipped.inc({ stream: this.o.stream, reason: skip })
            log.advance(m.seq)
            continue
          }
          try {
            const more = log.append({
              seq: m.seq,
              body: { kind: 'nats', subject: m.subject, headers: m.headers, payload: m.payload },
            })
            this.published++
            this.o.onMessage?.(m.subject)
            if (!more) await log.drained()
          } catch (err) {
            if (!(err instanceof EntryTooLargeError)) throw err
            // Larger than any peer accepts: refused here, visibly, and skipped.
            this.skipped++
            this.o.metrics?.skipped.inc({ stream: this.o.stream, reason: 'too-large' })
            log.advance(m.seq)
            this.o.onProblem?.(
              `message seq ${m.seq} on ${m.subject} not replicated: ${err.message}`,
            )
            this.o.logger.error(
              { seq: m.seq, subject: m.subject, err: err.message },
              'message too large to replicate',
            )
          }
        }
      }
    } finally {
      clearInterval(check)
      if (recreated)
        this.o.logger.warn({ stream: this.o.stream }, 'stream was recreated: starting a new log')
      await source.stop()
      this.source = undefined
    }
  }
}

/**
 * The stream's creation time. JetStream API requests get a short timeout and
 * are sent again while unanswered (a stream without a leader for a moment),
 * up to API_ATTEMPTS times.
 */
async function streamCreated(nc: NatsConnection, stream: string): Promise<number> {
  const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: API_TIMEOUT_MS })
  for (let attempt = 1; ; attempt++) {
    try {
      const info = await jsm.streams.info(stream)
      return Date.parse(info.created)
    } catch (err) {
      const unanswered = findCause(err, (e): e is TimeoutError => e instanceof TimeoutError)
      if (unanswered && attempt < API_ATTEMPTS && !nc.isClosed()) continue
      throw new RhioError('NATS_STREAM_NOT_FOUND', `stream '${stream}' is not available`, {
        cause: err,
      })
    }
  }
}

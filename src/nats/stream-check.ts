/**
 * Checks the configured JetStream streams periodically and reports them to
 * the HealthModel: a published stream must exist; a subscribed stream must
 * exist and capture the subscribed subject (rhio writes received messages by
 * subject, so some local stream has to store them). rhio never creates streams.
 *
 * While NATS is not connected the streams cannot be checked and are reported
 * Unknown. Until the replication components report their own view of the
 * streams, this is the truthful status /health shows.
 */
import { jetstreamManager, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream'
import type { Logger } from 'pino'
import { subjectCovers } from '../config/index.js'
import { describeError } from '../errors/index.js'
import { pause, Wakeup } from '../util/abort.js'
import type { NatsConnectionComponent } from './connection.js'
import type { Component, HealthModel, ItemState } from '../component/index.js'

/** One request per configured stream every 5 s is negligible load and quick to notice. */
export const STREAM_CHECK_INTERVAL_MS = 5_000
/** A JetStream API request that takes longer than this counts as a failed check. */
export const STREAM_CHECK_TIMEOUT_MS = 3_000

export interface StreamCheckInit {
  nats: NatsConnectionComponent
  health: HealthModel
  logger: Logger
  intervalMs?: number
}

type Lookup = { ok: true; info: StreamInfo } | { ok: false; error: string }

export class StreamCheckComponent implements Component {
  readonly name = 'stream-check'
  private ac: AbortController | undefined
  private done: Promise<void> | undefined
  private readonly wakeup = new Wakeup()
  private unsubscribe: (() => void) | undefined
  private readonly lastLogged = new Map<string, string>()

  constructor(private readonly init: StreamCheckInit) {}

  async start(_signal?: AbortSignal): Promise<void> {
    if (this.ac) return
    const ac = new AbortController()
    this.ac = ac
    this.unsubscribe = this.init.nats.onState((s) => {
      if (s.status !== 'Connected') this.markUnknown(`NATS is ${s.status.toLowerCase()}`)
      this.wakeup.wake() // check at once after (re)connecting
    })
    const s = this.init.nats.natsState()
    if (s.status !== 'Connected') this.markUnknown(`NATS is ${s.status.toLowerCase()}`)
    this.done = this.loop(ac.signal)
  }

  async stop(): Promise<void> {
    if (!this.ac || this.ac.signal.aborted) return
    this.unsubscribe?.()
    this.ac.abort()
    this.wakeup.wake()
    await this.done
  }

  /** Checks every configured stream once (exposed for tests). */
  async checkOnce(jsm: JetStreamManager): Promise<void> {
    const { health } = this.init
    const cache = new Map<string, Promise<Lookup>>()
    const lookup = (stream: string): Promise<Lookup> => {
      let p = cache.get(stream)
      if (!p) {
        p = jsm.streams.info(stream).then(
          (info): Lookup => ({ ok: true, info }),
          (err: unknown): Lookup => ({ ok: false, error: describeError(err) }),
        )
        cache.set(stream, p)
      }
      return p
    }
    for (const e of health.publishedStreams()) {
      const r = await lookup(e.stream)
      const state = this.state(r.ok ? null : `stream '${e.stream}': ${r.error}`)
      this.report(`published ${e.stream} ${e.subject}`, state)
      health.setPublishedStream(e.stream, e.subject, state)
    }
    for (const e of health.subscribedStreams()) {
      const r = await lookup(e.stream)
      let problem: string | null = null
      if (!r.ok) problem = `stream '${e.stream}': ${r.error}`
      else if (!(r.info.config.subjects ?? []).some((s) => subjectCovers(s, e.subject))) {
        const subjects = (r.info.config.subjects ?? []).join(', ') || 'none'
        problem =
          `stream '${e.stream}' does not capture subject '${e.subject}' ` +
          `(its subjects: ${subjects}); received messages would have nowhere to go`
      }
      const state = this.state(problem)
      this.report(`subscribed ${e.source} ${e.stream} ${e.subject}`, state)
      health.setSubscribedStream(e.source, e.stream, e.subject, state)
    }
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const { health } = this.init
    if (health.publishedStreams().length + health.subscribedStreams().length === 0) return
    let jsm: JetStreamManager | undefined
    let conn: unknown
    while (!signal.aborted) {
      const nc = this.init.nats.connection
      if (nc && this.init.nats.natsState().status === 'Connected') {
        try {
          if (!jsm || conn !== nc) {
            jsm = await jetstreamManager(nc, { timeout: STREAM_CHECK_TIMEOUT_MS })
            conn = nc
          }
          await this.checkOnce(jsm)
        } catch (err) {
          jsm = undefined
          this.markUnknown(`cannot query JetStream: ${describeError(err)}`)
        }
      }
      await this.pause(signal)
    }
  }

  /** Sleeps one interval, or until woken by a NATS state change or stop(). */
  private async pause(signal: AbortSignal): Promise<void> {
    await pause(this.init.intervalMs ?? STREAM_CHECK_INTERVAL_MS, signal, this.wakeup)
  }

  /** Streams that cannot be checked are Unknown; last_check_time stays the last real check. */
  private markUnknown(reason: string): void {
    const { health } = this.init
    const unknown = (last: number | null): ItemState => ({
      status: 'Unknown',
      lastError: reason,
      lastCheckTime: last,
    })
    for (const e of health.publishedStreams()) {
      health.setPublishedStream(e.stream, e.subject, unknown(e.state.lastCheckTime))
    }
    for (const e of health.subscribedStreams()) {
      health.setSubscribedStream(e.source, e.stream, e.subject, unknown(e.state.lastCheckTime))
    }
  }

  private state(problem: string | null): ItemState {
    return {
      status: problem === null ? 'Active' : 'Inactive',
      lastError: problem,
      lastCheckTime: Date.now(),
    }
  }

  /** Logs a stream's status when it changes (not on every check). */
  private report(key: string, state: ItemState): void {
    const text = state.lastError ?? 'ok'
    if (this.lastLogged.get(key) === text) return
    this.lastLogged.set(key, text)
    if (state.lastError) this.init.logger.warn({ check: key }, state.lastError)
    else this.init.logger.info({ check: key }, 'stream ok')
  }
}

/**
 * The node's one connection to its local NATS server.
 *
 * rhio starts while NATS is down: the first connection is made in the
 * background, retried by connectLoop with a jittered exponential backoff
 * capped at 5 s (each failure fills `last_error`; the log says so at once and
 * then at RepeatThrottle's intervals, not at every try). Once connected, the
 * client reconnects by itself forever (`maxReconnectAttempts: -1`) with the
 * same backoff, for every auth method alike (username/password, token, nkey
 * seed — the original lost its reconnect options for nkey and token). State
 * changes go to the HealthModel and the log.
 *
 * Other components wait for `connected()` and take `connection`. If the client
 * ever closes for good (e.g. repeated authorization failures), a new
 * connection is made and listeners see Closed → Connected; they must then take
 * `connection` again.
 */
import {
  connect,
  nkeyAuthenticator,
  PermissionViolationError,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
  type Authenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from '@nats-io/transport-node'
import type { Logger } from 'pino'

import type { Config } from '../config/index.js'
import { parseNatsEndpoints } from '../config/index.js'
import { describeError } from '../errors/index.js'
import type { Component, HealthModel, NatsState, NatsStatus } from '../component/index.js'
import { sleep } from '../util/abort.js'
import { Backoff, RepeatThrottle } from '../util/backoff.js'
import { Listeners } from '../util/listeners.js'
import { WaitQueue } from '../util/wait-queue.js'

/** Reconnect backoff: first retry after ~MIN, doubling, capped (jittered) at MAX. */
export const NATS_RECONNECT_MIN_MS = 250
export const NATS_RECONNECT_MAX_MS = 5_000
/** Pings every 20 s (3 unanswered → reconnect) notice a dead link within a minute. */
export const NATS_PING_INTERVAL_MS = 20_000
/** A handshake with a local server takes milliseconds; 5 s as the original's client. */
export const NATS_CONNECT_TIMEOUT_MS = 5_000
/** How long stop() lets drain() flush before closing hard. */
export const NATS_DRAIN_TIMEOUT_MS = 2_000

export interface NatsConnectionInit {
  nats: Config['nats']
  logger: Logger
  health?: HealthModel
  /** Client name shown by the server. */
  name?: string
  minReconnectDelayMs?: number
  maxReconnectDelayMs?: number
}

/** The authenticator for `nats.credentials` (undefined without credentials). */
export function natsAuthenticator(creds: Config['nats']['credentials']): Authenticator | undefined {
  if (!creds) return undefined
  if (creds.nkey !== undefined) return nkeyAuthenticator(new TextEncoder().encode(creds.nkey))
  if (creds.token !== undefined) return tokenAuthenticator(creds.token)
  if (creds.username !== undefined) {
    return usernamePasswordAuthenticator(creds.username, creds.password ?? '')
  }
  return undefined
}

export class NatsConnectionComponent implements Component {
  readonly name = 'nats'
  private nc: NatsConnection | undefined
  private ac: AbortController | undefined
  /** Reconnects of the client (nats.js asks before each dial). */
  private readonly reconnects: Backoff
  private nextDelay: number
  /** A subscription to JetStream advisories was refused (logged once). */
  private advisoriesRefused = false
  private state: NatsState
  private readonly listeners = new Listeners<NatsState>()
  private readonly waiters = new WaitQueue<null>()
  private readonly servers: string[]

  constructor(private readonly init: NatsConnectionInit) {
    this.servers = parseNatsEndpoints(init.nats.endpoint)
    this.reconnects = new Backoff(this.policy())
    this.nextDelay = this.policy().minMs
    this.state = { status: 'Connecting', server: null, lastError: null, since: Date.now() }
  }

  /** The live connection, once connected (undefined before and after). */
  get connection(): NatsConnection | undefined {
    return this.nc
  }

  natsState(): NatsState {
    return { ...this.state }
  }

  /** Calls `listener` on every state change; returns an unsubscribe function. */
  onState(listener: (state: NatsState) => void): () => void {
    return this.listeners.add(listener)
  }

  /** Resolves with the connection once connected; rejects when `signal` aborts or on stop(). */
  async connected(signal?: AbortSignal): Promise<NatsConnection> {
    for (;;) {
      const nc = this.nc
      if (nc && this.state.status === 'Connected') return nc
      if (this.ac?.signal.aborted) throw new Error('nats connection stopped')
      await this.waiters.wait(null, signal)
    }
  }

  private policy(): { minMs: number; maxMs: number } {
    return {
      minMs: this.init.minReconnectDelayMs ?? NATS_RECONNECT_MIN_MS,
      maxMs: this.init.maxReconnectDelayMs ?? NATS_RECONNECT_MAX_MS,
    }
  }

  async start(_signal?: AbortSignal): Promise<void> {
    if (this.ac) return
    const ac = new AbortController()
    this.ac = ac
    this.init.logger.info({ servers: this.servers }, 'nats: connecting')
    void this.connectLoop(ac.signal)
  }

  async stop(): Promise<void> {
    const ac = this.ac
    if (!ac || ac.signal.aborted) return
    ac.abort()
    this.waiters.rejectAll(new Error('nats connection stopped'))
    const nc = this.nc
    this.nc = undefined
    if (nc && !nc.isClosed()) {
      const drained = nc.drain().catch(() => undefined)
      const timeout = new AbortController()
      await Promise.race([drained, sleep(NATS_DRAIN_TIMEOUT_MS, timeout.signal).catch(() => {})])
      timeout.abort()
      if (!nc.isClosed()) await nc.close().catch(() => undefined)
    }
    // A connect attempt still waiting for its next try is not awaited: it
    // gives up at its next attempt (the abort check in reconnectToServer).
    this.setState('Closed', null)
  }

  private options(signal: AbortSignal): NodeConnectionOptions {
    const auth = natsAuthenticator(this.init.nats.credentials)
    return {
      servers: this.servers,
      name: this.init.name ?? 'rhio',
      maxReconnectAttempts: -1,
      // a first connect that fails rejects, so connectLoop can report why and retry
      waitOnFirstConnect: false,
      timeout: NATS_CONNECT_TIMEOUT_MS,
      pingInterval: NATS_PING_INTERVAL_MS,
      maxPingOut: 3,
      // nats.js otherwise captures two stack traces per request (every JetStream
      // publish): ~35 % of the sink's CPU, measured in bench/nats-sink.ts.
      noAsyncTraces: true,
      // Called once per dial: count attempts, pick the next jittered delay, and
      // refuse to dial once stopping.
      reconnectToServer: () => {
        if (signal.aborted) throw new Error('nats connection stopped')
        this.nextDelay = this.reconnects.next()
        return null
      },
      reconnectDelayHandler: () => this.nextDelay,
      ...(auth ? { authenticator: auth } : {}),
    }
  }

  private async connectLoop(signal: AbortSignal): Promise<void> {
    const failures = new Backoff(this.policy())
    const throttle = new RepeatThrottle()
    while (!signal.aborted) {
      this.setState('Connecting', this.state.lastError)
      try {
        const nc = await connect(this.options(signal))
        if (signal.aborted) {
          await nc.close()
          return
        }
        this.attach(nc, signal)
        return
      } catch (err) {
        if (signal.aborted) return
        const msg = describeError(err)
        const { log, suppressed } = throttle.hit()
        if (log) {
          this.init.logger.warn(
            {
              err: msg,
              servers: this.servers,
              attempts: failures.attempts + 1,
              ...(suppressed > 0 ? { failures_since_last_report: suppressed } : {}),
            },
            'nats: cannot connect; retrying in the background',
          )
        }
        this.setState('Connecting', msg)
        try {
          await sleep(failures.next(), signal)
        } catch {
          return
        }
      }
    }
  }

  private attach(nc: NatsConnection, signal: AbortSignal): void {
    this.nc = nc
    this.resetBackoff()
    this.init.logger.info({ server: nc.getServer() }, 'nats: connected')
    this.setState('Connected', null, nc.getServer())
    this.waiters.releaseWhere()
    void this.watch(nc)
    void nc.closed().then((err) => {
      if (signal.aborted || this.nc !== nc) return
      // Closed for good although not stopped: report it and connect anew.
      const msg = err ? describeError(err) : 'connection closed'
      this.init.logger.error({ err: msg }, 'nats: connection closed; reconnecting')
      this.nc = undefined
      this.setState('Closed', msg)
      void this.connectLoop(signal)
    })
  }

  private async watch(nc: NatsConnection): Promise<void> {
    const log = this.init.logger
    for await (const s of nc.status()) {
      if (this.nc !== nc) return
      switch (s.type) {
        case 'disconnect':
          log.warn({ server: s.server }, 'nats: disconnected')
          this.setState('Disconnected', `disconnected from ${s.server}`, s.server)
          break
        case 'reconnect':
          this.resetBackoff()
          log.info({ server: s.server }, 'nats: reconnected')
          this.setState('Connected', null, s.server)
          this.waiters.releaseWhere()
          break
        case 'error':
          if (isOptionalSubscription(s.error)) {
            // Stream leader-change advisories are optional: without them a
            // leader change is noticed by missed heartbeats (seconds later).
            if (!this.advisoriesRefused) {
              this.advisoriesRefused = true
              log.info(
                { subject: s.error.subject },
                'nats: leader-change advisories not permitted; leader changes are noticed by missed heartbeats instead',
              )
            }
            break
          }
          log.warn({ err: describeError(s.error) }, 'nats: server error')
          this.setState(this.state.status, describeError(s.error))
          break
        case 'staleConnection':
          log.warn('nats: stale connection')
          break
        case 'ldm':
          log.info({ server: s.server }, 'nats: server entering lame duck mode')
          break
        case 'slowConsumer':
          log.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'nats: slow consumer')
          break
        default:
          log.trace({ status: s.type }, 'nats: status')
      }
    }
  }

  private resetBackoff(): void {
    this.reconnects.reset()
    this.nextDelay = this.policy().minMs
  }

  private setState(status: NatsStatus, lastError: string | null, server?: string): void {
    const prev = this.state
    const next: NatsState = {
      status,
      lastError,
      server: server ?? prev.server ?? this.servers.join(','),
      since: status === prev.status ? prev.since : Date.now(),
    }
    this.state = next
    this.init.health?.setNats({
      status: next.status,
      server: next.server,
      lastError: next.lastError,
    })
    if (prev.status !== next.status || prev.lastError !== next.lastError) {
      this.listeners.emit({ ...next })
    }
  }
}

/**
 * A refused subscription rhio can do without: JetStream advisories
 * (`$JS.EVENT.ADVISORY.…`, see nats/source.ts), which a narrowly permitted
 * user may not read.
 */
function isOptionalSubscription(err: Error): err is Error & { subject: string } {
  return (
    err instanceof PermissionViolationError &&
    err.operation === 'subscription' &&
    err.subject.startsWith('$JS.EVENT.ADVISORY.')
  )
}

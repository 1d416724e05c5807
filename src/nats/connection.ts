/**
 * The node's one connection to its local NATS server.
 *
 * rhio starts while NATS is down: the connection is made in the background
 * (`waitOnFirstConnect`), retried forever (`maxReconnectAttempts: -1`) with a
 * jittered exponential backoff capped at 5 s, for every auth method alike
 * (username/password, token, nkey seed — the original lost its reconnect
 * options for nkey and token). State changes go to the HealthModel and the log.
 *
 * Other components wait for `connected()` and take `connection`. If the client
 * ever closes for good (e.g. repeated authorization failures), a new
 * connection is made and listeners see Closed → Connected; they must then take
 * `connection` again.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import {
  connect,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
  type Authenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from '@nats-io/transport-node'
import type { Logger } from 'pino'
import type { Config } from '../config/index.js'
import { parseNatsEndpoints } from '../config/index.js'
import { describeError } from '../errors.js'
import type { Component } from '../node/component.js'
import type { HealthModel, NatsState, NatsStatus } from '../node/health.js'

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

/** Equal-jitter exponential backoff: half fixed, half random, capped. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 20))
  return Math.round(base / 2 + (Math.random() * base) / 2)
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

type Listener = (state: NatsState) => void

export class NatsConnectionComponent implements Component {
  readonly name = 'nats'
  private nc: NatsConnection | undefined
  private ac: AbortController | undefined
  private attempt = 0
  private nextDelay: number
  private state: NatsState
  private readonly listeners = new Set<Listener>()
  private readonly waiters = new Set<{
    resolve: (nc: NatsConnection) => void
    reject: (err: Error) => void
  }>()
  private readonly servers: string[]

  constructor(private readonly init: NatsConnectionInit) {
    this.servers = parseNatsEndpoints(init.nats.endpoint)
    this.nextDelay = init.minReconnectDelayMs ?? NATS_RECONNECT_MIN_MS
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
  onState(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Resolves with the connection once connected; rejects when `signal` aborts or on stop(). */
  connected(signal?: AbortSignal): Promise<NatsConnection> {
    const nc = this.nc
    if (nc && this.state.status === 'Connected') return Promise.resolve(nc)
    if (this.ac?.signal.aborted) return Promise.reject(new Error('nats connection stopped'))
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (c: NatsConnection): void => {
          signal?.removeEventListener('abort', onAbort)
          resolve(c)
        },
        reject: (err: Error): void => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      const onAbort = (): void => {
        this.waiters.delete(waiter)
        reject(signal?.reason ?? new Error('aborted'))
      }
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiters.add(waiter)
    })
  }

  private wakeWaiters(nc: NatsConnection): void {
    for (const w of [...this.waiters]) {
      this.waiters.delete(w)
      w.resolve(nc)
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
    for (const w of [...this.waiters]) {
      this.waiters.delete(w)
      w.reject(new Error('nats connection stopped'))
    }
    const nc = this.nc
    this.nc = undefined
    if (nc && !nc.isClosed()) {
      const drained = nc.drain().catch(() => undefined)
      const timer = sleep(NATS_DRAIN_TIMEOUT_MS, undefined, { ref: false })
      await Promise.race([drained, timer])
      if (!nc.isClosed()) await nc.close().catch(() => undefined)
    }
    // A connect attempt still waiting for its next try is not awaited: it
    // gives up at its next attempt (the abort check in reconnectToServer).
    this.setState('Closed', null)
  }

  private options(signal: AbortSignal): NodeConnectionOptions {
    const min = this.init.minReconnectDelayMs ?? NATS_RECONNECT_MIN_MS
    const max = this.init.maxReconnectDelayMs ?? NATS_RECONNECT_MAX_MS
    const auth = natsAuthenticator(this.init.nats.credentials)
    return {
      servers: this.servers,
      name: this.init.name ?? 'rhio',
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
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
        this.nextDelay = backoffDelay(this.attempt++, min, max)
        return null
      },
      reconnectDelayHandler: () => this.nextDelay,
      ...(auth ? { authenticator: auth } : {}),
    }
  }

  private async connectLoop(signal: AbortSignal): Promise<void> {
    let failures = 0
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
        this.init.logger.warn({ err: msg, servers: this.servers }, 'nats: cannot connect')
        this.setState('Connecting', msg)
        const min = this.init.minReconnectDelayMs ?? NATS_RECONNECT_MIN_MS
        const max = this.init.maxReconnectDelayMs ?? NATS_RECONNECT_MAX_MS
        try {
          await sleep(backoffDelay(failures++, min, max), undefined, { signal })
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
    this.wakeWaiters(nc)
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
          this.wakeWaiters(nc)
          break
        case 'error':
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
    this.attempt = 0
    this.nextDelay = this.init.minReconnectDelayMs ?? NATS_RECONNECT_MIN_MS
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
      for (const l of this.listeners) l({ ...next })
    }
  }
}

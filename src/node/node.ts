/**
 * The composition root: one rhio node is an ordered list of components.
 *
 *   http         GET /health, GET /metrics (first up, last down, so probes see shutdown)
 *   nats         connection to the local NATS server (background, retried forever)
 *   stream-check periodic JetStream stream checks for /health
 *   …            later: p2p host, message replication, blob replication (add())
 *
 * start() starts them in this order; stop() stops them in reverse order within
 * a deadline, logging each step.
 */
import { Registry } from 'prom-client'
import type { Config } from '../config/index.js'
import { describeError, RhioError } from '../errors.js'
import { createHttpServer, type HttpServer } from '../http/server.js'
import { createMetrics, type RhioMetrics } from '../http/metrics.js'
import type { NodeIdentity } from '../identity/index.js'
import type { Logger, LoggerFactory } from '../logging/index.js'
import { NatsConnectionComponent } from '../nats/connection.js'
import { ReplicationComponent } from '../replication/component.js'
import type { Component } from './component.js'
import { HealthModel } from './health.js'
import { StreamCheckComponent } from './stream-check.js'
import { RHIO_VERSION } from './version.js'

/** Graceful shutdown must finish within this time (Kubernetes grants 30 s by default). */
export const SHUTDOWN_DEADLINE_MS = 10_000
/**
 * Once a stuck component has used up the deadline, each later component still
 * gets this long, so HTTP and NATS close cleanly instead of being abandoned.
 */
export const STOP_MIN_GRACE_MS = 500

export interface RhioNodeInit {
  config: Config
  identity: NodeIdentity
  logs: LoggerFactory
  /** Defaults to a fresh Registry with rhio's metrics and process metrics. */
  registry?: Registry
  /** How often configured streams are checked (default 5 s). */
  streamCheckIntervalMs?: number
  /** Heartbeat of live sync sessions in ms (tests shorten it). */
  heartbeatMs?: number
}

export interface StopResult {
  /** True when every component stopped without error within the deadline. */
  clean: boolean
  failed: string[]
}

type Phase = 'new' | 'starting' | 'running' | 'stopping' | 'stopped'

export class RhioNode implements AsyncDisposable {
  readonly config: Config
  readonly identity: NodeIdentity
  readonly logs: LoggerFactory
  readonly registry: Registry
  readonly metrics: RhioMetrics
  readonly health: HealthModel
  readonly http: HttpServer
  readonly nats: NatsConnectionComponent
  readonly replication: ReplicationComponent
  private readonly log: Logger
  private readonly components: Component[] = []
  private readonly started: Component[] = []
  private phase: Phase = 'new'
  private stopping: Promise<StopResult> | undefined

  constructor(init: RhioNodeInit) {
    this.config = init.config
    this.identity = init.identity
    this.logs = init.logs
    this.log = init.logs.forComponent('rhio:node')
    this.registry = init.registry ?? new Registry()
    this.metrics = createMetrics(this.registry)
    this.health = new HealthModel({
      config: init.config,
      publicKeyHex: init.identity.publicKeyHex,
      version: RHIO_VERSION,
    })
    this.http = createHttpServer({
      health: this.health,
      registry: this.registry,
      logger: init.logs.forComponent('rhio:http'),
      host: init.config.http_bind_host,
      port: init.config.http_bind_port,
    })
    this.nats = new NatsConnectionComponent({
      nats: init.config.nats,
      logger: init.logs.forComponent('rhio:nats'),
      health: this.health,
    })
    const streamCheck = new StreamCheckComponent({
      nats: this.nats,
      health: this.health,
      logger: init.logs.forComponent('rhio:streams'),
      ...(init.streamCheckIntervalMs !== undefined
        ? { intervalMs: init.streamCheckIntervalMs }
        : {}),
    })
    this.replication = new ReplicationComponent({
      config: init.config,
      identity: init.identity,
      logs: init.logs,
      registry: this.registry,
      metrics: this.metrics,
      health: this.health,
      nats: this.nats,
      ...(init.heartbeatMs !== undefined ? { heartbeatMs: init.heartbeatMs } : {}),
    })
    this.components.push(this.http, this.nats, streamCheck, this.replication)
  }

  /** Appends a component (before start); it starts after the ones already listed. */
  add(component: Component): this {
    if (this.phase !== 'new') throw new Error(`cannot add ${component.name}: node already started`)
    if (this.components.some((c) => c.name === component.name)) {
      throw new Error(`a component named ${component.name} is already registered`)
    }
    this.components.push(component)
    return this
  }

  /** Names of the components in start order. */
  componentNames(): string[] {
    return this.components.map((c) => c.name)
  }

  /**
   * Starts every component in order. If one fails, the ones already started
   * are stopped again and NODE_START_FAILED is thrown. When `signal` aborts,
   * no further component is started (the caller then calls stop()).
   */
  async start(signal: AbortSignal = new AbortController().signal): Promise<void> {
    if (this.phase !== 'new') return
    this.phase = 'starting'
    this.log.info(
      {
        public_key: this.identity.publicKeyHex,
        network_id: this.config.network_id,
        version: RHIO_VERSION,
      },
      'starting rhio node',
    )
    for (const c of this.components) {
      if (signal.aborted) return
      this.log.debug({ step: c.name }, `start: ${c.name}`)
      try {
        await c.start(signal)
        this.started.push(c)
      } catch (err) {
        this.log.error({ err: describeError(err), step: c.name }, `start: ${c.name} failed`)
        await this.stop()
        throw new RhioError('NODE_START_FAILED', `cannot start ${c.name}: ${describeError(err)}`, {
          cause: err,
        })
      }
    }
    this.phase = 'running'
    this.log.info({ components: this.componentNames() }, 'rhio node running')
  }

  /**
   * Stops started components in reverse order within `deadlineMs` (a component
   * that misses it is abandoned and reported; later ones still get
   * STOP_MIN_GRACE_MS each). Idempotent.
   */
  stop(opts: { deadlineMs?: number } = {}): Promise<StopResult> {
    this.stopping ??= this.doStop(opts.deadlineMs ?? SHUTDOWN_DEADLINE_MS)
    return this.stopping
  }

  private async doStop(deadlineMs: number): Promise<StopResult> {
    this.phase = 'stopping'
    const deadline = Date.now() + deadlineMs
    const failed: string[] = []
    for (const c of [...this.started].reverse()) {
      const left = Math.max(deadline - Date.now(), STOP_MIN_GRACE_MS)
      this.log.info({ step: c.name }, `shutdown: stopping ${c.name}`)
      let timer: NodeJS.Timeout | undefined
      const outcome = await Promise.race([
        c.stop().then(
          () => 'ok' as const,
          (err: unknown) => describeError(err),
        ),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), left)
        }),
      ])
      clearTimeout(timer)
      if (outcome === 'timeout') {
        failed.push(c.name)
        this.log.error({ step: c.name }, `shutdown: ${c.name} did not stop before the deadline`)
      } else if (outcome !== 'ok') {
        failed.push(c.name)
        this.log.error({ step: c.name, err: outcome }, `shutdown: stopping ${c.name} failed`)
      }
    }
    this.started.length = 0
    this.phase = 'stopped'
    this.log.info({ clean: failed.length === 0 }, 'shutdown complete')
    return { clean: failed.length === 0, failed }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }
}

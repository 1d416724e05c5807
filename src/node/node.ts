/**
 * The composition root: one rhio node is an ordered list of components, each
 * built here with its collaborators.
 *
 *   http         GET /health, /metrics, the status page (first up, last down, so probes see shutdown)
 *   nats         connection to the local NATS server (background, retried forever)
 *   stream-check periodic JetStream stream checks for /health
 *   state        durable state (NATS KV or data_dir): heights, transfer progress, epochs
 *   p2p          libp2p host, peers, sync protocol, frame caches under data_dir/logs
 *   messages     NATS subjects: publishers (stream → log) and subscribers (log → stream)
 *   blobs        S3 buckets: publishers, subscribers, transfers, provider
 *
 * start() starts them in this order; stop() first lets each (in reverse order)
 * stop taking new work, then stops them in reverse order within a deadline,
 * logging each step.
 */
import { Registry } from 'prom-client'
import { createMetrics, HealthModel, type Component, type RhioMetrics } from '../component/index.js'
import type { Config, ConfigWarning } from '../config/index.js'
import { networkIdHash } from '../core/network-id.js'
import { describeError, RhioError } from '../errors/index.js'
import {
  peersSection,
  reachabilitySection,
  servingSection,
  syncSection,
  transfersSection,
} from '../http/health-sections.js'
import { createHttpServer, type HttpServer } from '../http/server.js'
import { readSearchDomains } from '../http/local-domains.js'
import type { NodeIdentity } from '../identity/index.js'
import type { Logger, LoggerFactory } from '../logging/index.js'
import { NatsConnectionComponent } from '../nats/connection.js'
import { StreamCheckComponent } from '../nats/stream-check.js'
import { BlobReplication } from '../replication/blobs.js'
import { MessageReplication } from '../replication/messages.js'
import { PublicationCheck } from '../replication/publication-check.js'
import { P2PComponent } from './p2p-component.js'
import { StateComponent } from './state-component.js'
import { TrafficSampler } from './traffic.js'
import { timeLimit } from '../util/abort.js'
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
  /** Keys the configuration loader ignored; /health lists them as `config_warnings`. */
  configWarnings?: readonly ConfigWarning[]
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
  readonly state: StateComponent
  readonly p2p: P2PComponent
  readonly messages: MessageReplication
  readonly blobs: BlobReplication
  private readonly log: Logger
  private readonly traffic: TrafficSampler
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
      allowedHosts: init.config.http_allowed_hosts,
      localDomains: readSearchDomains(),
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
    const { logs, config } = init
    const shared = { health: this.health, metrics: this.metrics, registry: this.registry, logs }
    this.state = new StateComponent({ nats: this.nats, logs }, config)
    this.p2p = new P2PComponent(
      { identity: init.identity, state: this.state.store, logs, registry: this.registry },
      { config, ...(init.heartbeatMs !== undefined ? { heartbeatMs: init.heartbeatMs } : {}) },
    )
    const network = (): P2PComponent['node'] => this.p2p.node
    this.messages = new MessageReplication({ ...shared, nats: this.nats, network }, config)
    this.blobs = new BlobReplication(
      {
        ...shared,
        nats: this.nats,
        state: this.state.store,
        network: () => {
          const p2p = this.p2p.node
          return {
            host: p2p.host,
            penalties: p2p.penalties,
            hello: p2p.hello,
            publish: (info, filters) => p2p.publish(info, filters),
            subscribe: (selector, consumer) => p2p.subscribe(selector, consumer),
          }
        },
      },
      { config, networkId: networkIdHash(config.network_id) },
    )
    // /health's additive sections, computed when it is rendered
    this.health.provideSection('transfers', () => {
      const t = this.blobs.status()
      const p2p = this.p2p.current
      return (
        t &&
        transfersSection(t, (id) => {
          const peer = p2p?.peers.get(id)
          return peer && p2p ? p2p.path(peer) : { via: 'none' }
        })
      )
    })
    this.health.provideSection('serving', () => {
      const provider = this.blobs.provider
      return provider && servingSection(provider.outbound())
    })
    this.health.provideSection('peers', () => {
      const p2p = this.p2p.current
      return p2p && peersSection(p2p.peers.list(), (p) => p2p.path(p))
    })
    this.health.provideSection('reachability', () => {
      const p2p = this.p2p.current
      return p2p && reachabilitySection(p2p.reachStatus())
    })
    const warnings = (init.configWarnings ?? []).map((w) => ({ path: w.path, message: w.message }))
    this.health.setSection('config_warnings', warnings)
    this.health.provideSection('sync', () => {
      const p2p = this.p2p.current
      return p2p && syncSection(p2p.sync.logStatus())
    })
    // messages and bytes in and out, with five minutes of history (the status page's charts)
    this.traffic = new TrafficSampler(this.registry)
    this.health.provideSection('traffic', () => this.traffic.section())
    // the recent WARN and ERROR lines of every component, newest first
    this.health.provideSection('errors', () => logs.recent.list())
    // warns about subscriptions their author does not publish (from the author's hellos)
    new PublicationCheck(
      { health: this.health, logger: logs.forComponent('rhio:subscribe') },
      config,
    ).watch((listener) => this.p2p.onHello(listener))
    this.components.push(
      this.http,
      this.nats,
      streamCheck,
      this.state,
      this.p2p,
      this.messages,
      this.blobs,
    )
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
        // the caller reports the thrown error; its message carries the cause once
        this.log.debug({ err: describeError(err), step: c.name }, `start: ${c.name} failed`)
        await this.stop()
        throw new RhioError('NODE_START_FAILED', `cannot start ${c.name}`, { cause: err })
      }
    }
    this.phase = 'running'
    this.traffic.start()
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
    this.traffic.stop()
    const deadline = Date.now() + deadlineMs
    const failed: string[] = []
    // First pass: every component stops taking new work (errors surface in the second pass).
    for (const c of [...this.started].reverse()) {
      if (!c.beforeStop) continue
      const left = Math.max(deadline - Date.now(), STOP_MIN_GRACE_MS)
      this.log.debug({ step: c.name }, `shutdown: ${c.name} stops taking new work`)
      const outcome = await timeLimit<string>(
        c.beforeStop().then(
          () => 'ok',
          (err: unknown) => describeError(err),
        ),
        left,
        () => 'timeout',
      )
      if (outcome !== 'ok')
        this.log.warn({ step: c.name, err: outcome }, `shutdown: ${c.name} did not stop its intake`)
    }
    for (const c of [...this.started].reverse()) {
      const left = Math.max(deadline - Date.now(), STOP_MIN_GRACE_MS)
      this.log.info({ step: c.name }, `shutdown: stopping ${c.name}`)
      const stopped = c.stop().then(
        () => 'ok' as const,
        (err: unknown) => describeError(err),
      )
      const outcome = await timeLimit<string>(stopped, left, () => 'timeout')
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

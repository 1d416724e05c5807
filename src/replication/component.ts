/**
 * The replication component: the p2p node plus what rides on it (message
 * publishers and subscribers; blobs later), with one ordered shutdown:
 * stop intake from the network and from NATS, let the sinks flush, persist
 * heights, then close the network.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { fromHex } from '../core/codec.js'
import { describeError } from '../errors.js'
import { networkIdHash } from '../core/network-id.js'
import type { Config } from '../config/index.js'
import type { RhioMetrics } from '../http/index.js'
import { Ed25519Verifier, type NodeIdentity } from '../identity/index.js'
import { fileFrameStores } from '../log/file-frame-store.js'
import { storedLogs } from '../log/file-layout.js'
import { libp2pComponentLogger, type LoggerFactory } from '../logging/index.js'
import type { NatsConnectionComponent } from '../nats/connection.js'
import type { Component } from '../node/component.js'
import type { HealthModel } from '../node/health.js'
import { P2PMetrics } from '../p2p/metrics.js'
import { P2PNode } from '../p2p/p2p-node.js'
import { announceMultiaddr } from '../p2p/endpoints.js'
import { KvStateStore } from '../state/kv-state-store.js'
import { DirStateStore, type StateStore } from '../state/state-store.js'
import { BlobReplication } from './blobs.js'
import { MessageMetrics } from './metrics.js'
import { NatsPublisher } from './nats-publisher.js'
import { NatsSubscriber } from './nats-subscriber.js'

export interface ReplicationInit {
  config: Config
  identity: NodeIdentity
  logs: LoggerFactory
  registry: Registry
  metrics: RhioMetrics
  health: HealthModel
  nats: NatsConnectionComponent
  /** Heartbeat of live sessions (tests shorten it). */
  heartbeatMs?: number
}

export class ReplicationComponent implements Component {
  readonly name = 'replication'
  p2p: P2PNode | undefined
  private readonly publishers: NatsPublisher[] = []
  private readonly subscribers: NatsSubscriber[] = []
  private readonly log: Logger
  private readonly messageMetrics: MessageMetrics
  readonly blobs: BlobReplication
  private statusTimer: NodeJS.Timeout | undefined
  private state: StateStore | undefined
  private readonly abort = new AbortController()
  private background: Promise<void> | undefined

  constructor(private readonly init: ReplicationInit) {
    this.log = init.logs.forComponent('rhio:replication')
    this.messageMetrics = new MessageMetrics(init.registry)
    this.blobs = new BlobReplication({
      config: init.config,
      logs: init.logs,
      registry: init.registry,
      metrics: init.metrics,
      health: init.health,
      networkId: networkIdHash(init.config.network_id),
    })
  }

  private connection = (signal: AbortSignal): Promise<NatsConnection> =>
    this.init.nats.connected(signal)

  async start(): Promise<void> {
    const { config, identity } = this.init
    await mkdir(config.data_dir, { recursive: true })
    this.state =
      config.state.backend === 'nats'
        ? new KvStateStore({
            connection: () => this.init.nats.connection,
            bucket: config.state.kv_bucket,
            logger: this.init.logs.forComponent('rhio:state'),
          })
        : new DirStateStore(join(config.data_dir, 'state'))
    const logsRoot = join(config.data_dir, 'logs')
    const verifier = new Ed25519Verifier()
    const host = config.bind_host.includes(':')
      ? `/ip6/${config.bind_host}`
      : `/ip4/${config.bind_host}`
    const p2p = await P2PNode.create({
      seed: identity.seed,
      publicKey: identity.publicKey,
      sign: (m) => identity.sign(m),
      verify: (pk, m, s) => verifier.check(pk, m, s).ok,
      networkId: networkIdHash(config.network_id),
      transport: 'tcp',
      listen: [`${host}/tcp/${config.bind_port}`],
      announce: config.announce_addresses.map(announceMultiaddr),
      staticNodes: config.nodes.map((n) => ({
        publicKey: n.public_key,
        endpoints: [...n.endpoints],
      })),
      limits: {
        maxEntryBytes: config.limits.max_entry_bytes,
        maxFrameBytes: config.limits.max_frame_bytes,
        maxRequestBytes: config.limits.max_request_bytes,
        requestTimeoutMs: config.limits.request_timeout_millis,
        maxBatchEntries: config.limits.max_batch_entries,
        maxConnections: config.limits.max_connections,
        maxSyncSessions: config.limits.max_sync_sessions,
        maxSyncSessionsPerPeer: config.limits.max_sync_sessions_per_peer,
        maxStreamsPerConnection: config.limits.max_streams_per_connection,
        streamWindowBytes: config.limits.stream_window_bytes,
      },
      state: this.state,
      frameStores: fileFrameStores({
        root: logsRoot,
        logger: this.init.logs.forComponent('rhio:frames'),
      }),
      queryIntervalMs: config.discovery.query_interval_seconds * 1000,
      resyncIntervalMs: config.protocol.resync_interval_seconds * 1000,
      ...(this.init.heartbeatMs !== undefined ? { heartbeatMs: this.init.heartbeatMs } : {}),
      logger: this.init.logs.forComponent('rhio:p2p'),
      libp2pLogger: libp2pComponentLogger(this.init.logs),
      metrics: new P2PMetrics(this.init.registry),
    })
    this.p2p = p2p
    // Reopen what this node stored before, so it can serve it again at once.
    for (const info of await storedLogs(logsRoot)) await p2p.registry.open(info)
    await p2p.start()
    this.log.info(
      {
        addresses: p2p.listenAddresses(),
        ...(config.announce_addresses.length > 0 ? { announced: p2p.addresses() } : {}),
        public_key: identity.publicKeyHex,
      },
      'p2p listening',
    )

    this.startPublishers(p2p)
    await this.blobs.start(p2p, this.state)
    // Subscriptions load their heights from the state store, which may need
    // NATS: set them up in the background so rhio starts while NATS is down.
    this.background = (async () => {
      await this.startSubscribers(p2p, this.abort.signal)
      // their state is in NATS KV: wait for the connection instead of failing once per start
      if (config.state.backend === 'nats') await this.connection(this.abort.signal)
      await retry(
        () => this.blobs.subscribe(p2p),
        this.abort.signal,
        this.log,
        'bucket subscriptions',
      )
    })().catch((err: unknown) => {
      if (!this.abort.signal.aborted)
        this.log.error({ err: describeError(err) }, 'subscriptions failed to start')
    })
    // Peers change the health page at once (a sync can finish within the second).
    p2p.peers.onHello(() => this.updateHealth())
    p2p.peers.onGone(() => this.updateHealth())
    this.statusTimer = setInterval(() => this.updateHealth(), 1000)
    this.updateHealth()
  }

  private startPublishers(p2p: P2PNode): void {
    const byStream = new Map<string, string[]>()
    for (const { stream, subject } of this.init.config.publish.nats_subjects) {
      const earlier = byStream.get(stream) ?? []
      if (earlier.includes(subject)) continue // same subject twice in one stream: merged
      const pub = new NatsPublisher({
        stream,
        subject,
        earlier: [...earlier],
        openLog: (logId, filter) => p2p.publish({ logId, kind: 'nats' }, [filter]),
        connection: this.connection,
        logger: this.init.logs.forComponent('rhio:publish'),
        metrics: this.messageMetrics,
        onMessage: (s) => this.init.metrics.messageReceiveTotal.inc({ source: 'nats', subject: s }),
        onProblem: (p) =>
          this.init.health.setPublishedStreamProblem(
            stream,
            subject,
            p === null ? null : { error: p, time: Date.now() },
          ),
      })
      byStream.set(stream, [...earlier, subject])
      this.publishers.push(pub)
      pub.start()
    }
  }

  private async startSubscribers(p2p: P2PNode, signal: AbortSignal): Promise<void> {
    const byAuthor = new Map<string, Array<{ subject: string; stream: string }>>()
    for (const { subject, stream, public_key } of this.init.config.subscribe.nats_subjects) {
      const list = byAuthor.get(public_key) ?? []
      list.push({ subject, stream })
      byAuthor.set(public_key, list)
    }
    for (const [author, entries] of byAuthor) {
      const sub = new NatsSubscriber({
        author,
        entries,
        connection: this.connection,
        logger: this.init.logs.forComponent('rhio:subscribe'),
        metrics: this.messageMetrics,
        onProblem: (stream, p) => {
          for (const e of entries)
            if (e.stream === stream)
              this.init.health.setSubscribedStreamProblem(author, stream, e.subject, p)
        },
        onMessage: (s) =>
          this.init.metrics.messageReceiveTotal.inc({
            source: 'network',
            msg_type: 'nats_message',
            subject: s,
          }),
      })
      this.subscribers.push(sub)
      const selector = {
        author: fromHex(author),
        kind: 'nats' as const,
        filters: [...new Set(entries.map((e) => e.subject))],
      }
      await retry(() => p2p.subscribe(selector, sub), signal, this.log, `subscription to ${author}`)
    }
  }

  private updateHealth(): void {
    const p2p = this.p2p
    if (!p2p) return
    const h = this.init.health
    if (this.blobs.enabled) h.setSection('transfers', this.blobs.status())
    h.setSection(
      'peers',
      p2p.peers.list().map((p) => ({
        id: p.id,
        connected: p.connected,
        configured: p.configured,
        addresses: p.addresses,
        connected_since: p.connectedSince ?? null,
        last_seen: p.lastSeen ?? null,
        last_error: p.lastError ?? null,
        banned_until: p.bannedUntil ?? null,
      })),
    )
    h.setSection(
      'sync',
      p2p.wantStatus().map((s) => ({
        author: s.author,
        kind: s.kind,
        log: s.logId,
        height: s.height,
        durable: s.durable,
        head: s.head,
        lag: s.lag,
        last_peer: s.lastPeer ?? null,
        last_update: s.lastUpdate ?? null,
      })),
    )
  }

  async stop(): Promise<void> {
    this.abort.abort()
    await this.background
    if (this.statusTimer) clearInterval(this.statusTimer)
    const p2p = this.p2p
    if (!p2p) return
    await p2p.stopIntake()
    await Promise.allSettled(this.publishers.map((p) => p.stop()))
    await Promise.allSettled(this.subscribers.map((s) => s.stop()))
    await this.blobs.stop()
    await p2p.close()
    await this.state?.close()
    this.p2p = undefined
  }
}

/** Retries `fn` with backoff (1 s .. 10 s) until it succeeds or `signal` aborts. */
async function retry(
  fn: () => Promise<unknown>,
  signal: AbortSignal,
  log: Logger,
  what: string,
): Promise<void> {
  let delay = 1000
  while (!signal.aborted) {
    try {
      await fn()
      return
    } catch (err) {
      log.warn({ err: describeError(err), retry_ms: delay }, `${what} waiting`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay)
        signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true })
      })
      delay = Math.min(delay * 2, 10_000)
    }
  }
}

/**
 * The p2p node as a component of the node: built at start (the libp2p host
 * is created asynchronously) from the configuration, with its frame caches
 * under `data_dir/logs` (reopened, so it serves what it stored before at
 * once). Stopping takes two steps: `beforeStop` ends intake from the network
 * before the sinks flush; `stop` then stores pending author batches, persists
 * heights and closes the network.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Component } from '../component/index.js'
import type { Config } from '../config/index.js'
import { networkIdHash } from '../core/network-id.js'
import { RhioError } from '../errors/index.js'
import { Ed25519Verifier, type NodeIdentity } from '../identity/index.js'
import { fileFrameStores } from '../log/file-frame-store.js'
import { storedLogs } from '../log/file-layout.js'
import { libp2pComponentLogger, type LoggerFactory } from '../logging/index.js'
import { announceMultiaddr } from '../p2p/endpoints.js'
import { relayOptions } from '../p2p/relay.js'
import type { StateStore } from '../state/state-store.js'
import type { PeerHello } from '../sync/hello.js'
import { Listeners } from '../util/listeners.js'
import { P2PNode, p2pLimits } from './p2p-node.js'

export interface P2PComponentComponents {
  identity: NodeIdentity
  state: StateStore
  logs: LoggerFactory
  registry: Registry
}

export interface P2PComponentInit {
  config: Config
  /** Heartbeat of live sync sessions in ms (tests shorten it). */
  heartbeatMs?: number
}

/** The peers `access.policy: known` allows: configured nodes, subscribed authors, the allow list. */
export function knownPeers(config: Config): string[] {
  return [
    ...config.nodes.map((n) => n.public_key),
    ...config.subscribe.nats_subjects.map((s) => s.public_key),
    ...config.subscribe.s3_buckets.map((s) => s.public_key),
    ...config.access.allow_public_keys,
  ]
}

/**
 * libp2p's error for a port in use is a paragraph about its transport
 * manager with a stack trace inside; operators need the key and the port.
 */
function listenError(err: unknown, host: string, port: number): unknown {
  const text = err instanceof Error ? err.message : String(err)
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`
  if (addressInUse(err)) {
    return new RhioError(
      'P2P_LISTEN_FAILED',
      `cannot listen for p2p on ${where}: the port is in use (set another bind_port, or -p PORT)`,
    )
  }
  const reason = /listen (E[A-Z]+[^\n]*)/.exec(text)?.[1]
  if (reason !== undefined) {
    return new RhioError(
      'P2P_LISTEN_FAILED',
      `cannot listen for p2p on ${where} (bind_host/bind_port, -p): ${reason}`,
    )
  }
  return err
}

export class P2PComponent implements Component {
  readonly name = 'p2p'
  private p2p: P2PNode | undefined
  private readonly log: Logger
  private readonly hellos = new Listeners<PeerHello>()

  constructor(
    private readonly components: P2PComponentComponents,
    private readonly init: P2PComponentInit,
  ) {
    this.log = components.logs.forComponent('rhio:p2p')
  }

  /** The running p2p node; throws before start (components that need it start after this one). */
  get node(): P2PNode {
    if (!this.p2p) throw new Error('the p2p component has not started')
    return this.p2p
  }

  /** Every hello a peer says, from start on (listeners may be added before start). */
  onHello(listener: (e: PeerHello) => void): () => void {
    return this.hellos.add(listener)
  }

  /** The p2p node if it runs (for status). */
  get current(): P2PNode | undefined {
    return this.p2p
  }

  async start(): Promise<void> {
    if (this.p2p) return
    const { config } = this.init
    const { identity, logs } = this.components
    await mkdir(config.data_dir, { recursive: true })
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
      limits: p2pLimits(config.limits),
      state: this.components.state,
      frameStores: fileFrameStores({ root: logsRoot, logger: logs.forComponent('rhio:frames') }),
      queryIntervalMs: config.discovery.query_interval_seconds * 1000,
      resyncIntervalMs: config.protocol.resync_interval_seconds * 1000,
      ...(this.init.heartbeatMs !== undefined ? { heartbeatMs: this.init.heartbeatMs } : {}),
      logger: logs.forComponent('rhio:peers'),
      syncLogger: logs.forComponent('rhio:sync'),
      libp2pLogger: libp2pComponentLogger(logs),
      registry: this.components.registry,
      ...(config.access.policy === 'known' ? { allowedPeers: knownPeers(config) } : {}),
      // no relay block in effect: no relay parts at all (today's behaviour)
      ...(config.relay.serve || config.relay.reserve !== 'never'
        ? { relay: relayOptions(config.relay) }
        : {}),
    })
    // Reopen what this node stored before, so it can serve it again at once.
    for (const info of await storedLogs(logsRoot)) await p2p.registry.open(info)
    try {
      await p2p.start()
    } catch (err) {
      // The original (QUIC) fell back to a random port; here peers dial the
      // configured one (their nodes[].endpoints), so a busy port is an error.
      await p2p.stop().catch(() => {})
      throw listenError(err, config.bind_host, config.bind_port)
    }
    this.p2p = p2p
    p2p.hello.onHello((e) => this.hellos.emit(e))
    this.log.info(
      {
        addresses: p2p.listenAddresses(),
        ...(config.announce_addresses.length > 0 ? { announced: p2p.addresses() } : {}),
        public_key: identity.publicKeyHex,
      },
      'p2p listening',
    )
  }

  async beforeStop(): Promise<void> {
    await this.p2p?.stopIntake()
  }

  async stop(): Promise<void> {
    const p2p = this.p2p
    if (!p2p) return
    await p2p.stop()
    this.p2p = undefined
  }
}

/** Whether `err` or one of its causes is EADDRINUSE. */
function addressInUse(err: unknown): boolean {
  for (let e: unknown = err, i = 0; e !== undefined && e !== null && i < 8; i++) {
    const o = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown }
    if (o.code === 'EADDRINUSE') return true
    if (typeof o.message === 'string' && o.message.includes('EADDRINUSE')) return true
    if (Array.isArray(o.errors) && o.errors.some(addressInUse)) return true
    e = o.cause
  }
  return false
}

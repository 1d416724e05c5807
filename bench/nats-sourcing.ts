/**
 * The incumbent for bench/messages.ts: NATS itself, JetStream stream sourcing
 * across JetStream domains over a leafnode, between two nats-servers (no rhio,
 * no authorship). Server A (domain `a`) is the hub: it holds stream `src` and
 * listens for leafnodes. Server B (domain `b`) dials A as a leafnode and holds
 * stream `dst`, which sources `src` through A's domain API:
 *
 *   sources: [{ name: 'src', external: { api: '$JS.a.API', deliver: '' } }]
 *
 * Both servers pick free loopback ports themselves (`-1`; the ports are read
 * from their logs) and get their own temp store directories. B can be stopped
 * and a fresh one started against the same A, for the catch-up workload.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { NatsServer } from '../test/helpers/nats-server.js'

export const SRC_API = '$JS.a.API'

interface Server {
  nats: NatsServer
  store: string
  nc: NatsConnection
  jsm: JetStreamManager
}

async function startServer(
  name: string,
  domain: string,
  leafnodes: string,
  maxPayload: number,
): Promise<Server> {
  const store = await mkdtemp(join(tmpdir(), `rhio-bench-${name}-`))
  try {
    const nats = await NatsServer.start({
      name,
      serverName: name,
      jetstream: false, // our own block below, with the domain
      config: [
        `max_payload: ${maxPayload}`,
        `jetstream { store_dir: ${JSON.stringify(store)}, domain: ${domain} }`,
        leafnodes,
      ].join('\n'),
    })
    const nc = await connect({ servers: nats.url })
    return { nats, store, nc, jsm: await jetstreamManager(nc) }
  } catch (err) {
    await rm(store, { recursive: true, force: true })
    throw err
  }
}

async function stopServer(s: Server): Promise<void> {
  await s.nc.close().catch(() => {})
  await s.nats[Symbol.asyncDispose]()
  await rm(s.store, { recursive: true, force: true })
}

export class NatsSourcing implements AsyncDisposable {
  private b: Server | undefined
  private constructor(
    private readonly a: Server,
    private readonly leafPort: number,
  ) {}

  /** Starts hub A with stream `src` capturing `subjects`. */
  static async start(subjects: string[], maxPayload = 1048576): Promise<NatsSourcing> {
    const a = await startServer(
      'nats-hub-a',
      'a',
      'leafnodes { listen: "127.0.0.1:-1" }',
      maxPayload,
    )
    try {
      const m = /Listening for leafnode connections on [^\s]*:(\d+)/.exec(a.nats.output)
      if (!m) throw new Error(`hub A printed no leafnode port:\n${a.nats.tail()}`)
      await a.jsm.streams.add({ name: 'src', subjects })
      return new NatsSourcing(a, Number(m[1]))
    } catch (err) {
      await stopServer(a)
      throw err
    }
  }

  /** Client connection to A (publish into `src` here). */
  get srcNc(): NatsConnection {
    return this.a.nc
  }

  /** Client connection to B (read `dst` here). */
  get dstNc(): NatsConnection {
    if (!this.b) throw new Error('leaf B is not running')
    return this.b.nc
  }

  /**
   * Starts a fresh leaf B (empty store) and waits until A's JetStream API
   * answers through the leafnode. Does not create `dst` yet.
   */
  async startLeaf(maxPayload = 1048576): Promise<void> {
    if (this.b) throw new Error('leaf B is already running')
    const b = await startServer(
      'nats-leaf-b',
      'b',
      `leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:${this.leafPort}" } ] }`,
      maxPayload,
    )
    this.b = b
    const viaLeaf = await jetstreamManager(b.nc, { apiPrefix: SRC_API, checkAPI: false })
    const deadline = Date.now() + 15_000
    for (;;) {
      try {
        await viaLeaf.streams.info('src')
        return
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`A's stream is not reachable from B over the leafnode: ${String(err)}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }

  /** Creates `dst` on B, sourcing `src` from A's domain. */
  async addDst(): Promise<void> {
    if (!this.b) throw new Error('leaf B is not running')
    await this.b.jsm.streams.add({
      name: 'dst',
      sources: [{ name: 'src', external: { api: SRC_API, deliver: '' } }],
    })
  }

  /** The source's state as B's `dst` reports it; throws if the source has an error. */
  async checkSource(): Promise<{ lag: number; active: number }> {
    if (!this.b) throw new Error('leaf B is not running')
    const info = await this.b.jsm.streams.info('dst')
    const s = info.sources?.[0]
    if (!s || s.name !== 'src') throw new Error(`dst has no source: ${JSON.stringify(info)}`)
    if (s.error) throw new Error(`dst's source reports an error: ${JSON.stringify(s.error)}`)
    return { lag: s.lag, active: s.active }
  }

  async countSrc(): Promise<number> {
    return (await this.a.jsm.streams.info('src')).state.messages
  }

  async countDst(): Promise<number> {
    if (!this.b) throw new Error('leaf B is not running')
    return (await this.b.jsm.streams.info('dst')).state.messages
  }

  get pidA(): number | undefined {
    return this.a.nats.pid
  }

  get pidB(): number | undefined {
    return this.b?.nats.pid
  }

  /** Stops B and removes its store (A keeps running). */
  async stopLeaf(): Promise<void> {
    const b = this.b
    this.b = undefined
    if (b) await stopServer(b)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stopLeaf()
    await stopServer(this.a)
  }
}

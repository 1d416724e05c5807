import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Child } from './child.js'

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server'

export interface NatsServerOptions {
  /** Extra nats-server configuration (e.g. an `authorization { … }` block). */
  config?: string
  /** Fixed client port; by default the server picks a free one. */
  port?: number
  /** Run inside this network namespace (`ip netns exec`); see test/helpers/netns.ts. */
  netns?: string
  /** Client listen address (default 127.0.0.1). */
  host?: string
  /** Name for logs. */
  name?: string
  /** `server_name` (JetStream in a cluster needs a unique one per node). */
  serverName?: string
  /** Enable JetStream (default true). */
  jetstream?: boolean
  /** Join a cluster: listen for routes on a free loopback port and dial `routes`. */
  cluster?: ClusterOptions
}

export interface ClusterOptions {
  name: string
  /** Route URLs of the other nodes (`nats-route://127.0.0.1:PORT`). */
  routes: string[]
}

/**
 * A nats-server process with JetStream on a free loopback port and its own
 * store directory. `stop()`/`start()` restart it on the same port and store, so
 * tests can simulate an outage; disposing removes everything it created.
 */
export class NatsServer implements AsyncDisposable {
  port = 0
  /** Route port once started with `cluster` (kept across restarts). */
  routePort = 0
  private child: Child | undefined
  private constructor(
    readonly dir: string,
    private readonly opts: NatsServerOptions,
  ) {}

  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    if (!existsSync(NATS_SERVER_BIN)) {
      throw new Error(
        `nats-server binary not found at ${NATS_SERVER_BIN}; install it (apt-get install -y nats-server) or set NATS_SERVER_BIN`,
      )
    }
    const dir = await mkdtemp(join(tmpdir(), 'rhio-nats-'))
    const s = new NatsServer(dir, { ...opts })
    s.port = opts.port ?? 0
    try {
      await s.start()
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw err
    }
    return s
  }

  get url(): string {
    return `nats://${this.opts.host ?? '127.0.0.1'}:${this.port}`
  }

  /** The URL other cluster nodes route to (after the first start). */
  get routeUrl(): string {
    return `nats-route://127.0.0.1:${this.routePort}`
  }

  get running(): boolean {
    return this.child?.running ?? false
  }

  get output(): string {
    return this.child?.output ?? ''
  }

  tail(lines = 40): string {
    return this.child?.tail(lines) ?? ''
  }

  /** The server's process id while it runs (e.g. to read its CPU time from /proc). */
  get pid(): number | undefined {
    return this.running ? this.child?.proc.pid : undefined
  }

  /** The configured `server_name`, if any. */
  get serverName(): string | undefined {
    return this.opts.serverName
  }

  /** (Re)starts the server; after the first start it keeps its port. */
  async start(): Promise<void> {
    if (this.running) return
    const conf = join(this.dir, 'server.conf')
    const cluster = this.opts.cluster
    await writeFile(
      conf,
      [
        `listen: ${this.opts.host ?? '127.0.0.1'}:${this.port === 0 ? -1 : this.port}`,
        this.opts.serverName !== undefined ? `server_name: ${this.opts.serverName}` : '',
        this.opts.jetstream === false ? '' : `jetstream { store_dir: "${join(this.dir, 'js')}" }`,
        cluster
          ? [
              'cluster {',
              `  name: ${cluster.name}`,
              `  listen: 127.0.0.1:${this.routePort === 0 ? -1 : this.routePort}`,
              `  routes: [${cluster.routes.map((r) => JSON.stringify(r)).join(', ')}]`,
              '}',
            ].join('\n')
          : '',
        this.opts.config ?? '',
      ].join('\n'),
    )
    const ns = this.opts.netns
    const child = ns
      ? new Child(this.opts.name ?? 'nats-server', 'ip', [
          'netns',
          'exec',
          ns,
          NATS_SERVER_BIN,
          '-c',
          conf,
        ])
      : new Child(this.opts.name ?? 'nats-server', NATS_SERVER_BIN, ['-c', conf])
    this.child = child
    try {
      const m = await child.waitForOutput(
        /Listening for client connections on [^\s]*:(\d+)/,
        15_000,
      )
      this.port = Number(m[1])
      if (cluster) {
        const r = await child.waitForOutput(
          /Listening for route connections on [^\s]*:(\d+)/,
          15_000,
        )
        this.routePort = Number(r[1])
      }
      await child.waitForOutput(/Server is ready/, 15_000)
    } catch (err) {
      await child.kill()
      throw err
    }
  }

  /** Replaces the extra configuration used from the next `start()` on. */
  configure(config: string): void {
    this.opts.config = config
  }

  /** Changes options (e.g. `cluster.routes`, `jetstream`) from the next `start()` on. */
  reconfigure(patch: Omit<NatsServerOptions, 'port'>): void {
    Object.assign(this.opts, patch)
  }

  /** Graceful stop (SIGTERM); data stays for a later `start()`. */
  async stop(): Promise<void> {
    await this.child?.stop('SIGTERM')
  }

  /** Hard stop (SIGKILL). */
  async kill(): Promise<void> {
    await this.child?.kill()
  }

  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill()
    await rm(this.dir, { recursive: true, force: true })
  }
}

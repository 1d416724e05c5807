/**
 * A three-node nats-server cluster with JetStream on loopback, for tests of a
 * site whose NATS is clustered (R3 streams survive losing one node).
 *
 *   await using cluster = await NatsCluster.start('b')
 *   const nc = await cluster.connect()
 *   await jsm.streams.add({ name: 'x', subjects: ['x.>'], num_replicas: 3 })
 *   await cluster.nodes[1].kill(); …; await cluster.nodes[1].start()
 *
 * No fixed ports: every node binds client and route ports on port -1 and the
 * harness reads them from the logs. A JetStream cluster refuses to start
 * without configured routes, so node 1 first runs without JetStream just to
 * learn its route port; nodes 2 and 3 then start routing to it, and node 1 is
 * restarted with JetStream and routes to both. Finally every node's
 * configuration lists the other two, so any one can be killed and restarted
 * (same ports, same store directory) and find the cluster again.
 */
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { NatsServer } from './nats-server.js'
import type { RhioProcess } from './rhio.js'
import { waitFor } from './wait.js'

export interface NatsClusterOptions {
  /** Extra nats-server configuration for every node. */
  config?: string
  /** How long to wait for the JetStream meta group to elect a leader (default 30 s). */
  timeoutMs?: number
}

export class NatsCluster implements AsyncDisposable {
  private constructor(
    readonly name: string,
    readonly nodes: NatsServer[],
  ) {}

  static async start(name: string, opts: NatsClusterOptions = {}): Promise<NatsCluster> {
    const nodes: NatsServer[] = []
    const cluster = new NatsCluster(name, nodes)
    try {
      const serverName = (i: number): string => `${name}-n${i + 1}`
      const common = (i: number) => ({
        name: `nats-${serverName(i)}`,
        serverName: serverName(i),
        ...(opts.config !== undefined ? { config: opts.config } : {}),
      })
      const first = await NatsServer.start({
        ...common(0),
        jetstream: false,
        cluster: { name, routes: [] },
      })
      nodes.push(first)
      for (const i of [1, 2]) {
        nodes.push(
          await NatsServer.start({ ...common(i), cluster: { name, routes: [first.routeUrl] } }),
        )
      }
      for (const n of nodes) {
        n.reconfigure({
          jetstream: true,
          cluster: { name, routes: nodes.filter((o) => o !== n).map((o) => o.routeUrl) },
        })
      }
      await first.restart()
      await cluster.waitReady(opts.timeoutMs ?? 30_000)
      return cluster
    } catch (err) {
      await cluster[Symbol.asyncDispose]()
      throw err
    }
  }

  /** Client URLs of all nodes, in node order. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url)
  }

  /** All client URLs, comma-separated (rhio's `nats.endpoint`). */
  get endpoint(): string {
    return this.urls.join(',')
  }

  /** The node whose `server_name` is `name`. */
  byServerName(name: string): NatsServer {
    const n = this.nodes.find((s) => s.serverName === name)
    if (!n) throw new Error(`no node named ${name} in cluster ${this.name}`)
    return n
  }

  /** The node listening on a client address such as `127.0.0.1:4222` or `nats://127.0.0.1:4222`. */
  byClientAddress(address: string): NatsServer {
    const port = Number(/:(\d+)\/?$/.exec(address)?.[1])
    const n = this.nodes.find((s) => s.port === port)
    if (!n) throw new Error(`no node of cluster ${this.name} listens on ${address}`)
    return n
  }

  /** A client connection to the given nodes (default all), reconnecting forever. */
  connect(
    nodes: NatsServer[] = this.nodes,
    opts: Partial<ConnectionOptions> = {},
  ): Promise<NatsConnection> {
    return connect({
      servers: nodes.map((n) => n.url),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      ...opts,
    })
  }

  /**
   * Waits until the JetStream meta group has a leader and all three nodes can
   * host a replica: an R3 throwaway stream can be created (then deleted).
   */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const nc = await this.connect(this.nodes.filter((n) => n.running))
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2_000, checkAPI: false })
      const name = `ready-${Date.now().toString(36)}`
      await waitFor(
        async () => {
          await jsm.streams.add({ name, subjects: [`${name}.>`], num_replicas: 3 })
          return true
        },
        {
          timeout: timeoutMs,
          interval: 100,
          message: `cluster ${this.name}: JetStream meta leader and 3 peers\n${this.tails()}`,
        },
      )
      await jsm.streams.delete(name)
    } finally {
      await nc.close()
    }
  }

  /** The node that leads `stream`'s replica group now. */
  async streamLeader(nc: NatsConnection, stream: string): Promise<NatsServer> {
    const jsm = await jetstreamManager(nc, { checkAPI: false })
    const leader = (await jsm.streams.info(stream)).cluster?.leader
    if (leader === undefined) throw new Error(`stream ${stream} has no leader`)
    return this.byServerName(leader)
  }

  /**
   * Makes `target` the leader of `stream`: asks the current leader to step
   * down (the group elects one of the others at random) until it is `target`.
   */
  async moveStreamLeader(
    nc: NatsConnection,
    stream: string,
    target: NatsServer,
    timeoutMs = 20_000,
  ): Promise<void> {
    await waitFor(
      async () => {
        if ((await this.streamLeader(nc, stream)) === target) return true
        await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, {
          timeout: 2_000,
        })
        return false
      },
      {
        timeout: timeoutMs,
        interval: 100,
        message: `stream ${stream} led by ${target.serverName ?? target.url}`,
      },
    )
  }

  /** Waits until every replica of `stream` is online, current and without lag. */
  async waitStreamCurrent(nc: NatsConnection, stream: string, timeoutMs = 20_000): Promise<void> {
    const jsm = await jetstreamManager(nc, { checkAPI: false })
    await waitFor(
      async () => {
        const c = (await jsm.streams.info(stream)).cluster
        const replicas = c?.replicas ?? []
        return (
          c?.leader !== undefined &&
          replicas.length === this.nodes.length - 1 &&
          // the server leaves out `offline` and `lag` when false / 0
          replicas.every((r) => r.current && r.offline !== true && !r.lag) &&
          c
        )
      },
      { timeout: timeoutMs, interval: 100, message: `all replicas of ${stream} current` },
    )
  }

  /** The last log lines of every node (for failure messages). */
  tails(lines = 15): string {
    return this.nodes.map((n) => `--- ${n.serverName}:\n${n.tail(lines)}`).join('\n')
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.nodes.map((n) => n[Symbol.asyncDispose]()))
  }
}

/** The cluster node a rhio process is connected to (from its /health). */
export async function connectedNode(rhio: RhioProcess, cluster: NatsCluster): Promise<NatsServer> {
  const server = await waitFor(
    async () => {
      const h = (await rhio.health()).body.nats
      return h.status === 'Connected' ? h.server : null
    },
    { timeout: 15_000, message: `${rhio.name} connected to NATS\n${rhio.tail()}` },
  )
  return cluster.byClientAddress(server)
}

/**
 * A TCP proxy on a free loopback port that a test can cut and slow: the
 * network between two sites. A node given the proxy's address instead of its
 * peer's reaches the peer only through it.
 *
 *   await using link = await TcpProxy.start(targetPort)
 *   link.cut()        // partition: drops every connection, refuses new ones
 *   link.slow(50)     // heals and delays every chunk by 50 ms each way
 *   link.limit(20e6)  // at most 20 MB/s each way (all connections together)
 *   link.heal()
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'

/** Data a limited link lets wait before it stops reading, in ms of transmission time. */
const PACED_BACKLOG_MS = 50

export class TcpProxy implements AsyncDisposable {
  port = 0
  private readonly pairs = new Set<[Socket, Socket]>()
  private state: 'up' | 'cut' = 'up'
  private delayMs = 0
  /** Bandwidth limit per direction, bytes per second (0: none). */
  private rate = 0
  /** Per direction: when the link is free again under the limit (performance.now()). */
  private readonly freeAt = { up: 0, down: 0 }
  /** Bytes forwarded so far, both directions. */
  bytes = 0
  /** Connections accepted so far (each dial through the proxy counts once). */
  accepted = 0

  private constructor(
    private readonly server: Server,
    readonly targetPort: number,
    readonly targetHost: string,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = createServer()
    const proxy = new TcpProxy(server, targetPort, targetHost)
    server.on('connection', (s) => proxy.accept(s))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    proxy.port = (server.address() as { port: number }).port
    return proxy
  }

  /** `host:port` for a rhio `nodes[].endpoints` entry. */
  get endpoint(): string {
    return `127.0.0.1:${this.port}`
  }

  get isCut(): boolean {
    return this.state === 'cut'
  }

  /** Open connections through the proxy. */
  get open(): number {
    return this.pairs.size
  }

  /** Partition: resets every open connection and refuses new ones until heal(). */
  cut(): void {
    this.state = 'cut'
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy()
      b.resetAndDestroy()
    }
    this.pairs.clear()
  }

  /** Ends a partition and any slowdown. */
  heal(): void {
    this.state = 'up'
    this.delayMs = 0
  }

  /**
   * At most `bytesPerSecond` in each direction, shared by all connections
   * through the proxy (a throttled link); 0 lifts the limit.
   */
  limit(bytesPerSecond: number): void {
    this.rate = bytesPerSecond
  }

  /** Heals and delays every chunk by `ms` in both directions (order is kept). */
  slow(ms: number): void {
    this.state = 'up'
    this.delayMs = ms
  }

  private accept(client: Socket): void {
    if (this.state === 'cut') {
      client.resetAndDestroy()
      return
    }
    this.accepted++
    const upstream = createConnection({ port: this.targetPort, host: this.targetHost })
    const pair: [Socket, Socket] = [client, upstream]
    this.pairs.add(pair)
    const close = (): void => {
      this.pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)
    this.pipe(client, upstream, 'up')
    this.pipe(upstream, client, 'down')
  }

  /**
   * Copies `from` to `to` with backpressure, each chunk delayed while slowed
   * and paced while limited.
   */
  private pipe(from: Socket, to: Socket, direction: 'up' | 'down'): void {
    let queue = Promise.resolve()
    let backlogged = false
    from.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length
      if (this.rate > 0) {
        this.paced(from, to, direction, chunk, (p) => (queue = queue.then(p)), {
          get: () => backlogged,
          set: (v: boolean) => (backlogged = v),
        })
        return
      }
      const delay = this.delayMs
      if (delay <= 0) {
        if (!to.write(chunk)) from.pause()
        return
      }
      from.pause()
      queue = queue.then(
        () =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              if (!to.destroyed) to.write(chunk)
              if (!from.destroyed) from.resume()
              resolve()
            }, delay),
          ),
      )
    })
    to.on('drain', () => {
      if (!backlogged) from.resume()
    })
    from.on('end', () => void queue.then(() => to.end()))
  }

  /**
   * Under a limit each chunk leaves when the link is free again, in order, while
   * reading goes on until PACED_BACKLOG_MS of data waits (waiting for each chunk
   * before reading the next would leave the link idle between chunks, and the
   * smaller the chunks the lower the rate: a link carrying one stream then ran at
   * 40 % of its limit).
   */
  private paced(
    from: Socket,
    to: Socket,
    direction: 'up' | 'down',
    chunk: Buffer,
    enqueue: (p: () => Promise<void>) => void,
    backlogged: { get(): boolean; set(v: boolean): void },
  ): void {
    const now = performance.now()
    const start = Math.max(now, this.freeAt[direction])
    const done = start + (chunk.length / this.rate) * 1000
    this.freeAt[direction] = done
    if (done - now > PACED_BACKLOG_MS) {
      backlogged.set(true)
      from.pause()
    }
    enqueue(
      () =>
        new Promise<void>((resolve) =>
          setTimeout(
            () => {
              if (!to.destroyed) to.write(chunk)
              if (
                backlogged.get() &&
                this.freeAt[direction] - performance.now() <= PACED_BACKLOG_MS
              ) {
                backlogged.set(false)
                if (!from.destroyed) from.resume()
              }
              resolve()
            },
            Math.max(0, done + this.delayMs - performance.now()),
          ),
        ),
    )
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

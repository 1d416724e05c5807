/**
 * The node's HTTP server: GET /health (original JSON shape; 200 whenever the
 * process serves HTTP, as the original's, so the original's operator and chart,
 * which point liveness at it, never restart a pod over a NATS or S3 outage;
 * `?probe=ready` answers 503 while the node is not healthy, for a readiness
 * probe or a monitor; `?probe=live` is the plain form), GET /metrics (Prometheus text), GET / (the status page)
 * and GET /events (its live data, SSE), 404 JSON for anything else. Built by a
 * factory; callers may add routes (`routes`, `addRoute`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { isIP, type AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { describeError, RhioError } from '../errors/index.js'
import type { Component } from '../component/index.js'
import type { HealthModel } from '../component/index.js'
import { HealthEvents, type HealthEventsInit } from './health-events.js'
import { serveStatusPage } from './status-page.js'

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** Exact path, e.g. `/status`. */
  path: string
  handler: Handler
}

export interface HttpServerOptions {
  health: HealthModel
  registry: Registry
  logger: Logger
  routes?: Route[]
  /**
   * Host header names accepted besides IP addresses, `localhost`, this machine's
   * host name and cluster-internal names (`*.svc`, `*.cluster.local`, `*.internal`,
   * `*.local`); `*` accepts any (see hostAllowed).
   */
  allowedHosts?: readonly string[]
  /**
   * Domains whose names are local too: this machine's DNS search domains
   * (readSearchDomains), e.g. `svc.<cluster domain>` in a pod.
   */
  localDomains?: readonly string[]
  /** Defaults: 0.0.0.0 and port 0 (any free port). */
  host?: string
  port?: number
  /** Timing and limits of GET /events (defaults in health-events.ts). */
  events?: Omit<HealthEventsInit, 'health'>
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  })
  res.end(text)
}

export class HttpServer implements Component {
  readonly name = 'http'
  private readonly routes = new Map<string, Route>()
  private server: Server | undefined
  private bound: AddressInfo | undefined
  private readonly events: HealthEvents

  constructor(private readonly opts: HttpServerOptions) {
    this.events = new HealthEvents({ ...opts.events, health: opts.health })
    this.addRoute({
      method: 'GET',
      path: '/health',
      handler: (_q, res, url) => this.health(res, url),
    })
    this.addRoute({ method: 'GET', path: '/metrics', handler: (_q, res) => this.metrics(res) })
    this.addRoute({
      method: 'GET',
      path: '/',
      handler: (_q, res) => serveStatusPage(res, opts.health.snapshot()),
    })
    this.addRoute({
      method: 'GET',
      path: '/events',
      handler: (q, res) => this.events.handle(q, res),
    })
    for (const r of opts.routes ?? []) this.addRoute(r)
  }

  /** Adds (or replaces) a route. HEAD is served for every GET route. */
  addRoute(route: Route): void {
    this.routes.set(`${route.method} ${route.path}`, route)
  }

  /** The bound address once started. */
  address(): { host: string; port: number } | undefined {
    return this.bound ? { host: this.bound.address, port: this.bound.port } : undefined
  }

  async start(_signal?: AbortSignal): Promise<void> {
    if (this.server) return
    const host = this.opts.host ?? '0.0.0.0'
    const port = this.opts.port ?? 0
    const server = createServer((req, res) => void this.handle(req, res))
    server.keepAliveTimeout = 5_000
    this.server = server
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen({ host, port }, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      this.server = undefined
      throw new RhioError(
        'HTTP_LISTEN_FAILED',
        `cannot listen for HTTP on ${host}:${port} (http_bind_host/http_bind_port)`,
        { cause: err },
      )
    }
    server.on('error', (err) => this.opts.logger.error({ err }, 'http server error'))
    this.bound = server.address() as AddressInfo
    this.opts.logger.info({ host: this.bound.address, port: this.bound.port }, 'http listening')
  }

  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    this.events.close()
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  /** Serves one request (exposed for tests that don't need a socket). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req.headers.host, this.opts.allowedHosts ?? [], this.opts.localDomains)) {
      // A web page the node's user visits could rebind its own DNS name to this
      // node and read /health from the browser: names the node does not know are refused.
      sendJson(res, 421, {
        error: 'unknown Host; add it to http_allowed_hosts to use it',
        host: String(req.headers.host).slice(0, 256),
      })
      return
    }
    const url = new URL(req.url ?? '/', 'http://localhost')
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET')
    const route = this.routes.get(`${method} ${url.pathname}`)
    try {
      if (route) {
        await route.handler(req, res, url)
      } else if ([...this.routes.values()].some((r) => r.path === url.pathname)) {
        sendJson(res, 405, { error: 'method not allowed', method: req.method, path: url.pathname })
      } else {
        sendJson(res, 404, { error: 'not found', path: url.pathname })
      }
    } catch (err) {
      this.opts.logger.error({ err, path: url.pathname }, 'http handler failed')
      if (!res.headersSent) sendJson(res, 500, { error: describeError(err) })
      else res.destroy()
    }
  }

  private health(res: ServerResponse, url: URL): void {
    const body = this.opts.health.snapshot()
    const ready = url.searchParams.get('probe') === 'ready'
    sendJson(res, !ready || body.status === 'Running' ? 200 : 503, body)
  }

  private async metrics(res: ServerResponse): Promise<void> {
    const text = await this.opts.registry.metrics()
    res.writeHead(200, {
      'content-type': this.opts.registry.contentType,
      'content-length': Buffer.byteLength(text),
    })
    res.end(text)
  }
}

const INTERNAL_SUFFIXES = ['.svc', '.cluster.local', '.internal', '.local', '.localhost']

/**
 * Whether a request's Host header names this node: no Host (HTTP/1.0), an IP
 * address (v4 or [v6]; a DNS rebinding attack always uses a DNS name),
 * `localhost`, this machine's host name, a cluster-internal name (Kubernetes
 * Service names, `*.internal`, mDNS `*.local`), a name under one of
 * `localDomains` (the DNS search domains, so a custom cluster domain), or one
 * of `allowed` (`*`: any). A port after the name is ignored.
 */
export function hostAllowed(
  host: string | undefined,
  allowed: readonly string[],
  localDomains: readonly string[] = [],
): boolean {
  if (host === undefined || host === '') return true
  if (allowed.includes('*')) return true
  let name = host.toLowerCase()
  if (name.startsWith('[')) return isIP(name.slice(1, name.indexOf(']'))) === 6
  name = name.replace(/:\d*$/, '').replace(/\.$/, '')
  if (isIP(name) !== 0) return true
  if (name === 'localhost' || name === hostname().toLowerCase()) return true
  if (INTERNAL_SUFFIXES.some((s) => name.endsWith(s))) return true
  if (localDomains.some((d) => name === d || name.endsWith(`.${d}`))) return true
  return allowed.some((a) => a.toLowerCase() === name)
}

/** Builds the node's HTTP server (not yet listening; call start()). */
export function createHttpServer(opts: HttpServerOptions): HttpServer {
  return new HttpServer(opts)
}

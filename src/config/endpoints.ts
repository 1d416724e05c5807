/**
 * Endpoint strings of the configuration: `nats.endpoint` (one or a
 * comma-separated list of `host:port`, `nats://host:port`, `tls://host:port`)
 * and `nodes[].endpoints` (`host:port`, `ip:port`, `[ipv6]:port`; the port may
 * be omitted and then defaults to 9102). Pure.
 */

const NATS_SCHEMES = ['nats:', 'tls:', 'ws:', 'wss:']

/** Splits `nats.endpoint` into the server list the NATS client takes. */
export function parseNatsEndpoints(endpoint: string): string[] {
  return endpoint
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

/** `s` with any `user:password@` or `token@` replaced by `***@` (for logs, errors and /health). */
export function redactUrl(s: string): string {
  return s.replace(
    /^([a-z][a-z0-9+.-]*:\/\/)?[^@/\s]*@/i,
    (_m, scheme: string | undefined) => `${scheme ?? ''}***@`,
  )
}

export type NatsUrlCredentials = { username: string; password: string } | { token: string }

/**
 * Moves user info out of `nats.endpoint` (`nats://user:pass@host:4222`,
 * `nats://token@host:4222`, as the original's client honoured them): the
 * endpoint without it, and the credentials it held (the same for every
 * server, or a problem). nats.js ignores user info in server URLs.
 */
export function splitEndpointCredentials(endpoint: string): {
  endpoint: string
  credentials?: NatsUrlCredentials
  problem?: string
} {
  const servers = parseNatsEndpoints(endpoint)
  let found: NatsUrlCredentials | undefined
  let key: string | undefined
  const clean: string[] = []
  for (const s of servers) {
    const withScheme = s.includes('://') ? s : `nats://${s}`
    let u: URL
    try {
      u = new URL(withScheme)
    } catch {
      clean.push(s)
      continue
    }
    if (u.username === '' && u.password === '') {
      clean.push(s)
      continue
    }
    const user = decodeURIComponent(u.username)
    const pass = decodeURIComponent(u.password)
    const creds: NatsUrlCredentials =
      u.password === '' ? { token: user } : { username: user, password: pass }
    const k = JSON.stringify(creds)
    if (key !== undefined && k !== key)
      return { endpoint, problem: 'the servers of nats.endpoint carry different credentials' }
    key = k
    found = creds
    u.username = ''
    u.password = ''
    clean.push(s.includes('://') ? u.toString().replace(/\/$/, '') : u.host)
  }
  return found ? { endpoint: clean.join(','), credentials: found } : { endpoint }
}

export function natsEndpointProblem(endpoint: string): string | null {
  const servers = parseNatsEndpoints(endpoint).map(redactUrl)
  if (servers.length === 0) return 'must name at least one NATS server (host:port)'
  for (const s of servers) {
    const withScheme = s.includes('://') ? s : `nats://${s}`
    let u: URL
    try {
      u = new URL(withScheme)
    } catch {
      return `'${s}' is not a NATS server address (host:port or nats://host:port)`
    }
    if (!NATS_SCHEMES.includes(u.protocol)) {
      return `'${s}' has an unsupported scheme (use nats://, tls://, ws:// or wss://)`
    }
    if (u.hostname === '') return `'${s}' has no host`
    if (u.pathname !== '' && u.pathname !== '/') return `'${s}' must not have a path`
  }
  return null
}

export interface HostPort {
  host: string
  port: number | undefined
}

/** Parses `host:port`, `ip:port`, `[ipv6]:port`, or a bare host. */
export function parseHostPort(s: string): HostPort | null {
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(s)
  if (v6) return { host: v6[1] ?? '', port: v6[2] === undefined ? undefined : Number(v6[2]) }
  const m = /^([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(s)
  if (!m) return null
  return { host: m[1] ?? '', port: m[2] === undefined ? undefined : Number(m[2]) }
}

export function endpointProblem(s: string): string | null {
  const hp = parseHostPort(s)
  if (!hp || hp.host === '' || hp.host.startsWith('.') || hp.host.startsWith('-')) {
    return `'${s}' is not an endpoint (host:port, ip:port or [ipv6]:port)`
  }
  if (hp.port !== undefined && (hp.port < 1 || hp.port > 65535)) {
    return `'${s}' has a port outside 1..65535`
  }
  return null
}

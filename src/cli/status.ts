/**
 * `rhio status [--url URL] [--json]`: fetches /health and prints it as
 * tables (peers, streams and buckets with lag, transfers with progress), then
 * one line per problem. Exit 0 when healthy and connected to a peer, 1 when
 * not, 3 when the node cannot be reached. Works against the original rhio
 * too (it reads only what is there).
 */
import { table } from './common/table.js'
import type { Config } from '../config/index.js'
import { EXIT, exitCodeFor } from './common/exit-codes.js'
import { loadFromFlags, printError, type ConfigFlags } from './common/flags.js'
import type { CliIO } from './common/io.js'

export interface StatusFlags extends ConfigFlags {
  url?: string
  /** Print the /health body and the problems as JSON instead of tables. */
  json?: boolean
  /** Exit by /health alone: no connected peer or a failed transfer is listed, not failed. */
  healthOnly?: boolean
  /** Request timeout in ms (default 5000). */
  timeoutMs?: number
}

type Json = Record<string, unknown>

const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {})
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : [])
const str = (v: unknown): string =>
  v === null || v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v)

function shortKey(v: unknown): string {
  const s = str(v)
  return /^[0-9a-f]{64}$/.test(s) ? `${s.slice(0, 8)}…` : s
}

function when(v: unknown): string {
  if (typeof v !== 'number') return 'never'
  return new Date(v)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z')
}

function bytes(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '-'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`
}

/** Entries an author's logs of one kind still lack here (sum of `sync[].lag`), '-' when unknown. */
function lagOf(sync: Json[], author: unknown, kind: string): string {
  let total: number | undefined
  for (const s of sync) {
    if (s.author === author && s.kind === kind && typeof s.lag === 'number') {
      total = (total ?? 0) + s.lag
    }
  }
  return total === undefined ? '-' : String(total)
}

/**
 * Every problem a /health body shows, one line each: the node's reasons
 * (`msg`), no connected peer, failed transfers. Empty when all is well.
 */
export function healthProblems(body: unknown): string[] {
  const h = obj(body)
  const out: string[] = []
  if (typeof h.msg === 'string' && h.msg !== '') out.push(...h.msg.split('; '))
  else if (h.status !== 'Running') out.push(`status is ${str(h.status)}`)
  if (Array.isArray(h.peers)) {
    const peers = list(h.peers)
    if (!peers.some((p) => p.connected === true)) {
      out.push(
        peers.length === 0
          ? 'no connected peer (no node configured under nodes, none connected to this one)'
          : 'no connected peer',
      )
    }
    for (const p of peers) {
      if (p.connected !== true && p.configured === true && p.last_error) {
        out.push(`peer ${shortKey(p.id)}: ${str(p.last_error)}`)
      }
    }
  }
  for (const t of list(h.transfers)) {
    if (t.state === 'failed') {
      out.push(`transfer ${str(t.local_bucket)}/${str(t.key)} failed: ${str(t.last_error)}`)
    }
  }
  return out
}

/** Renders a /health body as readable text (problems are listed apart, see healthProblems). */
export function renderHealth(body: unknown, url: string): string {
  const h = obj(body)
  const out: string[] = []
  const node = obj(h.node)
  const sync = list(h.sync)
  out.push(`rhio at ${url}${node.version ? ` (version ${str(node.version)})` : ''}`)
  if (node.public_key) out.push(`  public key:  ${str(node.public_key)}`)
  if (node.network_id) out.push(`  network id:  ${str(node.network_id)}`)
  out.push(`  status:      ${str(h.status)}`)
  if (h.nats !== undefined) {
    const n = obj(h.nats)
    const err = n.last_error ? ` (${str(n.last_error)})` : ''
    out.push(`  nats:        ${str(n.status)} ${str(n.server)}${err}`)
  }
  if (Array.isArray(h.peers)) {
    const peers = list(h.peers)
    const connected = peers.filter((p) => p.connected === true).length
    out.push(
      '',
      `PEERS (${connected} connected, ${peers.filter((p) => p.configured).length} configured)`,
    )
    out.push(
      peers.length === 0
        ? '  (none)'
        : table(
            ['PEER', 'STATE', 'ADDRESS', 'LAST SEEN', 'LAST ERROR'],
            peers.map((p) => [
              shortKey(p.id),
              `${p.connected === true ? 'connected' : 'disconnected'}${p.configured === true ? '' : ' (discovered)'}`,
              list(p.addresses).length > 0 ? str((p.addresses as unknown[])[0]) : '-',
              when(p.last_seen),
              str(p.last_error),
            ]),
          ),
    )
  }
  const state = (e: Json): string[] => [str(e.status), when(e.last_check_time), str(e.last_error)]
  const streams = obj(h.streams)
  const streamRows = [
    ...list(streams.published).map((s) => [
      'published',
      str(s.stream),
      str(s.subject),
      '-',
      '-',
      ...state(s),
    ]),
    ...list(streams.subscribed).map((s) => [
      'subscribed',
      str(s.stream),
      str(s.subject),
      shortKey(s.source),
      lagOf(sync, s.source, 'nats'),
      ...state(s),
    ]),
  ]
  out.push('', 'STREAMS')
  out.push(
    streamRows.length === 0
      ? '  (none configured)'
      : table(
          ['DIRECTION', 'STREAM', 'SUBJECT', 'SOURCE', 'LAG', 'STATUS', 'CHECKED', 'LAST ERROR'],
          streamRows,
        ),
  )
  const stores = obj(h.stores)
  const storeRows = [
    ...list(stores.published).map((b) => ['published', str(b.bucket), '-', '-', ...state(b)]),
    ...list(stores.subscribed).map((b) => [
      'subscribed',
      `${str(b.remote_bucket)} -> ${str(b.local_bucket)}`,
      shortKey(b.source),
      lagOf(sync, b.source, 'blobs'),
      ...state(b),
    ]),
  ]
  out.push('', 'BUCKETS')
  out.push(
    storeRows.length === 0
      ? '  (none configured)'
      : table(
          ['DIRECTION', 'BUCKET', 'SOURCE', 'LAG', 'STATUS', 'CHECKED', 'LAST ERROR'],
          storeRows,
        ),
  )
  if (Array.isArray(h.transfers)) {
    const transfers = list(h.transfers)
    out.push('', 'TRANSFERS')
    out.push(
      transfers.length === 0
        ? '  (none)'
        : table(
            ['OBJECT', 'STATE', 'PROGRESS', 'FROM', 'LAST ERROR'],
            transfers.map((t) => {
              const size = typeof t.size === 'number' ? t.size : 0
              const done = typeof t.done === 'number' ? Math.min(t.done, size) : 0
              const pct = size > 0 ? Math.floor((done / size) * 100) : t.state === 'done' ? 100 : 0
              return [
                `${str(t.local_bucket)}/${str(t.key)}`,
                str(t.state),
                `${pct} % (${bytes(done)} of ${bytes(size)})`,
                shortKey(t.peer),
                str(t.last_error),
              ]
            }),
          ),
    )
  }
  return `${out.join('\n')}\n`
}

/** The node's URL from its config: 127.0.0.1 unless it listens on one address only. */
function localUrl(config: Config): string {
  const h = config.http_bind_host
  const host = h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h
  return `http://${host}:${config.http_bind_port}`
}

export async function status(flags: StatusFlags, io: CliIO): Promise<number> {
  let base: string
  try {
    base = flags.url ?? localUrl(loadFromFlags(flags, io).config)
  } catch (err) {
    printError(io, err)
    return exitCodeFor(err)
  }
  const url = `${base.replace(/\/+$/, '')}/health`
  let res: Response
  let body: unknown
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(flags.timeoutMs ?? 5_000) })
    body = await res.json()
  } catch (err) {
    const reason =
      err instanceof Error
        ? err.cause instanceof Error
          ? err.cause.message
          : err.message
        : String(err)
    io.err(`rhio: cannot reach rhio at ${url}: ${reason}\n`)
    return EXIT.UNREACHABLE
  }
  const problems = healthProblems(body)
  if (flags.json) {
    io.out(`${JSON.stringify({ url: base, problems, health: body }, null, 2)}\n`)
  } else {
    io.out(renderHealth(body, base))
    if (problems.length > 0) io.out(`\nPROBLEMS\n${problems.map((p) => `  ${p}\n`).join('')}`)
  }
  const healthy = res.status === 200 && obj(body).status === 'Running'
  return healthy && (flags.healthOnly === true || problems.length === 0) ? EXIT.OK : EXIT.FAILURE
}

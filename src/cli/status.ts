/**
 * `rhio status [--url URL]`: fetches /health and prints it as a table.
 * Exit 0 when healthy, 1 when not, 3 when the node cannot be reached. Works
 * against the original rhio too (it reads only what is there).
 */
import { table } from './common/table.js'
import type { Config } from '../config/index.js'
import { EXIT, exitCodeFor } from './common/exit-codes.js'
import { loadFromFlags, printError, type ConfigFlags } from './common/flags.js'
import type { CliIO } from './common/io.js'

export interface StatusFlags extends ConfigFlags {
  url?: string
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

/** Renders a /health body as readable text. */
export function renderHealth(body: unknown, url: string): string {
  const h = obj(body)
  const out: string[] = []
  const node = obj(h.node)
  out.push(`rhio at ${url}${node.version ? ` (version ${str(node.version)})` : ''}`)
  if (node.public_key) out.push(`  public key:  ${str(node.public_key)}`)
  if (node.network_id) out.push(`  network id:  ${str(node.network_id)}`)
  out.push(`  status:      ${str(h.status)}`)
  if (h.msg !== null && h.msg !== undefined) out.push(`  problems:    ${str(h.msg)}`)
  if (h.nats !== undefined) {
    const n = obj(h.nats)
    const err = n.last_error ? ` (${str(n.last_error)})` : ''
    out.push(`  nats:        ${str(n.status)} ${str(n.server)}${err}`)
  }
  const state = (e: Json): string[] => [str(e.status), when(e.last_check_time), str(e.last_error)]
  const streams = obj(h.streams)
  const streamRows = [
    ...list(streams.published).map((s) => [
      'published',
      str(s.stream),
      str(s.subject),
      '-',
      ...state(s),
    ]),
    ...list(streams.subscribed).map((s) => [
      'subscribed',
      str(s.stream),
      str(s.subject),
      shortKey(s.source),
      ...state(s),
    ]),
  ]
  out.push('', 'STREAMS')
  out.push(
    streamRows.length === 0
      ? '  (none configured)'
      : table(
          ['DIRECTION', 'STREAM', 'SUBJECT', 'SOURCE', 'STATUS', 'CHECKED', 'LAST ERROR'],
          streamRows,
        ),
  )
  const stores = obj(h.stores)
  const storeRows = [
    ...list(stores.published).map((b) => ['published', str(b.bucket), '-', ...state(b)]),
    ...list(stores.subscribed).map((b) => [
      'subscribed',
      `${str(b.remote_bucket)} -> ${str(b.local_bucket)}`,
      shortKey(b.source),
      ...state(b),
    ]),
  ]
  out.push('', 'BUCKETS')
  out.push(
    storeRows.length === 0
      ? '  (none configured)'
      : table(['DIRECTION', 'BUCKET', 'SOURCE', 'STATUS', 'CHECKED', 'LAST ERROR'], storeRows),
  )
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
  io.out(renderHealth(body, base))
  return res.status === 200 && obj(body).status === 'Running' ? EXIT.OK : EXIT.FAILURE
}

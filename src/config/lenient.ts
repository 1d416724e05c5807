/**
 * What makes a configuration the original rhio accepts load here too, before
 * the schema sees it:
 *
 * - an explicit `null` means "absent" wherever the original reads the key as
 *   an optional value (serde `Option`), as its operator writes them
 *   (`"s3": null`, `"credentials": null`, …); a null for a key the original
 *   requires stays an error;
 * - keys the schema does not know are taken out and reported as warnings
 *   (YAML path and a did-you-mean), as the original ignores them; keys of
 *   older originals (`blobs_dir`, `minio`, `streams`, and `relay` when it is
 *   not a mapping: the old relay server URL) say what replaced them. In strict mode (`--strict-config`, `RHIO_STRICT_CONFIG=1`)
 *   they are errors instead.
 */
import type { z } from 'zod'
import { parseLogLevel } from '../logging/levels.js'
import { yamlPath } from './issues.js'
import { defOf, keysAt, suggestKey, unwrap } from './keys.js'
import { configSchema } from './schema.js'

/** A key that was ignored, with why (shown in the log, /health and the status page). */
export interface ConfigWarning {
  /** YAML path such as `nats.extra` or `nodes[0].foo`. */
  path: string
  message: string
}

/**
 * Paths (`[]`: any list element) whose explicit null the original reads as
 * absent: its `Option` fields. `bind_port`, `http_bind_port`, `nodes`,
 * `private_key_path`, `network_id`, `nats` and `nats.endpoint` are not here:
 * the original fails on a null there, and so does rhio.
 */
export const NULL_MEANS_ABSENT: readonly string[] = [
  'log_level',
  'protocol',
  'discovery',
  'publish',
  'subscribe',
  'nats.credentials',
  'nats.credentials.username',
  'nats.credentials.password',
  'nats.credentials.nkey',
  'nats.credentials.token',
  's3',
  's3.credentials',
  's3.credentials.access_key',
  's3.credentials.secret_key',
  's3.credentials.security_token',
  's3.credentials.session_token',
  's3.credentials.expiration',
  's3.watcher_poll_interval_millis',
]

/** Top-level keys of older originals, and what took their place. */
export const REMOVED_KEYS: Readonly<Record<string, string>> = {
  blobs_dir: 'blobs live in the S3 buckets now (s3, publish.s3_buckets, subscribe.s3_buckets)',
  minio: 'replaced by the s3 block',
  streams: 'replaced by publish.nats_subjects and subscribe.nats_subjects',
  relay:
    "the original's relay server URL; rhio's relays are set in the relay block (relay.reserve, relay.serve)",
}

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A copy of `raw` without the nulls that mean "absent" (see NULL_MEANS_ABSENT). */
export function dropOptionalNulls(raw: unknown): unknown {
  const drop = (v: unknown, path: string): unknown => {
    if (Array.isArray(v)) return v.map((e) => drop(e, `${path}[]`))
    if (!isObj(v)) return v
    const out: Obj = {}
    for (const [k, child] of Object.entries(v)) {
      const p = path === '' ? k : `${path}.${k}`
      if (child === null && NULL_MEANS_ABSENT.includes(p)) continue
      out[k] = drop(child, p)
    }
    return out
  }
  return drop(raw, '')
}

/** `raw` without the keys the schema does not know, and a warning for each one. */
export function splitUnknownKeys(raw: unknown): { known: unknown; unknown: ConfigWarning[] } {
  const unknown: ConfigWarning[] = []
  const walk = (v: unknown, schema: z.ZodType, path: readonly PropertyKey[]): unknown => {
    const d = defOf(unwrap(schema))
    if (Array.isArray(v)) {
      if (d.type !== 'array' || !d.element) return v
      const element = d.element
      return v.map((e, i) => walk(e, element, [...path, i]))
    }
    if (!isObj(v) || d.type !== 'object' || !d.shape) return v
    const shape = d.shape
    const out: Obj = {}
    for (const [k, child] of Object.entries(v)) {
      const next = Object.hasOwn(shape, k) ? shape[k] : undefined
      // An older original's `relay` (a relay server URL) is not rhio's relay block.
      const oldRelay = path.length === 0 && k === 'relay' && !isObj(child)
      if (next === undefined || oldRelay) {
        unknown.push({ path: yamlPath([...path, k]), message: unknownKeyMessage(path, k) })
      } else {
        out[k] = walk(child, next, [...path, k])
      }
    }
    return out
  }
  const known = walk(raw, configSchema, [])
  return { known, unknown }
}

function unknownKeyMessage(path: readonly PropertyKey[], key: string): string {
  const removed =
    path.length === 0 && Object.hasOwn(REMOVED_KEYS, key) ? REMOVED_KEYS[key] : undefined
  if (removed !== undefined) return `no longer used (${removed})`
  const hint = suggestKey(key, keysAt(path))
  return `unknown key${hint ? ` (did you mean '${hint}'?)` : ''}`
}

/**
 * `log_level` read the original's way: its filter parser dropped directives
 * it could not parse and kept the rest. Here each such directive is dropped
 * with a warning (none left: the default). Input that is not a string, or
 * parses as a whole, is left to the schema.
 */
export function dropBadLogDirectives(raw: unknown): { value: unknown; dropped: ConfigWarning[] } {
  if (!isObj(raw) || typeof raw.log_level !== 'string') return { value: raw, dropped: [] }
  const spec = raw.log_level
  if (parseLogLevel(spec).ok) return { value: raw, dropped: [] }
  const dropped: ConfigWarning[] = []
  const kept: string[] = []
  for (const part of spec.split(',')) {
    const r = parseLogLevel(part.trim())
    if (part.trim() !== '' && r.ok) kept.push(part.trim())
    else if (!r.ok)
      dropped.push({
        path: 'log_level',
        message: `directive '${part.trim()}' ignored: ${r.reason}`,
      })
  }
  const value: Obj = { ...raw }
  if (kept.length > 0) value.log_level = kept.join(',')
  else delete value.log_level
  return { value, dropped }
}

/** Whether the environment asks for strict mode (`RHIO_STRICT_CONFIG=1` or `true`). */
export function strictFromEnv(env: Readonly<Record<string, string | undefined>>): boolean {
  const v = env.RHIO_STRICT_CONFIG?.trim().toLowerCase()
  return v === '1' || v === 'true' || v === 'yes'
}

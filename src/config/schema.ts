/**
 * The one configuration schema: types, defaults and per-field messages. Keys
 * and meanings of the original rhio are kept unchanged; rhio's additions are
 * additive (see docs/CONFIG.md). Cross-entry rules live in rules.ts.
 */
import { z } from 'zod'
import { parseLogLevel } from '../logging/levels.js'
import { CHUNK_GROUP_BYTES, DEFAULTS, S3_MAX_PART_BYTES, S3_MIN_PART_BYTES } from './defaults.js'
import { endpointProblem, natsEndpointProblem } from './endpoints.js'
import { subjectProblem } from './subject.js'

const HEX64 = /^[0-9a-fA-F]{64}$/

function refined(base: z.ZodString, problem: (s: string) => string | null): z.ZodType<string> {
  return base.superRefine((s, ctx) => {
    const p = problem(s)
    if (p !== null) ctx.addIssue({ code: 'custom', message: p })
  })
}

const nonEmpty = (): z.ZodString => z.string().min(1)
const port = (): z.ZodInt => z.int().min(0).max(65535)
const positive = (): z.ZodInt => z.int().min(1)

export const publicKey = (): z.ZodType<string> =>
  z
    .string()
    .superRefine((s, ctx) => {
      if (!HEX64.test(s)) ctx.addIssue({ code: 'custom', message: 'must be 64 hex characters' })
    })
    .transform((s) => s.toLowerCase())

const subject = (): z.ZodType<string> => refined(z.string(), subjectProblem)

/** JetStream stream names: no whitespace, `.`, `*`, `>`, path separators. */
const streamName = (): z.ZodType<string> =>
  refined(z.string(), (s) =>
    s.length === 0
      ? 'must not be empty'
      : /[\s.*>/\\]/.test(s)
        ? "must be a JetStream stream name (no whitespace, '.', '*', '>', '/' or '\\')"
        : null,
  )

const bucketName = (): z.ZodType<string> =>
  refined(z.string(), (s) =>
    s.length === 0 ? 'must not be empty' : s.includes('/') ? "must not contain '/'" : null,
  )

const logLevel = (): z.ZodType<string> =>
  refined(z.string(), (s) => {
    const r = parseLogLevel(s)
    return r.ok ? null : r.reason
  })

const natsCredentials = z
  .strictObject({
    username: nonEmpty().optional(),
    password: z.string().optional(),
    nkey: nonEmpty().optional(),
    token: nonEmpty().optional(),
  })
  .superRefine((c, ctx) => {
    const given = (['username', 'password', 'nkey', 'token'] as const).filter(
      (k) => c[k] !== undefined,
    )
    const userPass = c.username !== undefined && c.password !== undefined
    const ok =
      (given.length === 2 && userPass) ||
      (given.length === 1 && (c.nkey !== undefined || c.token !== undefined))
    if (!ok) {
      ctx.addIssue({
        code: 'custom',
        message:
          'give exactly one of username + password, nkey or token' +
          ` (found ${given.length === 0 ? 'none' : given.join(', ')})`,
      })
    }
    if (c.nkey !== undefined && !/^SU[A-Z2-7]{56}$/.test(c.nkey)) {
      ctx.addIssue({
        code: 'custom',
        path: ['nkey'],
        message: "must be a NATS user nkey seed (58 characters starting with 'SU')",
      })
    }
  })

const nats = z.strictObject({
  endpoint: refined(z.string(), natsEndpointProblem).default(DEFAULTS.nats_endpoint),
  credentials: natsCredentials.optional(),
})

const s3 = z.strictObject({
  endpoint: refined(z.string(), (s) => {
    try {
      const u = new URL(s)
      return u.protocol === 'http:' || u.protocol === 'https:'
        ? null
        : 'must be an http:// or https:// URL'
    } catch {
      return 'must be a URL such as http://localhost:9000'
    }
  }),
  region: nonEmpty(),
  credentials: z.strictObject({
    access_key: nonEmpty(),
    secret_key: nonEmpty(),
    // Accepted for compatibility with the original's rust-s3 credentials.
    session_token: z.string().optional(),
    security_token: z.string().optional(),
    expiration: z.string().optional(),
  }),
  watcher_poll_interval_millis: positive().default(DEFAULTS.s3_watcher_poll_interval_millis),
})

const node = z.strictObject({
  public_key: publicKey(),
  endpoints: z.array(refined(z.string(), endpointProblem)).default([]),
})

const protocol = z.strictObject({
  poll_interval_seconds: positive().default(DEFAULTS.protocol_poll_interval_seconds),
  resync_interval_seconds: positive().default(DEFAULTS.protocol_resync_interval_seconds),
})

const discovery = z.strictObject({
  query_interval_seconds: positive().default(DEFAULTS.discovery_query_interval_seconds),
  /** Reserved (no effect yet; see docs/CONFIG.md). */
  mdns: z.boolean().default(DEFAULTS.discovery_mdns),
})

const access = z.strictObject({
  policy: z.enum(['open', 'known']).default(DEFAULTS.access_policy),
  allow_public_keys: z.array(publicKey()).default([]),
})

const publish = z.strictObject({
  s3_buckets: z.array(bucketName()).default([]),
  nats_subjects: z.array(z.strictObject({ subject: subject(), stream: streamName() })).default([]),
})

const subscribe = z.strictObject({
  s3_buckets: z
    .array(
      z.strictObject({
        remote_bucket: bucketName(),
        local_bucket: bucketName(),
        public_key: publicKey(),
        delete: z.boolean().default(false),
      }),
    )
    .default([]),
  nats_subjects: z
    .array(z.strictObject({ subject: subject(), public_key: publicKey(), stream: streamName() }))
    .default([]),
})

const state = z.strictObject({
  backend: z.enum(['nats', 'dir']).default(DEFAULTS.state_backend),
  kv_bucket: refined(z.string(), (s) =>
    /^[A-Za-z0-9_-]+$/.test(s) ? null : 'must be a JetStream KV bucket name (A-Z a-z 0-9 _ -)',
  ).default(DEFAULTS.state_kv_bucket),
})

const L = DEFAULTS.limits
const limits = z.strictObject({
  max_entry_bytes: positive().default(L.max_entry_bytes),
  max_frame_bytes: positive().default(L.max_frame_bytes),
  max_request_bytes: positive().default(L.max_request_bytes),
  request_timeout_millis: positive().default(L.request_timeout_millis),
  max_batch_entries: positive().default(L.max_batch_entries),
  max_connections: positive().default(L.max_connections),
  max_sync_sessions: positive().default(L.max_sync_sessions),
  max_sync_sessions_per_peer: positive().default(L.max_sync_sessions_per_peer),
  max_streams_per_connection: positive().default(L.max_streams_per_connection),
  max_blob_requests: positive().default(L.max_blob_requests),
  // Yamux's initial window is 256 KiB; FramedStream's read buffer bound assumes at most 8 MiB
  stream_window_bytes: z
    .int()
    .min(256 * 1024)
    .max(8 * 1024 * 1024)
    .default(L.stream_window_bytes),
})

const blobs = z.strictObject({
  part_size_bytes: z
    .int()
    .min(S3_MIN_PART_BYTES)
    .max(S3_MAX_PART_BYTES)
    .multipleOf(CHUNK_GROUP_BYTES)
    .default(DEFAULTS.blobs.part_size_bytes),
  max_concurrent_transfers: positive().default(DEFAULTS.blobs.max_concurrent_transfers),
  parts_in_flight: z.int().min(1).max(16).default(DEFAULTS.blobs.parts_in_flight),
})

const R = DEFAULTS.relay
const relay = z.strictObject({
  serve: z.boolean().default(R.serve),
  reserve: z.enum(['never', 'auto', 'always']).default(R.reserve),
  max_reservations: positive().default(R.max_reservations),
  reservation_ttl_seconds: positive().default(R.reservation_ttl_seconds),
  max_circuits_per_connection: positive().default(R.max_circuits_per_connection),
  circuit_duration_seconds: positive().default(R.circuit_duration_seconds),
  circuit_bytes: z
    .int()
    .min(1024 * 1024)
    .default(R.circuit_bytes),
  max_requests_per_minute: positive().default(R.max_requests_per_minute),
})

export const configSchema = z.strictObject({
  bind_port: port().default(DEFAULTS.bind_port),
  bind_host: nonEmpty().default(DEFAULTS.bind_host),
  announce_addresses: z.array(refined(z.string(), endpointProblem)).default([]),
  http_bind_port: port().default(DEFAULTS.http_bind_port),
  http_bind_host: nonEmpty().default(DEFAULTS.http_bind_host),
  http_allowed_hosts: z.array(nonEmpty()).default([]),
  network_id: nonEmpty().default(DEFAULTS.network_id),
  private_key_path: nonEmpty().default(DEFAULTS.private_key_path),
  data_dir: nonEmpty().default(DEFAULTS.data_dir),
  log_level: logLevel().optional(),
  nats: nats.prefault({}),
  s3: s3.optional(),
  nodes: z.array(node).default([]),
  protocol: protocol.prefault({}),
  discovery: discovery.prefault({}),
  publish: publish.prefault({}),
  subscribe: subscribe.prefault({}),
  state: state.prefault({}),
  limits: limits.prefault({}),
  blobs: blobs.prefault({}),
  access: access.prefault({}),
  relay: relay.prefault({}),
})

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T

/** The parsed, defaulted configuration as the schema produces it (mutable). */
export type ConfigData = z.output<typeof configSchema>
/** The configuration a node runs with: validated, defaulted and frozen. */
export type Config = DeepReadonly<ConfigData>

/**
 * docs/PROTOCOL.md states timings and sizes; these tests hold each to the
 * constant in the code (as config-docs and security-doc do for their files).
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import {
  BLOB_FRAME_BYTES,
  MAX_REQUEST_BOUNDARIES,
  MAX_REQUEST_BYTES,
  PEER_COOLDOWN_MS,
  REQUEST_TIMEOUT_MS,
} from '../../src/blobs/constants.js'
import { DEFAULTS } from '../../src/config/index.js'
import { DIAL_RETRY } from '../../src/p2p/dialer.js'
import { DEFAULT_HIGH_WATER_BYTES } from '../../src/p2p/framing.js'
import { BAN_MS, PENALTY } from '../../src/p2p/penalty-box.js'
import { DEFAULT_MAX_UPSTREAMS, SESSION_RETRY } from '../../src/sync/requester.js'
import { PERSIST_DELAY_MS } from '../../src/sync/want.js'
import { DEFAULT_HEARTBEAT_MS } from '../../src/sync/wire.js'

const text = readFile(new URL('../../../docs/PROTOCOL.md', import.meta.url), 'utf8').then((t) =>
  t.replace(/\s+/g, ' '),
)

const s = (ms: number): string => `${ms / 1000} s`
const KiB = (b: number): string => `${b / 1024} KiB`
const MiB = (b: number): string => `${b / 2 ** 20} MiB`
const min = (ms: number): string => `${ms / 60_000} min`

/** Each phrase PROTOCOL.md must contain, built from the constant it states. */
const FACTS: Array<[string, string]> = [
  [
    'dial backoff',
    `jittered exponential backoff (${s(DIAL_RETRY.minMs)} doubling, capped by \`discovery.query_interval_seconds\`)`,
  ],
  [
    'session backoff',
    `retry with jittered backoff (${s(SESSION_RETRY.minMs)} doubling to ${s(SESSION_RETRY.maxMs)})`,
  ],
  ['upstreams', `up to ${DEFAULT_MAX_UPSTREAMS}, the author first`],
  ['heartbeat', `heartbeat every ${s(DEFAULT_HEARTBEAT_MS)} when idle`],
  ['stream pause', `pauses once more than ${MiB(DEFAULT_HIGH_WATER_BYTES)} of complete frames`],
  ['persist delay', `delivered entries or ${PERSIST_DELAY_MS} ms`],
  ['frame limit', `\`limits.max_frame_bytes\` (${MiB(DEFAULTS.limits.max_frame_bytes)})`],
  ['request limit', `\`limits.max_request_bytes\` (${KiB(DEFAULTS.limits.max_request_bytes)})`],
  [
    'request timeout',
    `\`limits.request_timeout_millis\` (${s(DEFAULTS.limits.request_timeout_millis)})`,
  ],
  ['blob frames', `Frames are at most ${KiB(BLOB_FRAME_BYTES)} (tag included)`],
  [
    'blob request limit',
    `request frame above ${KiB(MAX_REQUEST_BYTES)} or more than ${MAX_REQUEST_BOUNDARIES} range boundaries`,
  ],
  ['blob request timeout', `a request waits at most ${s(REQUEST_TIMEOUT_MS)} for its frame`],
  ['busy cooldown', `\`busy\` → avoided ${s(PEER_COOLDOWN_MS.busy)}`],
  [
    'not-found cooldown',
    `\`not-found\`/\`unavailable\` → avoided ${s(PEER_COOLDOWN_MS['not-found'])}`,
  ],
  ['cut stream cooldown', `a cut stream → avoided ${s(PEER_COOLDOWN_MS.error)}`],
  [
    'bad data',
    `(\`bad-blob-data\`, weight ${PENALTY['bad-blob-data']}), avoided ${min(PEER_COOLDOWN_MS.corrupt)}`,
  ],
  ['malformed request', `(\`malformed\`, weight ${PENALTY.malformed})`],
  ['ban', `a penalty towards a ${BAN_MS / 60_000}-minute ban`],
]

describe('docs/PROTOCOL.md matches the code', () => {
  for (const [what, phrase] of FACTS) {
    it(`states the ${what}: "${phrase}"`, async () => {
      assert.ok((await text).includes(phrase), `PROTOCOL.md lacks: ${phrase}`)
    })
  }
})

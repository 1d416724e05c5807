/**
 * docs/SECURITY.md states limits, defaults and penalty weights; these tests
 * hold it to the code (and the p2p defaults to the config defaults).
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { DEFAULTS, schemaKeyPaths } from '../../src/config/index.js'
import { MAX_YAML_ALIASES, MAX_YAML_DEPTH } from '../../src/config/yaml.js'
import { p2pLimits } from '../../src/node/p2p-node.js'
import { BAN_MS, BAN_THRESHOLD, PENALTY, SCORE_DECAY_MS } from '../../src/p2p/penalty-box.js'
import { HELLO_STREAMS } from '../../src/sync/hello.js'

const doc = readFile(new URL('../../../docs/SECURITY.md', import.meta.url), 'utf8')

/** Table rows of the document as cells, by first cell. */
async function rows(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  for (const line of (await doc).split('\n')) {
    if (!line.startsWith('|') || line.startsWith('| ---')) continue
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim())
    out.set(cells[0]!, cells)
  }
  return out
}

describe('docs/SECURITY.md matches the code', () => {
  it('lists every limits.* key with its default', async () => {
    const table = await rows()
    const L = DEFAULTS.limits as Record<string, number>
    for (const path of schemaKeyPaths().filter((p) => p.startsWith('limits.'))) {
      const row = table.get(`\`${path}\``)
      assert.ok(row, `${path} has a row`)
      const key = path.slice('limits.'.length)
      assert.ok(
        row[1]?.startsWith(`\`${L[key]}\``),
        `${path}: doc says ${row[1]}, default is ${L[key]}`,
      )
    }
  })

  it('the p2p limits are the config limits, key by key', () => {
    const L = DEFAULTS.limits
    assert.deepEqual(p2pLimits(L), {
      maxEntryBytes: L.max_entry_bytes,
      maxFrameBytes: L.max_frame_bytes,
      maxRequestBytes: L.max_request_bytes,
      requestTimeoutMs: L.request_timeout_millis,
      maxBatchEntries: L.max_batch_entries,
      maxConnections: L.max_connections,
      maxSyncSessions: L.max_sync_sessions,
      maxSyncSessionsPerPeer: L.max_sync_sessions_per_peer,
      maxStreamsPerConnection: L.max_streams_per_connection,
      streamWindowBytes: L.stream_window_bytes,
    })
  })

  it('states the penalty weight of every reason', async () => {
    const table = await rows()
    for (const [reason, weight] of Object.entries(PENALTY)) {
      const row = table.get(String(weight))
      assert.ok(row?.[1]?.includes(`\`${reason}\``), `${reason} is listed with weight ${weight}`)
    }
  })

  it('states the ban rule, hello streams and YAML limits', async () => {
    const text = (await doc).replace(/\s+/g, ' ')
    assert.ok(text.includes(`${SCORE_DECAY_MS / 1000} s time constant`))
    assert.ok(text.includes(`at ${BAN_THRESHOLD} the peer is disconnected`))
    assert.ok(text.includes(`banned for ${BAN_MS / 60_000} minutes`))
    const table = await rows()
    assert.equal(
      table.get('Hello streams per connection and direction')?.[1],
      String(HELLO_STREAMS),
    )
    assert.equal(
      table.get('Config YAML nesting; alias expansions')?.[1],
      `${MAX_YAML_DEPTH} levels; ${MAX_YAML_ALIASES}`,
    )
  })
})

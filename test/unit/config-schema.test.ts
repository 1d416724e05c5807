import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError, parseConfig } from '../../src/config/index.js'

const PK = 'ab'.repeat(32)

/** The "path: message" lines of the ConfigError `raw` produces. */
function problems(raw: unknown): string[] {
  try {
    parseConfig(raw, { cwd: '/srv', strict: true })
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`)
    assert.equal(err.code, 'CONFIG_INVALID')
    return err.violations.map((v) => `${v.path}: ${v.message}`)
  }
  assert.fail('expected a ConfigError')
}

function assertProblem(raw: unknown, expected: string): void {
  const list = problems(raw)
  assert.ok(list.includes(expected), `expected '${expected}' among:\n${list.join('\n')}`)
}

describe('config schema: defaults', () => {
  it('an empty file gives every default', () => {
    const c = parseConfig({}, { cwd: '/srv' })
    assert.equal(c.bind_port, 9102)
    assert.equal(c.bind_host, '0.0.0.0')
    assert.equal(c.http_bind_port, 3000)
    assert.equal(c.http_bind_host, '0.0.0.0')
    assert.equal(c.network_id, 'rhio-default-network-1')
    assert.equal(c.private_key_path, '/srv/private.key')
    assert.equal(c.data_dir, '/srv/rhio-data')
    assert.equal(c.log_level, undefined)
    assert.deepEqual(c.nats, { endpoint: 'localhost:4222' })
    assert.equal(c.s3, undefined)
    assert.deepEqual(c.nodes, [])
    assert.deepEqual(c.protocol, { poll_interval_seconds: 3, resync_interval_seconds: 60 })
    assert.deepEqual(c.discovery, { query_interval_seconds: 5, mdns: false })
    assert.deepEqual(c.publish, { s3_buckets: [], nats_subjects: [] })
    assert.deepEqual(c.subscribe, { s3_buckets: [], nats_subjects: [] })
    assert.deepEqual(c.state, { backend: 'nats', kv_bucket: 'rhio-state' })
    assert.deepEqual(c.limits, {
      max_entry_bytes: 8 * 1024 * 1024,
      max_frame_bytes: 16 * 1024 * 1024,
      max_request_bytes: 256 * 1024,
      request_timeout_millis: 10_000,
      max_batch_entries: 1024,
      max_connections: 256,
      max_sync_sessions: 128,
      max_sync_sessions_per_peer: 32,
      max_streams_per_connection: 256,
      max_blob_requests: 16,
      stream_window_bytes: 1024 * 1024,
    })
    assert.deepEqual(c.blobs, {
      part_size_bytes: 8 * 1024 * 1024,
      max_concurrent_transfers: 4,
      parts_in_flight: 4,
    })
    // relays are off unless configured: no relay transport, nothing served
    assert.deepEqual(c.relay, {
      serve: false,
      reserve: 'never',
      max_reservations: 15,
      reservation_ttl_seconds: 3600,
      max_circuits_per_connection: 16,
      circuit_duration_seconds: 600,
      circuit_bytes: 256 * 1024 * 1024,
      max_requests_per_minute: 30,
    })
  })

  it('s3 defaults its poll interval; subscriptions default delete to false', () => {
    const c = parseConfig({
      s3: {
        endpoint: 'http://localhost:9000',
        region: 'r',
        credentials: { access_key: 'a', secret_key: 'b' },
      },
      subscribe: { s3_buckets: [{ remote_bucket: 'x', local_bucket: 'y', public_key: PK }] },
    })
    assert.equal(c.s3?.watcher_poll_interval_millis, 60_000)
    assert.equal(c.subscribe.s3_buckets[0]?.delete, false)
  })

  it('the result is deeply frozen', () => {
    const c = parseConfig({ publish: { s3_buckets: ['a'] } })
    assert.ok(Object.isFrozen(c))
    assert.ok(Object.isFrozen(c.publish))
    assert.ok(Object.isFrozen(c.publish.s3_buckets))
    assert.throws(() => {
      ;(c as { bind_port: number }).bind_port = 1
    }, TypeError)
  })

  it('public keys are normalised to lowercase', () => {
    const c = parseConfig({ nodes: [{ public_key: PK.toUpperCase(), endpoints: [] }] })
    assert.equal(c.nodes[0]?.public_key, PK)
  })

  it('protocol accepts the original form (both keys) and either key alone', () => {
    const both = parseConfig({ protocol: { poll_interval_seconds: 1, resync_interval_seconds: 5 } })
    assert.deepEqual(both.protocol, { poll_interval_seconds: 1, resync_interval_seconds: 5 })
    const one = parseConfig({ protocol: { resync_interval_seconds: 7 } })
    assert.deepEqual(one.protocol, { poll_interval_seconds: 3, resync_interval_seconds: 7 })
  })
})

describe('config schema: per-field violations name their YAML path', () => {
  it('unknown keys at any depth (strict mode), with a suggestion for typos', () => {
    const list = problems({
      http_port: 1,
      nats: { endpoint: 'x:1', extra: true },
      subscribe: { nats_subjects: [{ subject: 'a', public_key: PK, stream: 's', foo: 1 }] },
    })
    assert.ok(
      list.includes("http_port: unknown key (did you mean 'http_bind_port'?)"),
      list.join('\n'),
    )
    assert.ok(list.includes('nats.extra: unknown key'), list.join('\n'))
    assert.ok(list.includes('subscribe.nats_subjects[0].foo: unknown key'), list.join('\n'))
  })

  it('ports must be integers in 0..65535', () => {
    assertProblem({ bind_port: 70000 }, 'bind_port: must be at most 65535 (got 70000)')
    assertProblem({ http_bind_port: -1 }, 'http_bind_port: must be at least 0 (got -1)')
    assertProblem({ bind_port: 'abc' }, "bind_port: must be a number (got 'abc')")
    assert.equal(problems({ http_bind_port: 1.5 }).length, 1)
  })

  it('public keys must be 64 hex characters', () => {
    const bad = [{ subject: 'a.b', public_key: 'xyz', stream: 's' }]
    assertProblem(
      { subscribe: { nats_subjects: [...bad, ...bad, ...bad] } },
      'subscribe.nats_subjects[2].public_key: must be 64 hex characters',
    )
    assertProblem(
      { nodes: [{ public_key: PK.slice(1) }] },
      'nodes[0].public_key: must be 64 hex characters',
    )
    assertProblem(
      {
        subscribe: {
          s3_buckets: [{ remote_bucket: 'a', local_bucket: 'b', public_key: 'g'.repeat(64) }],
        },
      },
      'subscribe.s3_buckets[0].public_key: must be 64 hex characters',
    )
  })

  it('subjects follow the NATS rules', () => {
    const sub = (subject: string): unknown => ({
      publish: { nats_subjects: [{ subject, stream: 's' }] },
    })
    const at = 'publish.nats_subjects[0].subject'
    assertProblem(sub(''), `${at}: must not be empty`)
    assertProblem(sub('a b'), `${at}: must not contain whitespace`)
    assertProblem(sub('a..b'), `${at}: has an empty token (leading, trailing or double '.')`)
    assertProblem(sub('.a'), `${at}: has an empty token (leading, trailing or double '.')`)
    assertProblem(sub('a.'), `${at}: has an empty token (leading, trailing or double '.')`)
    assertProblem(sub('a.b*'), `${at}: '*' must be a whole token`)
    assertProblem(sub('a.>.b'), `${at}: '>' is only allowed as the last token`)
    assertProblem(sub('a.b>'), `${at}: '>' must be a whole token`)
    assertProblem(
      { subscribe: { nats_subjects: [{ subject: 'x y', public_key: PK, stream: 's' }] } },
      'subscribe.nats_subjects[0].subject: must not contain whitespace',
    )
    for (const ok of ['a', 'a.b.c', 'a.*', '*.*.c', 'a.>', '>', 'Workload.berlin-1.energy_2']) {
      assert.doesNotThrow(() => parseConfig(sub(ok)), ok)
    }
  })

  it('stream names are JetStream stream names', () => {
    assertProblem(
      { publish: { nats_subjects: [{ subject: 'a', stream: 'a.b' }] } },
      "publish.nats_subjects[0].stream: must be a JetStream stream name (no whitespace, '.', '*', '>', '/' or '\\')",
    )
  })

  it('nats.credentials: exactly one of username+password, nkey, token', () => {
    const at = 'nats.credentials: give exactly one of username + password, nkey or token'
    assertProblem({ nats: { credentials: { username: 'u' } } }, `${at} (found username)`)
    assertProblem({ nats: { credentials: { password: 'p' } } }, `${at} (found password)`)
    assertProblem({ nats: { credentials: {} } }, `${at} (found none)`)
    assertProblem(
      { nats: { credentials: { username: 'u', password: 'p', token: 't' } } },
      `${at} (found username, password, token)`,
    )
    assertProblem(
      { nats: { credentials: { token: 't', nkey: 'SU' + 'A'.repeat(56) } } },
      `${at} (found nkey, token)`,
    )
    assertProblem(
      { nats: { credentials: { nkey: 'UABC' } } },
      "nats.credentials.nkey: must be a NATS user nkey seed (58 characters starting with 'SU')",
    )
    for (const credentials of [
      { username: 'u', password: 'p' },
      { token: 't' },
      { nkey: 'SUAEWP3YT73DMGMRNZWPWXL3SNN5ZUPFYX7FANMVISXYFYBIDFNSYV7WUA' },
    ]) {
      assert.doesNotThrow(() => parseConfig({ nats: { credentials } }), JSON.stringify(credentials))
    }
  })

  it('nats.endpoint accepts host:port, nats://host:port and lists', () => {
    for (const endpoint of [
      'localhost:4222',
      'nats://10.0.0.1:4222',
      'a:1, nats://b:2,tls://c:3',
    ]) {
      assert.equal(parseConfig({ nats: { endpoint } }).nats.endpoint, endpoint)
    }
    assertProblem(
      { nats: { endpoint: '' } },
      'nats.endpoint: must name at least one NATS server (host:port)',
    )
    assertProblem(
      { nats: { endpoint: 'http://x:1' } },
      "nats.endpoint: 'http://x:1' has an unsupported scheme (use nats://, tls://, ws:// or wss://)",
    )
  })

  it('nodes endpoints are host:port, ip:port or [ipv6]:port', () => {
    const ok = ['example.org', 'example.org:9102', '10.0.0.1:1', '[::1]:9103']
    assert.doesNotThrow(() => parseConfig({ nodes: [{ public_key: PK, endpoints: ok }] }))
    assertProblem(
      { nodes: [{ public_key: PK, endpoints: ['a:b:c'] }] },
      "nodes[0].endpoints[0]: 'a:b:c' is not an endpoint (host:port, ip:port or [ipv6]:port)",
    )
    assertProblem(
      { nodes: [{ public_key: PK, endpoints: ['x:0'] }] },
      "nodes[0].endpoints[0]: 'x:0' has a port outside 1..65535",
    )
  })

  it('s3 present requires endpoint, region and credentials', () => {
    const list = problems({ s3: {} })
    assert.deepEqual(list.sort(), [
      's3.credentials: is required',
      's3.endpoint: is required',
      's3.region: is required',
    ])
    assertProblem(
      { s3: { endpoint: 'x', region: 'r', credentials: { access_key: 'a', secret_key: 'b' } } },
      's3.endpoint: must be a URL such as http://localhost:9000',
    )
    assertProblem(
      { s3: { endpoint: 'http://x', region: 'r', credentials: { access_key: 'a' } } },
      's3.credentials.secret_key: is required',
    )
  })

  it('limits are positive integers', () => {
    assertProblem(
      { limits: { max_connections: 0 } },
      'limits.max_connections: must be at least 1 (got 0)',
    )
    assertProblem(
      { limits: { max_entry_bytes: 'big' } },
      "limits.max_entry_bytes: must be a number (got 'big')",
    )
  })

  it('blobs.part_size_bytes is a multiple of 16384 and at least 5 MiB', () => {
    assertProblem(
      { blobs: { part_size_bytes: 5 * 1024 * 1024 + 1 } },
      'blobs.part_size_bytes: must be a multiple of 16384 (got 5242881)',
    )
    assertProblem(
      { blobs: { part_size_bytes: 4 * 1024 * 1024 } },
      'blobs.part_size_bytes: must be at least 5242880 (got 4194304)',
    )
    assert.equal(
      parseConfig({ blobs: { part_size_bytes: 5242880 } }).blobs.part_size_bytes,
      5242880,
    )
  })

  it('limits.stream_window_bytes lies between 256 KiB and 8 MiB', () => {
    assertProblem(
      { limits: { stream_window_bytes: 65536 } },
      'limits.stream_window_bytes: must be at least 262144 (got 65536)',
    )
    assertProblem(
      { limits: { stream_window_bytes: 16 * 1024 * 1024 } },
      'limits.stream_window_bytes: must be at most 8388608 (got 16777216)',
    )
    assert.equal(
      parseConfig({ limits: { stream_window_bytes: 4194304 } }).limits.stream_window_bytes,
      4194304,
    )
  })

  it('relay.reserve is never, auto or always; relay limits are positive', () => {
    assertProblem(
      { relay: { reserve: 'sometimes' } },
      "relay.reserve: must be one of 'never', 'auto', 'always' (got 'sometimes')",
    )
    assertProblem(
      { relay: { max_reservations: 0 } },
      'relay.max_reservations: must be at least 1 (got 0)',
    )
    assertProblem(
      { relay: { circuit_bytes: 1000 } },
      'relay.circuit_bytes: must be at least 1048576 (got 1000)',
    )
    const c = parseConfig({ relay: { serve: true, reserve: 'auto' } })
    assert.equal(c.relay.serve, true)
    assert.equal(c.relay.reserve, 'auto')
  })

  it('state.backend is nats or dir', () => {
    assertProblem(
      { state: { backend: 'redis' } },
      "state.backend: must be one of 'nats', 'dir' (got 'redis')",
    )
    assert.equal(parseConfig({ state: { backend: 'dir' } }).state.backend, 'dir')
  })

  it('log_level must parse', () => {
    assertProblem(
      { log_level: 'LOUD' },
      "log_level: unknown level 'LOUD' (use ERROR, WARN, INFO, DEBUG, TRACE or OFF)",
    )
    assertProblem(
      { log_level: 'rhio=' },
      "log_level: unknown level '' in 'rhio=' (use ERROR, WARN, INFO, DEBUG, TRACE or OFF)",
    )
    for (const ok of ['INFO', 'debug', '=TRACE', 'rhio=INFO,libp2p=DEBUG,nats=TRACE']) {
      assert.equal(parseConfig({ log_level: ok }).log_level, ok)
    }
  })

  it('reports every violation at once', () => {
    const list = problems({
      bind_port: 'x',
      nope: 1,
      nats: { credentials: { token: 't', username: 'u' } },
      publish: { s3_buckets: ['a', 'a'], nats_subjects: [{ subject: '', stream: 's' }] },
      subscribe: { nats_subjects: [{ subject: 'a', public_key: 'k', stream: 's' }] },
    })
    assert.equal(list.length, 6, list.join('\n'))
  })

  it('wrong types are named', () => {
    assertProblem({ publish: { s3_buckets: 'a' } }, "publish.s3_buckets: must be a list (got 'a')")
    assertProblem({ nats: 'x' }, "nats: must be a mapping (got 'x')")
    assertProblem(
      { discovery: { mdns: 'yes' } },
      "discovery.mdns: must be true or false (got 'yes')",
    )
  })
})

/**
 * Golden tests: the configurations the original rhio's deployments produce
 * load here unchanged (issue 18). The fixtures are copies of the original's
 * operator output, chart values and example config (test/fixtures/original-deployments).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import {
  checkConfig,
  ConfigError,
  loadConfig,
  NULL_MEANS_ABSENT,
  REMOVED_KEYS,
} from '../../src/config/index.js'
import { tempDir } from '../helpers/tmp.js'

const FIXTURES = fileURLToPath(
  new URL('../../../test/fixtures/original-deployments/', import.meta.url),
)
const fixture = (name: string): string => join(FIXTURES, name)
const PK = 'b2030d8df6c0a8bc53513e1c1746446ff00424e39f0ba25441f76b3d68752b8c'

describe('configs rendered by the original operator (JSON with explicit nulls)', () => {
  it('the minimal RhioService config loads: nulls are absent, defaults apply, no warnings', () => {
    const { config, warnings } = loadConfig({
      path: fixture('operator-rendered-minimal.json'),
      env: {},
      cwd: '/srv',
    })
    assert.deepEqual(warnings, [])
    assert.equal(config.bind_port, 9102)
    assert.equal(config.http_bind_port, 8080)
    assert.equal(config.network_id, 'test')
    assert.equal(config.private_key_path, '/etc/rhio/private-key.txt')
    assert.equal(config.nats.endpoint, 'nats://nats-jetstream.dkg-engine.svc.cluster.local:4222')
    assert.equal(config.nats.credentials, undefined)
    assert.equal(config.s3, undefined)
    assert.equal(config.log_level, undefined)
    assert.deepEqual(config.nodes, [])
    assert.deepEqual(config.protocol, { poll_interval_seconds: 3, resync_interval_seconds: 60 })
    assert.deepEqual(config.discovery, { query_interval_seconds: 5, mdns: false })
    assert.deepEqual(config.publish, { s3_buckets: [], nats_subjects: [] })
    assert.deepEqual(config.subscribe, { s3_buckets: [], nats_subjects: [] })
  })

  it('the full RhioService config loads to the expected settings', () => {
    const { config, warnings } = loadConfig({
      path: fixture('operator-rendered-full.json'),
      env: {},
      cwd: '/srv',
    })
    assert.deepEqual(warnings, [])
    assert.deepEqual(config.s3, {
      endpoint: 'http://localhost:32000',
      region: 'eu-west-01',
      credentials: { access_key: 'access-key', secret_key: 'secret-key' },
      watcher_poll_interval_millis: 60_000,
    })
    assert.deepEqual(config.nats, {
      endpoint: 'nats://nats-jetstream.dkg-engine.svc.cluster.local:4222',
      credentials: { username: 'username', password: 'password' },
    })
    assert.deepEqual(config.nodes, [
      { public_key: PK, endpoints: ['10.0.1.2:9102', '10.0.1.3:9102'] },
    ])
    assert.equal(config.log_level, '=INFO')
    assert.deepEqual(config.publish, {
      s3_buckets: ['source'],
      nats_subjects: [{ subject: 'test.subject', stream: 'test-stream' }],
    })
    assert.deepEqual(config.subscribe, {
      s3_buckets: [
        { remote_bucket: 'source', local_bucket: 'target', public_key: PK, delete: false },
      ],
      nats_subjects: [{ subject: 'test.subject', stream: 'test-stream', public_key: PK }],
    })
  })

  it('a null for each key the original reads as optional means absent', () => {
    const full = JSON.parse(readFileSync(fixture('operator-rendered-full.json'), 'utf8')) as Record<
      string,
      unknown
    >
    for (const path of NULL_MEANS_ABSENT) {
      const raw = structuredClone(full)
      const parts = path.split('.')
      let at = raw
      for (const p of parts.slice(0, -1)) at = at[p] as Record<string, unknown>
      at[parts[parts.length - 1] as string] = null
      // null is absent, and these are required (alone, or as a pair): still an error
      const required: Record<string, string> = {
        's3.credentials': 's3.credentials',
        's3.credentials.access_key': 's3.credentials.access_key',
        's3.credentials.secret_key': 's3.credentials.secret_key',
        'nats.credentials.username': 'nats.credentials',
        'nats.credentials.password': 'nats.credentials',
      }
      const errorAt = required[path]
      if (errorAt !== undefined) {
        assert.throws(
          () => checkConfig(raw),
          (e) => e instanceof ConfigError && e.violations.some((v) => v.path === errorAt),
          path,
        )
        continue
      }
      const { config } = checkConfig(raw)
      let v: unknown = config
      for (const p of parts) v = (v as Record<string, unknown> | undefined)?.[p]
      const expected =
        path === 's3.watcher_poll_interval_millis'
          ? 60_000
          : path === 'protocol'
            ? { poll_interval_seconds: 3, resync_interval_seconds: 60 }
            : path === 'discovery'
              ? { query_interval_seconds: 5, mdns: false }
              : path === 'publish' || path === 'subscribe'
                ? { s3_buckets: [], nats_subjects: [] }
                : undefined
      assert.deepEqual(v, expected, path)
    }
  })

  it('a null for a key the original requires is an error naming it', () => {
    const minimal = JSON.parse(
      readFileSync(fixture('operator-rendered-minimal.json'), 'utf8'),
    ) as Record<string, Record<string, unknown>>
    for (const path of [
      'bind_port',
      'http_bind_port',
      'nodes',
      'private_key_path',
      'network_id',
      'nats',
      'nats.endpoint',
    ]) {
      const raw = structuredClone(minimal)
      if (path === 'nats.endpoint') (raw.nats as Record<string, unknown>).endpoint = null
      else (raw as Record<string, unknown>)[path] = null
      assert.throws(
        () => checkConfig(raw),
        (e) =>
          e instanceof ConfigError &&
          e.violations.some((v) => v.path === path && /\(got null\)/.test(v.message)),
        path,
      )
    }
  })
})

describe("the original's example with every block uncommented", () => {
  it('loads with every key, and nothing ignored', () => {
    const { config, warnings } = loadConfig({
      path: fixture('original-example-all.yaml'),
      env: {},
      cwd: '/srv',
    })
    assert.deepEqual(warnings, [])
    assert.equal(config.private_key_path, '/srv/private-key.txt')
    assert.deepEqual(config.s3?.credentials, {
      access_key: 'rhio',
      secret_key: 'rhio_password',
      security_token: 'security-token',
      session_token: 'session-token',
      expiration: '2026-12-31T00:00:00Z',
    })
    assert.equal(config.s3?.watcher_poll_interval_millis, 5000)
    assert.deepEqual(config.nodes[0]?.endpoints, [
      '192.168.178.100:9102',
      '[2a02:8109:9c9a:4200:eb13:7c0a:4201:8128]:9103',
    ])
    assert.deepEqual(config.protocol, { poll_interval_seconds: 3, resync_interval_seconds: 60 })
    assert.equal(config.discovery.query_interval_seconds, 5)
    assert.equal(config.publish.s3_buckets.length, 2)
    assert.equal(config.subscribe.nats_subjects[0]?.subject, 'workload.*.energy')
  })

  it("the original chart's default configuration block loads", () => {
    const values = parseYaml(readFileSync(fixture('chart-values.yaml'), 'utf8')) as {
      configuration: unknown
    }
    const { config, warnings } = checkConfig(values.configuration, { cwd: '/srv' })
    assert.deepEqual(warnings, [])
    assert.equal(config.http_bind_port, 8080)
    assert.equal(config.log_level, '=INFO')
  })
})

describe('unknown and removed keys: warnings, or errors in strict mode', () => {
  it("an older original's config loads; each ignored key has its YAML path and a reason or a did-you-mean", () => {
    const { config, warnings } = loadConfig({
      path: fixture('original-old-keys.yaml'),
      env: {},
      cwd: '/srv',
    })
    assert.equal(config.network_id, 'old-network')
    assert.equal(config.nats.credentials, undefined)
    const byPath = new Map(warnings.map((w) => [w.path, w.message]))
    assert.deepEqual([...byPath.keys()].sort(), [
      'blobs_dir',
      'minio',
      'nats.credentails',
      'relay',
      'streams',
    ])
    for (const k of Object.keys(REMOVED_KEYS)) {
      assert.match(byPath.get(k) ?? '', /^no longer used \(.+\)$/, k)
    }
    assert.match(byPath.get('minio') ?? '', /s3/)
    assert.equal(byPath.get('nats.credentails'), "unknown key (did you mean 'credentials'?)")
  })

  it('unknown keys inside lists are found too', () => {
    const { warnings } = checkConfig({
      nodes: [{ public_key: PK, endpoints: [], direct_addresses: [] }],
      subscribe: { nats_subjects: [{ subject: 'a', public_key: PK, stream: 's', foo: 1 }] },
    })
    assert.deepEqual(
      warnings.map((w) => w.path),
      ['nodes[0].direct_addresses', 'subscribe.nats_subjects[0].foo'],
    )
  })

  it("log_level directives the original's lossy parser dropped are dropped with a warning; strict mode refuses them", () => {
    const mixed = checkConfig({ log_level: 'rhio=verbose,libp2p=debug' })
    assert.equal(mixed.config.log_level, 'libp2p=debug')
    assert.deepEqual(mixed.warnings, [
      {
        path: 'log_level',
        message:
          "directive 'rhio=verbose' ignored: unknown level 'verbose' in 'rhio=verbose' (use ERROR, WARN, INFO, DEBUG, TRACE or OFF)",
      },
    ])
    const none = checkConfig({ log_level: 'garbage' })
    assert.equal(none.config.log_level, undefined, 'nothing usable left: the default')
    assert.equal(none.warnings.length, 1)
    assert.deepEqual(checkConfig({ log_level: '=INFO' }).warnings, [])
    assert.throws(
      () => checkConfig({ log_level: 'garbage' }, { strict: true }),
      (e) => e instanceof ConfigError && e.violations.some((v) => v.path === 'log_level'),
    )
  })

  it('strict mode (option, or RHIO_STRICT_CONFIG=1) makes them errors', async () => {
    await using dir = await tempDir()
    const file = join(dir.path, 'config.yaml')
    await writeFile(file, 'htp_bind_port: 1\nblobs_dir: x\n')
    for (const opts of [{ strict: true, env: {} }, { env: { RHIO_STRICT_CONFIG: '1' } }]) {
      assert.throws(
        () => loadConfig({ path: file, ...opts }),
        (e) =>
          e instanceof ConfigError &&
          e.message.includes("- htp_bind_port: unknown key (did you mean 'http_bind_port'?)") &&
          e.message.includes('- blobs_dir: no longer used ('),
      )
    }
    const lenient = loadConfig({ path: file, env: { RHIO_STRICT_CONFIG: '0' } })
    assert.equal(lenient.warnings.length, 2)
  })
})

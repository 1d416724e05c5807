import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { ConfigError, loadConfig } from '../../src/config/index.js'
import { hasCode } from '../../src/errors/index.js'
import { tempDir } from '../helpers/tmp.js'

const PK = '2e2f2ab7a8fd0e0ee4d9b9d0c9ee7e1bb0f5d1ba1a3cbf9a8d2f0b8f1e0d3c4a'

/** A config.yaml for the original rhio: every key of its §2, in its example's style. */
const ORIGINAL_YAML = `# rhio configuration file

bind_port: 9102
http_bind_port: 8080
network_id: "rhio-test-network"
private_key_path: "private-key.txt"

s3:
  endpoint: "http://localhost:9000"
  region: "eu-central-1"
  credentials:
    access_key: "rhio"
    secret_key: "rhio_password"
  watcher_poll_interval_millis: 300

nats:
  endpoint: "localhost:4222"
  credentials:
    username: "rhio"
    password: "rhio_password"

nodes:
  - public_key: "${PK}"
    endpoints:
      - "staging.rhio.org"
      - "192.168.178.100:9102"
      - "[2a02:8109:9c9a:4200:eb13:7c0a:4201:8128]:9103"

protocol:
  poll_interval_seconds: 1
  resync_interval_seconds: 5

discovery:
  query_interval_seconds: 5

publish:
  s3_buckets:
    - "bucket-out-1"
    - "bucket-out-2"
  nats_subjects:
    - subject: "workload.berlin.energy"
      stream: "workload"
    - subject: "workload.rotterdam.energy"
      stream: "workload"

subscribe:
  s3_buckets:
    - remote_bucket: "bucket-out-1"
      local_bucket: "bucket-in-1"
      public_key: "${PK}"
    - remote_bucket: "bucket-out-2"
      local_bucket: "bucket-in-2"
      public_key: "${PK}"
  nats_subjects:
    - subject: "workload.*.energy"
      public_key: "${PK}"
      stream: "workload"
    - subject: "data.thehague.meta"
      public_key: "${PK}"
      stream: "data"

log_level: =INFO
`

describe('config loading', () => {
  it('a config written for the original rhio loads with the same meaning', async () => {
    await using dir = await tempDir()
    const file = join(dir.path, 'config.yaml')
    await writeFile(file, ORIGINAL_YAML)
    const { config: c, file: used } = loadConfig({ path: file, env: {}, cwd: dir.path })
    assert.equal(used, file)
    assert.equal(c.bind_port, 9102)
    assert.equal(c.http_bind_port, 8080)
    assert.equal(c.network_id, 'rhio-test-network')
    assert.equal(c.private_key_path, join(dir.path, 'private-key.txt'))
    assert.deepEqual(c.s3, {
      endpoint: 'http://localhost:9000',
      region: 'eu-central-1',
      credentials: { access_key: 'rhio', secret_key: 'rhio_password' },
      watcher_poll_interval_millis: 300,
    })
    assert.deepEqual(c.nats, {
      endpoint: 'localhost:4222',
      credentials: { username: 'rhio', password: 'rhio_password' },
    })
    assert.deepEqual(c.nodes, [
      {
        public_key: PK,
        endpoints: [
          'staging.rhio.org',
          '192.168.178.100:9102',
          '[2a02:8109:9c9a:4200:eb13:7c0a:4201:8128]:9103',
        ],
      },
    ])
    assert.deepEqual(c.protocol, { poll_interval_seconds: 1, resync_interval_seconds: 5 })
    assert.equal(c.discovery.query_interval_seconds, 5)
    assert.deepEqual(c.publish, {
      s3_buckets: ['bucket-out-1', 'bucket-out-2'],
      nats_subjects: [
        { subject: 'workload.berlin.energy', stream: 'workload' },
        { subject: 'workload.rotterdam.energy', stream: 'workload' },
      ],
    })
    assert.deepEqual(c.subscribe, {
      s3_buckets: [
        {
          remote_bucket: 'bucket-out-1',
          local_bucket: 'bucket-in-1',
          public_key: PK,
          delete: false,
        },
        {
          remote_bucket: 'bucket-out-2',
          local_bucket: 'bucket-in-2',
          public_key: PK,
          delete: false,
        },
      ],
      nats_subjects: [
        { subject: 'workload.*.energy', public_key: PK, stream: 'workload' },
        { subject: 'data.thehague.meta', public_key: PK, stream: 'data' },
      ],
    })
    assert.equal(c.log_level, '=INFO')
  })

  it('-c PATH must exist', async () => {
    await using dir = await tempDir()
    assert.throws(
      () => loadConfig({ path: 'missing.yaml', cwd: dir.path, env: {} }),
      (err) =>
        hasCode(err, 'CONFIG_NOT_FOUND') && /missing\.yaml' does not exist/.test(err.message),
    )
  })

  it('finds ./config.yaml, then $XDG_CONFIG_HOME/rhio/config.yaml, then ~/.config; else defaults', async () => {
    await using dir = await tempDir()
    const cwd = join(dir.path, 'work')
    const home = join(dir.path, 'home')
    const xdg = join(dir.path, 'xdg')
    await mkdir(cwd)
    await mkdir(join(home, '.config', 'rhio'), { recursive: true })
    await mkdir(join(xdg, 'rhio'), { recursive: true })

    assert.equal(loadConfig({ cwd, home, env: {} }).file, null)
    assert.equal(loadConfig({ cwd, home, env: {} }).config.network_id, 'rhio-default-network-1')

    await writeFile(join(home, '.config', 'rhio', 'config.yaml'), 'network_id: home\n')
    assert.equal(loadConfig({ cwd, home, env: {} }).config.network_id, 'home')

    await writeFile(join(xdg, 'rhio', 'config.yaml'), 'network_id: xdg\n')
    assert.equal(loadConfig({ cwd, home, env: { XDG_CONFIG_HOME: xdg } }).config.network_id, 'xdg')

    await writeFile(join(cwd, 'config.yaml'), 'network_id: local\n')
    const local = loadConfig({ cwd, home, env: { XDG_CONFIG_HOME: xdg } })
    assert.equal(local.config.network_id, 'local')
    assert.equal(local.file, join(cwd, 'config.yaml'))
  })

  it('an empty file means defaults; a non-mapping is an error', async () => {
    await using dir = await tempDir()
    const file = join(dir.path, 'c.yaml')
    await writeFile(file, '# nothing\n')
    assert.equal(loadConfig({ path: file, env: {} }).config.bind_port, 9102)
    await writeFile(file, '- a\n- b\n')
    assert.throws(
      () => loadConfig({ path: file, env: {} }),
      (err) =>
        err instanceof ConfigError &&
        err.violations[0]?.message === 'must be a YAML mapping of keys',
    )
  })

  it('YAML syntax errors and duplicate keys name the line', async () => {
    await using dir = await tempDir()
    const file = join(dir.path, 'c.yaml')
    await writeFile(file, 'bind_port: 1\nbind_port: 2\n')
    assert.throws(
      () => loadConfig({ path: file, env: {} }),
      (err) =>
        hasCode(err, 'CONFIG_YAML') && /line 2/.test(err.message) && err.message.includes(file),
    )
    await writeFile(file, 'nats:\n  endpoint: [\n')
    assert.throws(
      () => loadConfig({ path: file, env: {} }),
      (err) => hasCode(err, 'CONFIG_YAML'),
    )
  })

  it('violations name the file', async () => {
    await using dir = await tempDir()
    const file = join(dir.path, 'c.yaml')
    await writeFile(file, 'bind_port: x\nnope: 1\n')
    assert.throws(
      () => loadConfig({ path: file, env: {}, strict: true }),
      (err) =>
        err instanceof ConfigError &&
        err.message.startsWith(`configuration in ${file} has 2 problems:`) &&
        err.message.includes("  - bind_port: must be a number (got 'x')") &&
        err.message.includes('  - nope: unknown key'),
    )
  })
})

describe('config precedence: defaults < file < env < flags', () => {
  async function withFile<T>(yaml: string, fn: (file: string, cwd: string) => T): Promise<T> {
    await using dir = await tempDir()
    const file = join(dir.path, 'config.yaml')
    await writeFile(file, yaml)
    return fn(file, dir.path)
  }

  it('the file overrides defaults; env overrides the file; flags override env', async () => {
    await withFile('bind_port: 1000\nhttp_bind_port: 1001\nlog_level: warn\n', (file, cwd) => {
      const fromFile = loadConfig({ path: file, cwd, env: {} })
      assert.equal(fromFile.config.bind_port, 1000)
      assert.deepEqual(fromFile.sources, {})

      const env = { BIND_PORT: '2000', HTTP_BIND_PORT: '2001', LOG_LEVEL: 'debug' }
      const fromEnv = loadConfig({ path: file, cwd, env })
      assert.equal(fromEnv.config.bind_port, 2000)
      assert.equal(fromEnv.config.http_bind_port, 2001)
      assert.equal(fromEnv.config.log_level, 'debug')
      assert.equal(fromEnv.sources.bind_port, 'env BIND_PORT')

      const fromFlags = loadConfig({
        path: file,
        cwd,
        env,
        cli: { bind_port: '3000', log_level: 'trace' },
      })
      assert.equal(fromFlags.config.bind_port, 3000)
      assert.equal(fromFlags.config.http_bind_port, 2001)
      assert.equal(fromFlags.config.log_level, 'trace')
      assert.equal(fromFlags.sources.bind_port, 'flag --bind-port')
    })
  })

  it('every original env variable, plus DATA_DIR', async () => {
    await withFile('{}', (file, cwd) => {
      const { config } = loadConfig({
        path: file,
        cwd,
        env: {
          BIND_PORT: '1',
          HTTP_BIND_PORT: '2',
          NETWORK_ID: 'net',
          PRIVATE_KEY_PATH: '/k/key',
          LOG_LEVEL: 'ERROR',
          DATA_DIR: 'cache',
        },
      })
      assert.equal(config.bind_port, 1)
      assert.equal(config.http_bind_port, 2)
      assert.equal(config.network_id, 'net')
      assert.equal(config.private_key_path, '/k/key')
      assert.equal(config.log_level, 'ERROR')
      assert.equal(config.data_dir, join(cwd, 'cache'))
    })
  })

  it('RHIO_-prefixed variables win over unprefixed ones; hosts only with the prefix', async () => {
    await withFile('{}', (file, cwd) => {
      const { config, sources } = loadConfig({
        path: file,
        cwd,
        env: {
          NETWORK_ID: 'plain',
          RHIO_NETWORK_ID: 'prefixed',
          RHIO_HTTP_BIND_HOST: '127.0.0.1',
          BIND_HOST: '10.0.0.1',
        },
      })
      assert.equal(config.network_id, 'prefixed')
      assert.equal(sources.network_id, 'env RHIO_NETWORK_ID')
      assert.equal(config.http_bind_host, '127.0.0.1')
      assert.equal(config.bind_host, '0.0.0.0')
    })
  })

  it('stray and empty environment variables never break loading', async () => {
    await withFile('{}', (file, cwd) => {
      const { config } = loadConfig({
        path: file,
        cwd,
        env: { NATS: 'x', S3: '1', NODES: 'a', PUBLISH: '[]', LOG_LEVEL: '', RHIO_FOO: 'bar' },
      })
      assert.equal(config.log_level, undefined)
      assert.deepEqual(config.nodes, [])
    })
  })

  it('a bad value from env or a flag says where it came from', async () => {
    await withFile('{}', (file, cwd) => {
      assert.throws(
        () => loadConfig({ path: file, cwd, env: { RHIO_BIND_PORT: 'nine' } }),
        (err) =>
          err instanceof ConfigError &&
          err.violations[0]?.message === "must be a number (got 'nine') (from env RHIO_BIND_PORT)",
      )
      assert.throws(
        () => loadConfig({ path: file, cwd, env: {}, cli: { http_bind_port: '99999' } }),
        (err) =>
          err instanceof ConfigError &&
          err.violations[0]?.message ===
            'must be at most 65535 (got 99999) (from flag --http-bind-port)',
      )
    })
  })
})

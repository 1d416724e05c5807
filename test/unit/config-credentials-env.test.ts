import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { ConfigError, loadConfig } from '../../src/config/index.js'
import { tempDir } from '../helpers/tmp.js'

const S3_BLOCK = 's3:\n  endpoint: http://s3:9000\n  region: r\n'

async function load(
  yaml: string,
  env: Record<string, string>,
): Promise<ReturnType<typeof loadConfig>> {
  await using dir = await tempDir()
  const file = join(dir.path, 'config.yaml')
  await writeFile(file, yaml)
  return loadConfig({ path: file, cwd: dir.path, env })
}

async function violations(yaml: string, env: Record<string, string>): Promise<string> {
  try {
    await load(yaml, env)
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err))
    return err.message
  }
  assert.fail('expected a ConfigError')
}

describe('credentials from the environment (kept out of the config file)', () => {
  it('NATS username + password fill nats.credentials and keep the endpoint of the file', async () => {
    const { config, sources } = await load('nats:\n  endpoint: nats://n:4222\n', {
      RHIO_NATS_USERNAME: 'u',
      RHIO_NATS_PASSWORD: 'p',
    })
    assert.equal(config.nats.endpoint, 'nats://n:4222')
    assert.deepEqual(config.nats.credentials, { username: 'u', password: 'p' })
    assert.equal(sources['nats.credentials'], 'env RHIO_NATS_USERNAME, RHIO_NATS_PASSWORD')
  })

  it('replace the credentials of the file as a whole (no ambiguous merge)', async () => {
    const { config } = await load('nats:\n  credentials:\n    token: file-token\n', {
      RHIO_NATS_USERNAME: 'u',
      RHIO_NATS_PASSWORD: 'p',
    })
    assert.deepEqual(config.nats.credentials, { username: 'u', password: 'p' })
  })

  it('a token alone works without any nats block in the file', async () => {
    const { config } = await load('{}', { RHIO_NATS_TOKEN: 't' })
    assert.deepEqual(config.nats.credentials, { token: 't' })
    assert.equal(config.nats.endpoint, 'localhost:4222')
  })

  it('S3 keys complete an s3 block that has no credentials', async () => {
    const { config, sources } = await load(S3_BLOCK, {
      RHIO_S3_ACCESS_KEY: 'ak',
      RHIO_S3_SECRET_KEY: 'sk',
    })
    assert.equal(config.s3?.endpoint, 'http://s3:9000')
    assert.equal(config.s3?.credentials.access_key, 'ak')
    assert.equal(config.s3?.credentials.secret_key, 'sk')
    assert.equal(sources['s3.credentials'], 'env RHIO_S3_ACCESS_KEY, RHIO_S3_SECRET_KEY')
  })

  it('an incomplete set is reported with its source', async () => {
    const msg = await violations('{}', { RHIO_NATS_USERNAME: 'u' })
    assert.match(msg, /nats\.credentials: give exactly one of .*\(from env RHIO_NATS_USERNAME\)/)
    const s3 = await violations(S3_BLOCK, { RHIO_S3_ACCESS_KEY: 'ak' })
    assert.match(s3, /s3\.credentials\.secret_key: is required \(from env RHIO_S3_ACCESS_KEY\)/)
  })

  it('S3 keys without an s3 block are an error, not silently ignored', async () => {
    const msg = await violations('{}', { RHIO_S3_ACCESS_KEY: 'a', RHIO_S3_SECRET_KEY: 'b' })
    assert.match(
      msg,
      /s3\.endpoint: is required \(from env RHIO_S3_ACCESS_KEY, RHIO_S3_SECRET_KEY\)/,
    )
  })

  it('empty variables count as unset', async () => {
    const { config } = await load('nats:\n  credentials:\n    token: file\n', {
      RHIO_NATS_USERNAME: '',
      RHIO_S3_ACCESS_KEY: '',
    })
    assert.deepEqual(config.nats.credentials, { token: 'file' })
    assert.equal(config.s3, undefined)
  })
})

import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { stringify } from 'yaml'
import { NodeIdentity, writeKeyFile } from '../../src/identity/index.js'
import { runRhioCli } from '../helpers/rhio.js'
import { tempDir } from '../helpers/tmp.js'

describe('rhio refuses bad input at start', () => {
  it('a config error exits 2 with every violation on stderr', async () => {
    await using dir = await tempDir()
    await writeFile(
      join(dir.path, 'config.yaml'),
      [
        'bind_port: 99999',
        'htp_bind_port: 1',
        'nats:',
        '  credentials: { username: u, token: t }',
        'publish:',
        '  s3_buckets: [a, a]',
        'subscribe:',
        '  nats_subjects:',
        '    - { subject: "a.>.b", public_key: "nope", stream: s }',
        '',
      ].join('\n'),
    )
    const r = await runRhioCli(['-c', 'config.yaml', '--strict-config'], { cwd: dir.path })
    assert.equal(r.code, 2, r.stdout + r.stderr)
    for (const line of [
      'has 6 problems',
      '- bind_port: must be at most 65535 (got 99999)',
      "- htp_bind_port: unknown key (did you mean 'http_bind_port'?)",
      '- nats.credentials: give exactly one of username + password, nkey or token (found username, token)',
      "- publish.s3_buckets[1]: bucket 'a' is already published (publish.s3_buckets[0])",
      "- subscribe.nats_subjects[0].subject: '>' is only allowed as the last token",
      '- subscribe.nats_subjects[0].public_key: must be 64 hex characters',
    ]) {
      assert.ok(r.stderr.includes(line), `stderr lacks '${line}':\n${r.stderr}`)
    }
  })

  it('-c with a missing file exits 2 naming the file', async () => {
    await using dir = await tempDir()
    const r = await runRhioCli(['-c', 'nope.yaml'], { cwd: dir.path })
    assert.equal(r.code, 2)
    assert.match(r.stderr, /CONFIG_NOT_FOUND: config file 'nope\.yaml' does not exist/)
  })

  it('a missing key file exits 2 naming the path and `rhio keygen`', async () => {
    await using dir = await tempDir()
    const r = await runRhioCli(['-k', 'absent.key', '-b', '0'], { cwd: dir.path })
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.match(r.stderr, /KEY_NOT_FOUND: private key file .*absent\.key does not exist/)
    assert.match(r.stderr, /rhio keygen --out .*absent\.key/)
  })

  it("subscribing to the node's own key exits 2", async () => {
    await using dir = await tempDir()
    const id = NodeIdentity.generate()
    writeKeyFile(join(dir.path, 'private.key'), id)
    await writeFile(
      join(dir.path, 'config.yaml'),
      stringify({
        http_bind_port: 0,
        subscribe: { nats_subjects: [{ subject: 'a', public_key: id.publicKeyHex, stream: 's' }] },
      }),
    )
    const r = await runRhioCli([], { cwd: dir.path })
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.match(
      r.stderr,
      /subscribe\.nats_subjects\[0\]\.public_key: is this node's own public key/,
    )
  })

  it('an HTTP port in use exits 1 (a runtime failure, not bad input)', async () => {
    await using dir = await tempDir()
    writeKeyFile(join(dir.path, 'private.key'), NodeIdentity.generate())
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    try {
      const port = (blocker.address() as AddressInfo).port
      const r = await runRhioCli(['-b', String(port)], {
        cwd: dir.path,
        env: { RHIO_HTTP_BIND_HOST: '127.0.0.1' },
      })
      assert.equal(r.code, 1, r.stdout + r.stderr)
      assert.match(r.stderr, /NODE_START_FAILED: cannot start http/)
    } finally {
      await new Promise((r) => blocker.close(r))
    }
  })

  it('a p2p port in use exits 1 naming bind_port, -p and the port (no silent random port)', async () => {
    await using dir = await tempDir()
    writeKeyFile(join(dir.path, 'private.key'), NodeIdentity.generate())
    await writeFile(
      join(dir.path, 'config.yaml'),
      stringify({ bind_host: '127.0.0.1', http_bind_port: 0, state: { backend: 'dir' } }),
    )
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    try {
      const port = (blocker.address() as AddressInfo).port
      const r = await runRhioCli(['-p', String(port)], { cwd: dir.path })
      assert.equal(r.code, 1, r.stdout + r.stderr)
      assert.match(
        r.stderr,
        new RegExp(
          `cannot start p2p: cannot listen for p2p on 127\\.0\\.0\\.1:${port}: the port is in use \\(set another bind_port, or -p PORT\\)`,
        ),
      )
    } finally {
      await new Promise((r) => blocker.close(r))
    }
  })
})

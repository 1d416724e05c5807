/**
 * Hostile input that is not peer protocol (issue 14): credentials in the NATS
 * URL, a key file others can read, the HTTP Host header and event streams,
 * author-chosen label values and terminal output, a huge config file.
 */
import assert from 'node:assert/strict'
import { chmod, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { printable } from '../../src/cli/client/format.js'
import { HealthModel } from '../../src/component/index.js'
import { ConfigError, loadConfig, parseConfig, redactUrl } from '../../src/config/index.js'
import { hasCode } from '../../src/errors/index.js'
import { parseSearchDomains } from '../../src/http/local-domains.js'
import { hostAllowed } from '../../src/http/server.js'
import { createHttpServer } from '../../src/http/index.js'
import { EVENTS_MAX_PER_ADDRESS } from '../../src/http/health-events.js'
import { loadIdentity, NodeIdentity, writeKeyFile } from '../../src/identity/index.js'
import { BoundedLabels } from '../../src/replication/messages.js'
import { captureLogs } from '../helpers/logs.js'
import { tempDir } from '../helpers/tmp.js'

describe('nats.endpoint with credentials (finding 7)', () => {
  it('moves user:password and token user info into nats.credentials', () => {
    const c = parseConfig({
      nats: { endpoint: 'nats://me:s%40cret@n1:4222,nats://me:s%40cret@n2' },
    })
    assert.equal(c.nats.endpoint, 'nats://n1:4222,nats://n2')
    assert.deepEqual(c.nats.credentials, { username: 'me', password: 's@cret' })
    const t = parseConfig({ nats: { endpoint: 'tok3n@localhost:4222' } })
    assert.equal(t.nats.endpoint, 'localhost:4222')
    assert.deepEqual(t.nats.credentials, { token: 'tok3n' })
  })

  it('refuses credentials in two places or differing per server, without echoing them', () => {
    const twice = (): unknown =>
      parseConfig({
        nats: {
          endpoint: 'nats://me:hunter2@n1',
          credentials: { username: 'me', password: 'hunter2' },
        },
      })
    assert.throws(twice, (e: unknown) => e instanceof ConfigError && !e.message.includes('hunter2'))
    assert.throws(
      () => parseConfig({ nats: { endpoint: 'nats://a:1@n1,nats://b:2@n2' } }),
      (e: unknown) => e instanceof ConfigError && /different credentials/.test(e.message),
    )
    assert.throws(
      () => parseConfig({ nats: { endpoint: 'nats://me:hunter2@n1/path' } }),
      (e: unknown) => e instanceof ConfigError && !e.message.includes('hunter2'),
    )
    assert.equal(redactUrl('nats://me:hunter2@n1:4222'), 'nats://***@n1:4222')
    assert.equal(redactUrl('tok3n@n1:4222'), '***@n1:4222')
    assert.equal(redactUrl('n1:4222'), 'n1:4222')
  })
})

describe('the key file (finding 8)', () => {
  it('refuses a key file group or others can read; an explicit override warns', async () => {
    await using dir = await tempDir()
    const path = join(dir.path, 'private.key')
    writeKeyFile(path, NodeIdentity.generate())
    assert.ok(loadIdentity({ path, env: {} }), 'mode 0600 loads')
    await chmod(path, 0o644)
    assert.throws(
      () => loadIdentity({ path, env: {} }),
      (e: unknown) => hasCode(e, 'KEY_INSECURE') && /chmod 600/.test((e as Error).message),
    )
    const warnings: string[] = []
    const id = loadIdentity({
      path,
      env: { RHIO_INSECURE_KEY_FILE: '1' },
      warn: (m) => warnings.push(m),
    })
    assert.equal(id.publicKeyHex.length, 64)
    assert.equal(warnings.length, 1)
    assert.match(warnings[0]!, /0644/)
  })
})

describe('HTTP (finding 9)', () => {
  it('answers IP addresses, localhost, internal names and configured names; refuses others', () => {
    for (const h of [
      undefined,
      '127.0.0.1:3000',
      '10.1.2.3',
      '[::1]:8080',
      'localhost:3000',
      'rhio.site-a.svc',
      'rhio.site-a.svc.cluster.local:8080',
      'box.local',
    ])
      assert.ok(hostAllowed(h, []), `${h} allowed`)
    for (const h of ['evil.example', 'evil.example:3000', 'localhost.evil.example', '[nope]'])
      assert.ok(!hostAllowed(h, []), `${h} refused`)
    assert.ok(hostAllowed('status.example.org', ['status.example.org']))
    assert.ok(hostAllowed('anything', ['*']))
  })

  it("names under the DNS search domains are local: the original operator's readback on a custom cluster domain (issue 18)", () => {
    const domains = parseSearchDomains(
      [
        '# written by the kubelet',
        'nameserver 10.96.0.10',
        'search rhio.svc.k8s.example.org svc.k8s.example.org k8s.example.org',
        'options ndots:5',
      ].join('\n'),
    )
    assert.deepEqual(domains, [
      'rhio.svc.k8s.example.org',
      'svc.k8s.example.org',
      'k8s.example.org',
    ])
    const operatorHost = 'rhio-service.rhio.svc.k8s.example.org:8080'
    assert.ok(!hostAllowed(operatorHost, []), 'refused without the search domains')
    assert.ok(hostAllowed(operatorHost, [], domains))
    assert.ok(hostAllowed('10.244.1.7:8080', [], domains), "the kubelet's probe (Host: pod IP)")
    for (const h of ['k8s.example.org.evil.example', 'evilk8s.example.org', 'example.org'])
      assert.ok(!hostAllowed(h, [], domains), `${h} refused`)
    // the last search line wins; single labels and junk are ignored
    assert.deepEqual(parseSearchDomains('search a.example\nsearch lan b.example. bad/name\n'), [
      'b.example',
    ])
  })

  it('a request naming another host gets 421; event streams are limited per address', async () => {
    const config = parseConfig({})
    const health = new HealthModel({ config, publicKeyHex: 'ab'.repeat(32), version: 't' })
    const http = createHttpServer({
      health,
      registry: new Registry(),
      logger: captureLogs().logs.forComponent('rhio:http'),
      host: '127.0.0.1',
      port: 0,
    })
    await http.start()
    const { port } = http.address()!
    try {
      // fetch() will not send a Host of our choosing: a plain request does
      const rebound = await new Promise<number>((resolve, reject) => {
        request(
          {
            host: '127.0.0.1',
            port,
            path: '/health',
            headers: { host: `attacker.example:${port}` },
          },
          (res) => {
            res.resume()
            resolve(res.statusCode ?? 0)
          },
        )
          .on('error', reject)
          .end()
      })
      assert.equal(rebound, 421)
      const direct = await fetch(`http://127.0.0.1:${port}/health`)
      assert.notEqual(direct.status, 421)
      const streams: AbortController[] = []
      const statuses: number[] = []
      for (let i = 0; i <= EVENTS_MAX_PER_ADDRESS; i++) {
        const ac = new AbortController()
        streams.push(ac)
        statuses.push(
          (await fetch(`http://127.0.0.1:${port}/events`, { signal: ac.signal })).status,
        )
      }
      for (const ac of streams) ac.abort()
      assert.deepEqual(statuses, [...Array(EVENTS_MAX_PER_ADDRESS).fill(200), 429])
    } finally {
      await http.stop()
    }
  })
})

describe('smaller things', () => {
  it('author-chosen subjects are bounded as metric label values', () => {
    const labels = new BoundedLabels(3)
    assert.deepEqual(
      ['a', 'b', 'a', 'c', 'd', 'e', 'b'].map((s) => labels.of(s)),
      ['a', 'b', 'a', 'c', '_other', '_other', 'b'],
    )
  })

  it('terminal control characters in keys and subjects are escaped for printing', () => {
    assert.equal(printable('ok/key.txt'), 'ok/key.txt')
    assert.equal(printable('a\u001b[2Jb\u0007\u009b'), 'a\\x1b[2Jb\\x07\\x9b')
    assert.equal(printable('tab\there'), 'tab\there')
  })

  it('a config file above 1 MiB is refused before it is parsed', async () => {
    await using dir = await tempDir()
    const file = join(dir.path, 'config.yaml')
    await writeFile(file, `# ${'x'.repeat(2 * 1024 * 1024)}\n`)
    assert.throws(
      () => loadConfig({ path: file, env: {} }),
      (e: unknown) => hasCode(e, 'CONFIG_READ') && /1 MiB/.test((e as Error).message),
    )
  })
})

/**
 * Acceptance (issue 18): rhio run exactly as the original's operator runs it
 * in its StatefulSet: args `/usr/local/bin/rhio -c <config>` (under this
 * image's entrypoint, `node main.js`), the node key in `PRIVATE_KEY`, the
 * config as the operator renders it (JSON, explicit nulls, a key path that
 * does not exist), liveness and readiness probes `GET /health` as the kubelet
 * sends them (Host: the pod IP), and the operator's readback of /health from
 * the Service name, checked against its CRD's status schema. NATS (twice) and
 * S3 are stopped and started under the node: the liveness probe must never fail
 * meanwhile.
 * The NATS user has only the permissions docs/MIGRATING.md lists.
 *
 * Deviations from the pod, on purpose: ports 0 instead of 9102/8080 (tests
 * never use fixed ports), the config path is a temp file, the probe period
 * is 200 ms instead of 10 s (more probes, same pass rule: 200..399 within
 * the 5 s timeout).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { parseAllDocuments } from 'yaml'
import { crdViolations, type CrdSchema } from '../helpers/crd-schema.js'
import { NatsServer } from '../helpers/nats-server.js'
import { startRhio, type RhioProcess } from '../helpers/rhio.js'
import { S3Server } from '../helpers/s3-server.js'
import { waitFor } from '../helpers/wait.js'

const PK = 'b2030d8df6c0a8bc53513e1c1746446ff00424e39f0ba25441f76b3d68752b8c'

/**
 * The rendered config's NATS user with exactly the permissions docs/MIGRATING.md
 * lists (the subscribed subject of operator-rendered-full.json is test.subject),
 * and an admin user for the test's own setup.
 */
const NATS_AUTHORIZATION = `
authorization {
  users = [
    { user: admin, password: admin }
    {
      user: username, password: password
      permissions: {
        publish: { allow: ["$JS.API.>", "$KV.rhio-state.>", "test.subject"] }
        subscribe: { allow: ["_INBOX.>"] }
      }
    }
  ]
}
`
const FIXTURES = fileURLToPath(
  new URL('../../../test/fixtures/original-deployments/', import.meta.url),
)

/** The status schema the operator writes /health into (RhioService `.status.status`). */
function healthStatusSchema(): CrdSchema {
  const docs = parseAllDocuments(readFileSync(join(FIXTURES, 'operator-crds.yaml'), 'utf8'))
  for (const d of docs) {
    const crd = d.toJS() as {
      spec: {
        names: { kind: string }
        versions: Array<{ schema: { openAPIV3Schema: CrdSchema } }>
      }
    }
    if (crd.spec.names.kind !== 'RhioService') continue
    const status = crd.spec.versions[0]?.schema.openAPIV3Schema.properties?.status
    const health = status?.properties?.status
    if (health) return health
  }
  throw new Error('no RhioService status schema in operator-crds.yaml')
}

/** GET with an explicit Host header (fetch does not allow setting it). */
function get(
  port: number,
  path: string,
  host: string,
  timeoutMs = 5_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { host }, timeout: timeoutMs },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

/** Polls GET /health as the kubelet's probe does and records every failure. */
class KubeletProbe {
  readonly failures: string[] = []
  probes = 0
  private readonly stop = new AbortController()
  private readonly loop: Promise<void>

  constructor(
    private readonly node: RhioProcess,
    periodMs: number,
  ) {
    this.loop = this.run(periodMs)
  }

  private async run(periodMs: number): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        // the kubelet probes the pod IP: Host is <ip>:<port>
        const r = await get(this.node.port, '/health', `127.0.0.1:${this.node.port}`)
        if (r.status < 200 || r.status >= 400) this.failures.push(`HTTP ${r.status}`)
      } catch (err) {
        if (this.node.running) this.failures.push(String(err))
      }
      this.probes++
      await delay(periodMs, undefined, { signal: this.stop.signal }).catch(() => undefined)
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.stop.abort()
    await this.loop
  }
}

describe("rhio in the original operator's StatefulSet", () => {
  it('runs from its args, env and rendered config; a NATS outage never fails the liveness probe; /health reads back into the CRD status', async (t) => {
    await using ns = await NatsServer.start({ config: NATS_AUTHORIZATION })
    await using s3 = await S3Server.start({ buckets: ['source', 'target'] })
    const nc = await connect({ servers: ns.url, user: 'admin', pass: 'admin' })
    try {
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: 'test-stream', subjects: ['test.>'] })
    } finally {
      await nc.close()
    }

    // the operator's rendering, with this test's servers and ports 0
    const rendered = JSON.parse(
      readFileSync(join(FIXTURES, 'operator-rendered-full.json'), 'utf8'),
    ) as Record<string, Record<string, unknown>>
    rendered.bind_port = 0 as never
    rendered.http_bind_port = 0 as never
    // the operator's credentials block as rendered (username/password from its NATS secret)
    rendered.nats = { ...rendered.nats, endpoint: ns.url }
    rendered.s3 = {
      ...rendered.s3,
      endpoint: s3.config.endpoint,
      region: s3.config.region,
      credentials: {
        ...(rendered.s3?.credentials as Record<string, unknown>),
        ...s3.config.credentials,
      },
    }
    const configText = JSON.stringify(rendered)
    assert.match(configText, /"watcher_poll_interval_millis":null/)
    assert.match(configText, /"protocol":null,"discovery":null/)
    assert.match(configText, /"private_key_path":"\/etc\/rhio\/private-key.txt"/)

    await using node = await startRhio({
      configText,
      leadingArgs: ['/usr/local/bin/rhio'],
    })
    await using probe = new KubeletProbe(node, 200)
    const schema = healthStatusSchema()
    // the operator's readback: Service DNS name on a custom cluster domain is
    // checked in hostile-input.test.ts; here the default one
    const readback = async (): Promise<Record<string, unknown>> => {
      const r = await get(node.port, '/health', `rhio-service.rhio.svc.cluster.local:8080`)
      assert.ok(r.status === 200 || r.status === 503, `readback HTTP ${r.status}: ${r.body}`)
      const body = JSON.parse(r.body) as Record<string, unknown>
      assert.deepEqual(crdViolations(schema, body), [], JSON.stringify(body))
      return body
    }

    await waitFor(async () => (await node.health()).status === 200, {
      timeout: 20_000,
      message: `node becomes ready:\n${node.tail()}`,
    })
    assert.ok(node.logs().some((l) => l.msg === 'node identity' && l.source === 'env PRIVATE_KEY'))
    let body = await readback()
    assert.equal(body.status, 'Running', JSON.stringify(body))
    const streams = body.streams as Record<string, Array<Record<string, unknown>>>
    assert.deepEqual(
      streams.published?.map((s) => [s.stream, s.subject, s.status]),
      [['test-stream', 'test.subject', 'Active']],
    )
    const stores = body.stores as Record<string, Array<Record<string, unknown>>>
    assert.deepEqual(
      stores.published?.map((b) => b.bucket),
      ['source'],
    )
    assert.deepEqual(
      stores.subscribed?.map((b) => [b.source, b.remote_bucket, b.local_bucket]),
      [[PK, 'source', 'target']],
    )

    // NATS goes away and comes back, twice; the pod would never be restarted
    const pid = node.pid
    for (let round = 0; round < 2; round++) {
      await ns.stop()
      await waitFor(async () => (await node.health()).status === 503, {
        timeout: 15_000,
        message: 'readiness (?probe=ready) reports the outage',
      })
      body = await readback()
      assert.equal(body.status, 'Error')
      assert.match(String(body.msg), /nats: /)
      const before = probe.probes
      await waitFor(() => probe.probes >= before + 5, { timeout: 15_000 })
      await ns.start()
      await waitFor(async () => (await node.health()).status === 200, {
        timeout: 20_000,
        message: `node recovers:\n${node.tail()}`,
      })
    }
    // S3 goes away and comes back (the buckets' status follows at the next poll, 60 s with
    // the operator's null watcher_poll_interval_millis; the probes must pass throughout)
    await s3.stop()
    const beforeS3 = probe.probes
    await waitFor(() => probe.probes >= beforeS3 + 5, { timeout: 15_000 })
    await s3.start()
    // a bucket check that ran during the outage recovers at its next attempt (at the
    // latest the next poll)
    body = await waitFor(
      async () => {
        const b = await readback()
        return b.status === 'Running' ? b : null
      },
      {
        timeout: 75_000,
        interval: 500,
        message: `Running again after S3 is back:\n${node.tail()}`,
      },
    )
    assert.equal(node.pid, pid)
    assert.ok(node.running)
    assert.ok(probe.probes >= 10, `${probe.probes} probes`)
    assert.deepEqual(probe.failures, [], 'liveness probe failures')
    assert.deepEqual(body.config_warnings, [])
    // the operator's pod has a 128Mi request (and, in some versions, limit): report what it uses
    t.diagnostic(
      `RSS after two NATS outages and one S3 outage: ${(await node.rssMiB()).toFixed(1)} MiB`,
    )
  })

  it('a config with keys of an older original starts, and lists them in the log and in /health', async () => {
    await using ns = await NatsServer.start()
    await using node = await startRhio({
      config: {
        nats: { endpoint: ns.url, credentails: { token: 'x' } },
        blobs_dir: './blobs',
        relay: 'https://relay.example.org',
      },
    })
    const { body } = await waitFor(
      async () => {
        const h = await node.health()
        return h.status === 200 ? h : undefined
      },
      { timeout: 20_000, message: `node becomes ready:\n${node.tail()}` },
    )
    assert.deepEqual(body.config_warnings, [
      { path: 'nats.credentails', message: "unknown key (did you mean 'credentials'?)" },
      {
        path: 'blobs_dir',
        message:
          'no longer used (blobs live in the S3 buckets now (s3, publish.s3_buckets, subscribe.s3_buckets))',
      },
      {
        path: 'relay',
        message:
          "no longer used (the original's relay server URL; rhio's relays are set in the relay block (relay.reserve, relay.serve))",
      },
    ])
    const warned = node.logs().filter((l) => /key\(s\) ignored/.test(l.msg))
    assert.equal(warned.length, 1, 'logged once')
    assert.equal(warned[0]?.level, 'warn')
  })
})

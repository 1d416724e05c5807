import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseConfig } from '../../src/config/index.js'
import { hasCode } from '../../src/errors/index.js'
import { Registry } from 'prom-client'
import { createHttpServer, sendJson, type HttpServer } from '../../src/http/index.js'
import { createMetrics, HealthModel } from '../../src/component/index.js'
import { captureLogs, type CapturedLogs } from '../helpers/logs.js'

const PK = 'ab'.repeat(32)

const quietLogs = (): CapturedLogs => captureLogs()

interface Fixture extends AsyncDisposable {
  server: HttpServer
  health: HealthModel
  registry: Registry
  url: string
  lines: Array<Record<string, unknown>>
}

async function serve(
  routes: Parameters<typeof createHttpServer>[0]['routes'] = [],
): Promise<Fixture> {
  const config = parseConfig({ publish: { nats_subjects: [{ subject: 'a', stream: 'A' }] } })
  const health = new HealthModel({ config, publicKeyHex: PK, version: 't' })
  const registry = new Registry()
  createMetrics(registry)
  const { logs, lines } = quietLogs()
  const server = createHttpServer({
    health,
    registry,
    logger: logs.forComponent('rhio:http'),
    host: '127.0.0.1',
    port: 0,
    routes,
  })
  await server.start()
  const addr = server.address()
  assert.ok(addr)
  return {
    server,
    health,
    registry,
    lines,
    url: `http://127.0.0.1:${addr.port}`,
    async [Symbol.asyncDispose]() {
      await server.stop()
    },
  }
}

describe('HTTP server', () => {
  it('logs the bound port as "http listening"', async () => {
    await using f = await serve()
    const rec = f.lines.find((l) => l.msg === 'http listening')
    assert.ok(rec)
    assert.equal(rec.port, Number(new URL(f.url).port))
    assert.equal(rec.component, 'rhio:http')
  })

  it('GET /health?probe=ready: 503 with the reasons while unhealthy, 200 once healthy', async () => {
    await using f = await serve()
    let res = await fetch(`${f.url}/health?probe=ready`)
    assert.equal(res.status, 503)
    assert.equal(res.headers.get('content-type'), 'application/json')
    let body = (await res.json()) as { status: string; msg: string }
    assert.equal(body.status, 'Error')
    assert.match(body.msg, /nats: connecting/)

    f.health.setNats({ status: 'Connected', server: 'x:1', lastError: null })
    f.health.setPublishedStream('A', 'a', { status: 'Active', lastError: null, lastCheckTime: 1 })
    res = await fetch(`${f.url}/health?probe=ready`)
    assert.equal(res.status, 200)
    body = (await res.json()) as { status: string; msg: string }
    assert.equal(body.status, 'Running')
    assert.equal(body.msg, null)
  })

  it('HEAD /health answers with the status and no body', async () => {
    await using f = await serve()
    const res = await fetch(`${f.url}/health?probe=ready`, { method: 'HEAD' })
    assert.equal(res.status, 503)
    assert.equal(await res.text(), '')
    const plain = await fetch(`${f.url}/health`, { method: 'HEAD' })
    assert.equal(plain.status, 200)
  })

  it('GET /metrics: Prometheus text with the original metric names and process metrics', async () => {
    await using f = await serve()
    const metrics = createMetricsFrom(f.registry)
    metrics.inc()
    const res = await fetch(`${f.url}/metrics`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/)
    const text = await res.text()
    assert.match(text, /^# TYPE message_receive_total counter$/m)
    assert.match(text, /^# TYPE blobs_download_total counter$/m)
    assert.match(text, /^message_receive_total\{source="nats",subject="a\.b"\} 1$/m)
    assert.match(text, /^process_cpu_seconds_total /m)
    assert.match(text, /^nodejs_eventloop_lag_seconds /m)
  })

  it('unknown routes: 404 JSON; wrong method on a known path: 405', async () => {
    await using f = await serve()
    let res = await fetch(`${f.url}/nope?x=1`)
    assert.equal(res.status, 404)
    assert.deepEqual(await res.json(), { error: 'not found', path: '/nope' })
    res = await fetch(`${f.url}/health`, { method: 'POST' })
    assert.equal(res.status, 405)
  })

  it('extra routes plug in; a failing handler answers 500 and is logged', async () => {
    await using f = await serve([
      { method: 'GET', path: '/status', handler: (_q, res) => sendJson(res, 200, { page: true }) },
      {
        method: 'GET',
        path: '/boom',
        handler: () => {
          throw new Error('kaput')
        },
      },
    ])
    assert.deepEqual(await (await fetch(`${f.url}/status`)).json(), { page: true })
    const res = await fetch(`${f.url}/boom`)
    assert.equal(res.status, 500)
    assert.deepEqual(await res.json(), { error: 'kaput' })
    assert.ok(f.lines.some((l) => l.msg === 'http handler failed'))
  })

  it('a taken port is HTTP_LISTEN_FAILED; start and stop are idempotent', async () => {
    await using f = await serve()
    await f.server.start()
    const port = Number(new URL(f.url).port)
    const { logs } = quietLogs()
    const second = createHttpServer({
      health: f.health,
      registry: f.registry,
      logger: logs.root,
      host: '127.0.0.1',
      port,
    })
    await assert.rejects(second.start(), (err) => hasCode(err, 'HTTP_LISTEN_FAILED'))
    await second.stop()
    await f.server.stop()
    await f.server.stop()
    await assert.rejects(fetch(`${f.url}/health`))
  })
})

/** Increments message_receive_total{source="nats",subject="a.b"} on the registry's counter. */
function createMetricsFrom(registry: Registry): { inc(): void } {
  const counter = registry.getSingleMetric('message_receive_total') as
    { inc(labels: Record<string, string>): void } | undefined
  assert.ok(counter)
  return { inc: () => counter.inc({ source: 'nats', subject: 'a.b' }) }
}

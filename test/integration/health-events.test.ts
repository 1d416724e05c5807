/**
 * GET /events (SSE), GET / headers and /health's probes on a real socket.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { describe, it } from 'node:test'
import { parseConfig } from '../../src/config/index.js'
import { Registry } from 'prom-client'
import { createMetrics } from '../../src/component/index.js'
import { createHttpServer, type HttpServer } from '../../src/http/index.js'
import type { HealthEventsInit } from '../../src/http/health-events.js'
import { STATUS_PAGE_CSP } from '../../src/http/status-page.js'
import { HealthModel } from '../../src/component/index.js'
import { captureLogs } from '../helpers/logs.js'
import { waitFor } from '../helpers/wait.js'

interface Fixture extends AsyncDisposable {
  server: HttpServer
  health: HealthModel
  url: string
}

async function serve(events: Omit<HealthEventsInit, 'health'> = {}): Promise<Fixture> {
  const health = new HealthModel({
    config: parseConfig({}),
    publicKeyHex: 'ab'.repeat(32),
    version: 't',
  })
  const registry = new Registry()
  createMetrics(registry, { processMetrics: false })
  const server = createHttpServer({
    health,
    registry,
    logger: captureLogs().logs.forComponent('rhio:http'),
    host: '127.0.0.1',
    port: 0,
    events,
  })
  await server.start()
  return {
    server,
    health,
    url: `http://127.0.0.1:${server.address()?.port}`,
    async [Symbol.asyncDispose]() {
      await server.stop()
    },
  }
}

interface Received {
  at: number
  body: Record<string, unknown>
}

/** An open /events stream collecting the health events it receives. */
async function listen(url: string): Promise<{
  events: Received[]
  raw: () => string
  ended: Promise<void>
  close: () => void
  headers: Headers
}> {
  const ac = new AbortController()
  const res = await fetch(`${url}/events`, { signal: ac.signal })
  if (res.status !== 200) {
    await res.text()
    throw new Error(`GET /events answered ${res.status}`)
  }
  assert.ok(res.body)
  const events: Received[] = []
  let text = ''
  let raw = ''
  const decoder = new TextDecoder()
  const reader = res.body.getReader()
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        text += decoder.decode(value, { stream: true })
        let i: number
        while ((i = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, i)
          text = text.slice(i + 2)
          raw += `${block}\n\n`
          const data = /^event: health\ndata: (.*)$/m.exec(block)
          if (data?.[1])
            events.push({ at: Date.now(), body: JSON.parse(data[1]) as Record<string, unknown> })
        }
      }
    } catch {
      // aborted by close()
    }
  })()
  return { events, raw: () => raw, ended, close: () => ac.abort(), headers: res.headers }
}

describe('GET /events (Server-Sent Events of /health)', () => {
  it('sends the snapshot at once, then on change and as a heartbeat', async () => {
    await using f = await serve({ checkIntervalMs: 20, pushIntervalMs: 300 })
    const l = await listen(f.url)
    try {
      assert.match(l.headers.get('content-type') ?? '', /^text\/event-stream/)
      assert.equal(l.headers.get('cache-control'), 'no-store')
      await waitFor(() => l.events.length >= 1)
      assert.match(l.raw(), /^retry: 2000\n\n/)
      assert.equal(l.events[0]?.body.status, 'Error')
      assert.deepEqual(
        (l.events[0]?.body.node as { public_key: string }).public_key,
        'ab'.repeat(32),
      )

      const before = l.events.length
      const changedAt = Date.now()
      f.health.setSection('transfers', [{ key: 'k', done: 1 }])
      const changed = await waitFor(() => l.events.find((e) => e.body.transfers !== undefined))
      assert.ok(changed.at - changedAt < 250, `change pushed after ${changed.at - changedAt} ms`)
      assert.ok(l.events.length >= before + 1)

      // Unchanged: heartbeats only, about one per pushIntervalMs, not one per check.
      const n = l.events.length
      await waitFor(() => l.events.length >= n + 2, { timeout: 3_000 })
      const gaps = l.events
        .slice(n - 1)
        .map((e, i, a) => (i === 0 ? 300 : e.at - (a[i - 1]?.at ?? 0)))
      assert.ok(
        gaps.every((g) => g >= 200),
        `heartbeat gaps ${gaps.join(', ')} ms`,
      )
    } finally {
      l.close()
      await l.ended
    }
  })

  it('forgets listeners that leave, refuses more than maxClients, ends streams on stop()', async () => {
    await using f = await serve({ checkIntervalMs: 20, maxClients: 2 })
    const a = await listen(f.url)
    const b = await listen(f.url)
    const third = await fetch(`${f.url}/events`)
    assert.equal(third.status, 503)
    assert.equal(third.headers.get('retry-after'), '10')
    await third.text()

    a.close()
    await a.ended
    // Room again once the server has seen `a` leave.
    const c = await waitFor(() => listen(f.url).catch(() => undefined))
    await waitFor(() => c.events.length >= 1)

    await f.server.stop()
    await Promise.race([
      Promise.all([b.ended, c.ended]),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('streams still open after stop()')), 5_000),
      ),
    ])
  })
})

describe('GET / and /health (liveness) vs /health?probe=ready', () => {
  it('serves the page with a CSP that allows only its own inline script and style', async () => {
    await using f = await serve()
    const res = await fetch(`${f.url}/`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
    const csp = res.headers.get('content-security-policy') ?? ''
    assert.equal(csp, STATUS_PAGE_CSP)
    assert.match(csp, /default-src 'none'/)
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/]+=*'/)
    assert.match(csp, /connect-src 'self'/)
    const html = await res.text()
    assert.match(html, /^<!doctype html>/)
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no external assets')
    assert.equal((html.match(/<script>/g) ?? []).length, 1)

    const head = await new Promise<{ status: number | undefined; length: number }>(
      (resolve, reject) => {
        const req = request(`${f.url}/`, { method: 'HEAD' }, (r) => {
          let length = 0
          r.on('data', (c: Buffer) => (length += c.length))
          r.on('end', () => resolve({ status: r.statusCode, length }))
        })
        req.on('error', reject)
        req.end()
      },
    )
    assert.deepEqual(head, { status: 200, length: 0 })
  })

  it('plain /health and ?probe=live answer 200 with the same body while the node is unhealthy; ?probe=ready 503', async () => {
    await using f = await serve()
    const ready = await fetch(`${f.url}/health?probe=ready`)
    assert.equal(ready.status, 503)
    const readyBody = (await ready.json()) as { status: string }
    assert.equal(readyBody.status, 'Error')
    for (const path of ['/health', '/health?probe=live']) {
      const live = await fetch(`${f.url}${path}`)
      assert.equal(live.status, 200, path)
      assert.equal(((await live.json()) as { status: string }).status, 'Error', path)
    }
    f.health.setNats({ status: 'Connected', server: 'x', lastError: null })
    assert.equal((await fetch(`${f.url}/health?probe=ready`)).status, 200)
  })
})

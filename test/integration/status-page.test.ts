/**
 * The status page in headless Chromium, served in-process by the node's HTTP
 * server from a HealthModel whose sections the test fills and changes.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Page } from 'playwright-core'
import { parseConfig } from '../../src/config/index.js'
import { Registry } from 'prom-client'
import { createMetrics } from '../../src/component/index.js'
import { createHttpServer, type HttpServer } from '../../src/http/index.js'
import { HealthModel } from '../../src/component/index.js'
import { launchBrowser } from '../helpers/browser.js'
import { captureLogs } from '../helpers/logs.js'

// The browser globals used inside page.evaluate callbacks (tsconfig has no DOM lib).
interface DomNode {
  textContent: string | null
  value: number
  scrollWidth: number
  clientWidth: number
}
declare const document: {
  getElementById(id: string): DomNode | null
  querySelector(selector: string): DomNode | null
  querySelectorAll(selector: string): Iterable<DomNode> & { length: number }
  documentElement: { scrollWidth: number }
}
declare const window: { innerWidth: number; marker?: number; pwned?: number; EventSource?: unknown }
declare function getComputedStyle(node: DomNode | null): { display: string }

const ME = 'a1'.repeat(32)
const PEER = 'b2'.repeat(32)

interface Site extends AsyncDisposable {
  server: HttpServer
  health: HealthModel
  url: string
}

async function site(): Promise<Site> {
  const config = parseConfig({
    publish: { nats_subjects: [{ subject: 'out.>', stream: 'OUT' }], s3_buckets: ['outbox'] },
    subscribe: {
      nats_subjects: [{ subject: 'in.*', stream: 'IN', public_key: PEER }],
      s3_buckets: [{ remote_bucket: 'photos', local_bucket: 'inbox', public_key: PEER }],
    },
  })
  const health = new HealthModel({ config, publicKeyHex: ME, version: '9.9.9' })
  const registry = new Registry()
  createMetrics(registry, { processMetrics: false })
  const server = createHttpServer({
    health,
    registry,
    logger: captureLogs().logs.forComponent('rhio:http'),
    host: '127.0.0.1',
    port: 0,
    events: { checkIntervalMs: 50 },
  })
  await server.start()
  const port = server.address()?.port
  assert.ok(port)
  return {
    server,
    health,
    url: `http://127.0.0.1:${port}/`,
    async [Symbol.asyncDispose]() {
      await server.stop()
    },
  }
}

const now = Date.now()
function peer(connected: boolean): Record<string, unknown> {
  return {
    id: PEER,
    connected,
    configured: true,
    addresses: ['/ip4/10.0.0.2/tcp/9102'],
    connected_since: connected ? now - 60_000 : null,
    last_seen: now - 2_000,
    last_error: connected ? null : 'dial timeout',
    banned_until: null,
  }
}
function transfer(done: number, state = 'downloading', key = 'cat.jpg'): Record<string, unknown> {
  return {
    local_bucket: 'inbox',
    key,
    hash: 'c3'.repeat(32),
    size: 1000,
    done,
    peer: PEER,
    state,
    started_at: now - 5_000,
    last_error: null,
  }
}

const bar = (page: Page, id = 'inbox/cat.jpg'): Promise<number | null> =>
  page.evaluate((sel) => {
    const p = document.querySelector(`progress[data-transfer="${sel}"]`)
    return p ? p.value : null
  }, id)

const text = (page: Page, id: string): Promise<string> =>
  page.evaluate((i) => document.getElementById(i)?.textContent ?? '', id)

describe('status page (GET /) in headless Chromium', () => {
  it('shows node, peers, streams, buckets and transfers, and moves a progress bar live', async () => {
    await using s = await site()
    s.health.setNats({ status: 'Connected', server: '127.0.0.1:4222', lastError: null })
    s.health.setSection('peers', [
      { ...peer(true), via: 'relay', relay_limit_bytes: 200 * 1024 * 1024 },
    ])
    s.health.setSection('transfers', [{ ...transfer(100), via: 'relay', relay_limit_bytes: 1 }])
    s.health.setSection('reachability', {
      reachability: 'private',
      observed: ['/ip4/198.18.1.2/tcp/40000'],
      last_inbound_direct: null,
      announced: ['/ip4/198.18.0.1/tcp/9102/p2p/R/p2p-circuit/p2p/ME'],
      reserve: 'auto',
      reservations: ['R'],
      relay: null,
    })
    s.health.setSection('config_warnings', [])
    s.health.setSection('sync', [
      {
        author: PEER,
        kind: 'nats',
        log: 'in',
        height: 40,
        durable: 40,
        head: 42,
        lag: 2,
        last_peer: PEER,
        last_update: now,
      },
    ])
    await using b = await launchBrowser()
    const { page, problems } = await b.newPage({ viewport: { width: 1280, height: 800 } })
    const requests: string[] = []
    page.on('request', (r) => requests.push(r.url()))
    await page.goto(s.url)

    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live')
    assert.equal(await text(page, 'node-id'), ME)
    assert.equal(await text(page, 'version'), '9.9.9')
    assert.match(await text(page, 'nats'), /Connected 127\.0\.0\.1:4222/)
    const peers = await text(page, 'peers')
    assert.match(peers, /b2b2b2b2…b2b2/)
    assert.match(peers, /connected/)
    assert.match(peers, /\/ip4\/10\.0\.0\.2\/tcp\/9102/)
    assert.match(peers, /1 connected/)
    assert.match(peers, /via relay \(200(\.0)? MiB left on this circuit\)/)
    const reach = await text(page, 'reachability')
    assert.match(reach, /private/)
    assert.match(reach, /seen by peers as \/ip4\/198\.18\.1\.2\/tcp\/40000/)
    assert.match(reach, /p2p-circuit/)
    assert.match(await text(page, 'transfers'), /via relay: bounded by its limits/)
    const streams = await text(page, 'streams')
    assert.match(streams, /out\.>/)
    assert.match(streams, /in\.\*/)
    assert.match(streams, /stream IN/)
    const lagCell = await page.evaluate(() =>
      [...document.querySelectorAll('#streams td[data-label="lag"]')].map((td) => td.textContent),
    )
    assert.deepEqual(
      lagCell,
      ['—', '2'],
      'lag of the subscribed stream comes from the sync section',
    )
    assert.match(await text(page, 'buckets'), /inbox/)
    assert.equal(await bar(page), 100)
    assert.match(await text(page, 'transfers'), /10 % · 100 B of 1000 B/)
    assert.match(await text(page, 'config'), /No ignored keys/)
    s.health.setSection('config_warnings', [
      { path: 'blobs_dir', message: 'no longer used (blobs live in the S3 buckets now)' },
    ])
    await page.waitForFunction(() =>
      /blobs_dir.*no longer used/.test(document.getElementById('config')?.textContent ?? ''),
    )
    assert.match(await text(page, 'config'), /\(1\)/)

    // Advance the transfer: a new section value, then the same object changed in place.
    await page.evaluate(() => (window.marker = 42))
    s.health.setSection('transfers', [transfer(750)])
    await page.waitForFunction(
      () => document.querySelector('progress[data-transfer="inbox/cat.jpg"]')?.value === 750,
      undefined,
      { timeout: 5_000 },
    )
    const t = transfer(750)
    s.health.setSection('transfers', [t])
    t.done = 1000
    t.state = 'done'
    await page.waitForFunction(
      () => document.querySelector('progress[data-transfer="inbox/cat.jpg"]')?.value === 1000,
      undefined,
      { timeout: 5_000 },
    )
    assert.equal(await page.evaluate(() => window.marker), 42, 'no reload')
    assert.match(await text(page, 'transfers'), /100 % · 1000 B of 1000 B/)

    // Peer goes away, NATS drops: the page follows.
    s.health.setSection('peers', [peer(false)])
    s.health.setNats({
      status: 'Disconnected',
      server: '127.0.0.1:4222',
      lastError: 'connection reset',
    })
    await page.waitForFunction(() =>
      /disconnected/.test(document.getElementById('peers')?.textContent ?? ''),
    )
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'Error')
    assert.match(await text(page, 'problems'), /nats: disconnected \(connection reset\)/)
    assert.match(await text(page, 'peers'), /dial timeout/)

    assert.deepEqual(problems, [], 'no script errors, no CSP violations')
    const foreign = requests.filter((u) => !u.startsWith(s.url))
    assert.deepEqual(foreign, [], 'no external assets')
  })

  it('renders strings from peers as text, tolerates absent sections, fits a phone screen', async () => {
    await using s = await site()
    const hostile = '<img src=x onerror="window.pwned=1">'
    s.health.setSection('transfers', [transfer(0, 'queued', hostile)])
    s.health.setSection('errors', [{ time: now, component: 'blobs', message: `<b>${hostile}</b>` }])
    await using b = await launchBrowser()
    const { page, problems } = await b.newPage({
      viewport: { width: 375, height: 740 },
      isMobile: true,
    })
    await page.goto(s.url)
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live')

    assert.match(await text(page, 'transfers'), /<img src=x onerror="window\.pwned=1">/)
    assert.match(await text(page, 'errors'), /<b><img src=x/)
    assert.equal(await page.evaluate(() => document.querySelectorAll('main img, main b').length), 0)
    assert.equal(await page.evaluate(() => window.pwned), undefined)

    assert.match(await text(page, 'peers'), /Not reported by this node\./)
    assert.match(await text(page, 'sync'), /Not reported by this node\./)
    assert.match(await text(page, 'problems'), /nats: connecting/)

    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    )
    assert.ok(overflow <= 0, `page is ${overflow}px wider than a phone screen`)
    const stacked = await page.evaluate(
      () => getComputedStyle(document.querySelector('#streams td')).display,
    )
    assert.equal(stacked, 'grid', 'table rows become labelled cards on a phone')
    assert.deepEqual(problems, [])
  })

  it('renders the state served with the page before any event arrives (issue 17)', async () => {
    await using s = await site()
    s.health.setNats({ status: 'Connected', server: '127.0.0.1:4222', lastError: null })
    s.health.setSection('peers', [peer(true)])
    s.health.setSection('transfers', [transfer(300)])
    s.health.setSection('errors', [
      {
        time: now,
        level: 'warn',
        component: 'rhio:nats',
        message: 'nats: cannot connect',
        count: 3,
      },
    ])
    await using b = await launchBrowser()
    const { page, problems } = await b.newPage({ viewport: { width: 1280, height: 800 } })
    // no live data at all: the page has only what came with it
    await page.route('**/events', (r) => r.abort())
    await page.route('**/health*', (r) => r.abort())
    await page.goto(s.url, { waitUntil: 'domcontentloaded' })
    assert.equal(await text(page, 'node-id'), ME)
    assert.match(await text(page, 'nats'), /Connected 127\.0\.0\.1:4222/)
    assert.match(await text(page, 'peers'), /b2b2b2b2…b2b2/)
    assert.equal(await bar(page), 300)
    assert.match(await text(page, 'errors'), /nats: cannot connect \(×3\)/)
    assert.doesNotMatch(
      await page.evaluate(() => document.querySelector('main')?.textContent ?? ''),
      /Loading/,
    )
    // a string from a peer cannot end the data block
    s.health.setSection('errors', [
      {
        time: now,
        level: 'error',
        component: 'x',
        message: '</script><script>window.pwned=1</script>',
        count: 1,
      },
    ])
    await page.goto(s.url, { waitUntil: 'domcontentloaded' })
    assert.match(await text(page, 'errors'), /<\/script><script>window\.pwned=1/)
    assert.equal(await page.evaluate(() => window.pwned), undefined)
    assert.deepEqual(
      problems.filter((p) => !/ERR_FAILED|net::/.test(p)),
      [],
    )
  })

  it('long addresses and errors wrap at 1280 px instead of scrolling sideways (issue 17)', async () => {
    await using s = await site()
    const long = `/ip4/10.0.0.2/tcp/9102/p2p/12D3KooW${'Q'.repeat(120)}`
    s.health.setSection('peers', [
      { ...peer(false), addresses: [long, long], last_error: `${long}: ${'x'.repeat(300)}` },
    ])
    s.health.setSection('errors', [
      { time: now, level: 'error', component: 'rhio:sync', message: 'e'.repeat(400), count: 1 },
    ])
    await using b = await launchBrowser()
    const { page, problems } = await b.newPage({ viewport: { width: 1280, height: 800 } })
    await page.goto(s.url)
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live')
    const sideways = await page.evaluate(() =>
      [...document.querySelectorAll('.scroll')].map((e) => e.scrollWidth - e.clientWidth),
    )
    assert.ok(
      sideways.every((d) => d <= 0),
      `tables scroll sideways by ${sideways.join(', ')} px`,
    )
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    )
    assert.ok(overflow <= 0, `page is ${overflow}px wider than 1280`)
    assert.deepEqual(problems, [])
  })

  it('draws messages/s and bytes/s in and out, and a transfer speed and time left (issue 17)', async () => {
    await using s = await site()
    const t0 = now - 15_000
    s.health.setSection('traffic', {
      interval_ms: 5000,
      history: [
        { t: t0, messages_in: 0, messages_out: 0, bytes_in: 0, bytes_out: 0 },
        { t: t0 + 5000, messages_in: 50, messages_out: 100, bytes_in: 5120, bytes_out: 0 },
        { t: t0 + 10000, messages_in: 100, messages_out: 200, bytes_in: 10240, bytes_out: 10240 },
      ],
    })
    s.health.setSection('transfers', [transfer(100)])
    await using b = await launchBrowser()
    const { page, problems } = await b.newPage({ viewport: { width: 1280, height: 800 } })
    await page.goto(s.url)
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live')
    const traffic = await text(page, 'traffic')
    assert.match(traffic, /messagesin 10\/s · out 20\/s/)
    assert.match(traffic, /bytesin 1\.0 KiB\/s · out 2\.0 KiB\/s/)
    assert.match(traffic, /100 messages and 10 KiB received, 200 messages and 10 KiB served/)
    const lines = await page.evaluate(() =>
      [...document.querySelectorAll('#traffic svg polyline')].map(
        (l) =>
          (l as unknown as { getAttribute(n: string): string }).getAttribute('points').split(' ')
            .length,
      ),
    )
    assert.deepEqual(lines, [2, 2, 2, 2], 'in and out lines of both charts, one point per interval')
    // the publishing side: what it serves, to whom, how far
    s.health.setSection('serving', [
      {
        peer: PEER,
        bucket: 'outbox',
        key: 'big.iso',
        size: 4000,
        sent: 1000,
        started_at: now - 3_000,
        last_at: now,
      },
    ])
    await page.waitForFunction(() =>
      /big\.iso/.test(document.getElementById('serving')?.textContent ?? ''),
    )
    const serving = await text(page, 'serving')
    assert.match(serving, /b2b2b2b2…b2b2/)
    assert.match(serving, /25 % · 1000 B of 3\.9 KiB/)
    assert.match(serving, /\(1\)/)
    // the transfer advances: the page shows its speed and the time left
    s.health.setSection('transfers', [transfer(400)])
    await page.waitForFunction(() =>
      / KiB\/s · \d+ s left| B\/s · \d+ s left/.test(
        document.getElementById('transfers')?.textContent ?? '',
      ),
    )
    // the speed is measured between two events, so its unit depends on timing
    assert.match(
      await text(page, 'transfers'),
      /40 % · 400 B of 1000 B · [\d.]+ (B|KiB)\/s · \d+ s left/,
    )
    assert.deepEqual(problems, [])
  })

  it('falls back to polling /health without EventSource', async () => {
    await using s = await site()
    s.health.setSection('transfers', [transfer(1)])
    await using b = await launchBrowser()
    const { page, problems } = await b.newPage()
    await page.addInitScript(() => {
      delete window.EventSource
    })
    await page.goto(s.url)
    await page.waitForFunction(
      () => document.getElementById('live')?.textContent === 'live (polling)',
    )
    assert.equal(await bar(page), 1)
    s.health.setSection('transfers', [transfer(500)])
    await page.waitForFunction(
      () => document.querySelector('progress[data-transfer="inbox/cat.jpg"]')?.value === 500,
    )
    assert.equal(s.server.address() !== undefined, true)
    assert.deepEqual(problems, [])
  })
})

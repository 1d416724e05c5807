/**
 * The status page of a real rhio process, in headless Chromium: it loads,
 * shows the node's identity, and follows a NATS outage live.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Readable } from 'node:stream'
import { BlobSite } from '../helpers/blob-site.js'
import { launchBrowser } from '../helpers/browser.js'
import { NatsServer } from '../helpers/nats-server.js'
import { runRhioCli, startRhio } from '../helpers/rhio.js'
import { tempDir } from '../helpers/tmp.js'

// Browser globals used inside page callbacks (tsconfig has no DOM lib).
declare const document: {
  getElementById(id: string): { textContent: string | null } | null
  querySelector(selector: string): unknown
}

describe('status page of a rhio process', () => {
  it('loads from GET / and updates live when NATS goes away', async () => {
    await using ns = await NatsServer.start()
    await using dir = await tempDir()
    // The demo client makes the stream the node publishes from.
    const cfg = join(dir.path, 'client.yaml')
    await writeFile(cfg, `nats:\n  endpoint: ${ns.url}\n`)
    const add = await runRhioCli(['client', 'stream', 'add', 'workload', 'workload.>', '-c', cfg])
    assert.equal(add.code, 0, add.stderr)

    await using node = await startRhio({
      config: {
        nats: { endpoint: ns.url },
        publish: { nats_subjects: [{ subject: 'workload.berlin', stream: 'workload' }] },
      },
    })
    await using b = await launchBrowser()
    const { page, problems } = await b.newPage()
    await page.goto(`${node.url}/`)
    const text = (id: string): Promise<string> =>
      page.evaluate((i) => document.getElementById(i)?.textContent ?? '', id)

    await page.waitForFunction(
      () => document.getElementById('status')?.textContent === 'Running',
      undefined,
      {
        timeout: 15_000,
      },
    )
    assert.equal(await text('node-id'), node.publicKey)
    assert.match(await text('nats'), /Connected/)
    assert.match(await text('streams'), /workload\.berlin/)
    assert.match(await text('streams'), /Active/)
    assert.equal(await text('live'), 'live')

    await ns.stop()
    await page.waitForFunction(
      () => document.getElementById('status')?.textContent === 'Error',
      undefined,
      {
        timeout: 15_000,
      },
    )
    assert.match(await text('problems'), /nats: (disconnected|connecting)/)
    assert.deepEqual(problems, [], node.tail())
  })
})

describe('status page during real replication', () => {
  it(
    'lists the connected peer and shows a real transfer’s progress advancing',
    { timeout: 300_000 },
    async () => {
      await using a = await BlobSite.start('a', ['outbox'])
      await using b = await BlobSite.start('b', ['inbox'])
      const ra = await a.rhio({ config: { publish: { s3_buckets: ['outbox'] } } })
      const rb = await b.rhio({
        config: {
          nodes: [await ra.asNode()],
          subscribe: {
            s3_buckets: [
              { remote_bucket: 'outbox', local_bucket: 'inbox', public_key: ra.publicKey },
            ],
          },
        },
      })
      await using browser = await launchBrowser()
      const { page, problems } = await browser.newPage()
      await page.goto(`${rb.url}/`)
      // the connected peer (A) is listed
      await page.waitForFunction(
        (pk) => (document.getElementById('peers')?.textContent ?? '').includes(pk.slice(0, 8)),
        ra.publicKey,
        {
          timeout: 30_000,
        },
      )
      assert.match(
        await page.evaluate(() => document.getElementById('peers')?.textContent ?? ''),
        /connected/i,
      )
      // a 256 MiB object: its progress bar must move while the page stays open
      const size = 256 * 1024 * 1024
      await a.store.put('outbox', 'video.bin', { stream: generated(size), length: size })
      const progress = (): Promise<number> =>
        page.evaluate(() => {
          const p = document.querySelector('progress[data-transfer="inbox/video.bin"]') as {
            value: number
          } | null
          return p ? p.value : -1
        })
      await page.waitForFunction(
        () => {
          const p = document.querySelector('progress[data-transfer="inbox/video.bin"]') as {
            value: number
            max: number
          } | null
          return p !== null && p.value > 0 && p.value < p.max
        },
        undefined,
        { timeout: 120_000, polling: 100 },
      )
      const first = await progress()
      await page.waitForFunction(
        (v) => {
          const p = document.querySelector('progress[data-transfer="inbox/video.bin"]') as {
            value: number
          } | null
          return p !== null && p.value > v
        },
        first,
        { timeout: 60_000, polling: 100 },
      )
      assert.ok((await progress()) > first, 'the progress bar advanced without a reload')
      assert.deepEqual(problems, [], rb.tail())
    },
  )
})

/** Deterministic bytes as a stream (the object is never held in memory). */
function generated(size: number): Readable {
  let sent = 0
  const block = Buffer.alloc(1024 * 1024, 7)
  return new Readable({
    read() {
      if (sent >= size) {
        this.push(null)
        return
      }
      const n = Math.min(block.length, size - sent)
      block.writeUInt32LE(sent >>> 0, 0)
      sent += n
      this.push(Buffer.from(block.subarray(0, n)))
    },
  })
}

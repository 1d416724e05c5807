/**
 * The status page of a real rhio process, in headless Chromium: it loads,
 * shows the node's identity, and follows a NATS outage live.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { launchBrowser } from '../helpers/browser.js'
import { NatsServer } from '../helpers/nats-server.js'
import { runRhioCli, startRhio } from '../helpers/rhio.js'
import { tempDir } from '../helpers/tmp.js'

// Browser globals used inside page callbacks (tsconfig has no DOM lib).
declare const document: { getElementById(id: string): { textContent: string | null } | null }

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

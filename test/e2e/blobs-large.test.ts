import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { Blake3Hasher, hashToBase32 } from '../../src/bao/index.js'
import { BlobSite } from '../helpers/blob-site.js'
import { rgwPerFile } from '../helpers/ceph-rgw.js'
import { metricValue } from '../helpers/prom.js'
import { waitFor } from '../helpers/wait.js'

/**
 * One Ceph cluster for this file; each site gets a radosgw and a tenant (bucket
 * namespace) of its own. Bluestore: memstore would hold both 1 GiB copies in
 * the OSD's memory (~1.5 GiB RSS per GiB stored), bluestore keeps them in a
 * sparse file with a small RSS.
 */
const s3 = rgwPerFile({ objectStore: 'bluestore' })

const SIZE = Number(process.env.RHIO_LARGE_BLOB_MIB ?? 1024) * 1024 * 1024
const PART = 8 * 1024 * 1024
/** blobs.parts_in_flight, set explicitly so the re-send bound below follows it. */
const IN_FLIGHT = 4

/** Deterministic bytes, generated as a stream (never the whole object in memory). */
function generated(size: number): Readable {
  let sent = 0
  const block = Buffer.alloc(1024 * 1024)
  return new Readable({
    read() {
      if (sent >= size) {
        this.push(null)
        return
      }
      const n = Math.min(block.length, size - sent)
      for (let i = 0; i < n; i += 4) block.writeUInt32LE(((sent + i) / 4) >>> 0, i)
      sent += n
      this.push(Buffer.from(block.subarray(0, n)))
    },
  })
}

async function hashOf(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const h = new Blake3Hasher()
  for await (const c of stream) h.update(c)
  return hashToBase32(h.digest())
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : 0
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}

test(
  `a ${SIZE / 2 ** 20} MiB object: bounded memory, kill -9 at ~50 % resumes re-sending at most the parts in flight, messages keep flowing`,
  { timeout: 600_000 },
  async () => {
    await using a = await BlobSite.start('a', ['outbox'], s3)
    await using b = await BlobSite.start('b', ['inbox'], s3)
    await a.site.jsm.streams.add({ name: 'events', subjects: ['m.>'] })
    await b.site.jsm.streams.add({ name: 'events', subjects: ['m.>'] })
    const ra = await a.rhio({
      config: {
        publish: { s3_buckets: ['outbox'], nats_subjects: [{ subject: 'm.>', stream: 'events' }] },
      },
    })
    const rb = await b.rhio({
      config: {
        nodes: [await ra.asNode()],
        blobs: { part_size_bytes: PART, parts_in_flight: IN_FLIGHT },
        subscribe: {
          s3_buckets: [
            { remote_bucket: 'outbox', local_bucket: 'inbox', public_key: ra.publicKey },
          ],
          nats_subjects: [{ subject: 'm.>', stream: 'events', public_key: ra.publicKey }],
        },
      },
    })
    await a.store.put('outbox', 'big.bin', { stream: generated(SIZE), length: SIZE })
    const expected = await hashOf(
      (await a.store.get('outbox', 'big.bin')).body as AsyncIterable<Uint8Array>,
    )

    // Messages every 20 ms during the whole transfer, latency measured at B.
    const latencies: number[] = []
    const subscription = b.site.nc.subscribe('m.>', {
      callback: (_e, m) => {
        if (m.headers?.get('X-Rhio-PublicKey'))
          latencies.push(Date.now() - Number(new TextDecoder().decode(m.data)))
      },
    })
    let sending = true
    const sender = (async () => {
      while (sending) {
        await a.site.publish('m.tick', String(Date.now()))
        await new Promise((r) => setTimeout(r, 20))
      }
    })()

    const transfer = async (): Promise<
      { done: number; size: number; state: string } | undefined
    > => {
      const body = (await rb.health()).body as unknown as {
        transfers?: Array<{ key: string; done: number; size: number; state: string }>
      }
      return body.transfers?.find((t) => t.key === 'big.bin')
    }
    const pid1 = rb.child.proc.pid!
    const rssBase = rssMiB(pid1)
    let rssMax = rssBase
    const peaks = { heapTotal: 0, external: 0 }
    const sample = async (): Promise<void> => {
      const text = await rb.metrics()
      peaks.heapTotal = Math.max(
        peaks.heapTotal,
        metricValue(text, 'nodejs_heap_size_total_bytes') ?? 0,
      )
      peaks.external = Math.max(
        peaks.external,
        metricValue(text, 'nodejs_external_memory_bytes') ?? 0,
      )
    }
    const heapBase = metricValue(await rb.metrics(), 'nodejs_heap_size_total_bytes') ?? 0
    const extBase = metricValue(await rb.metrics(), 'nodejs_external_memory_bytes') ?? 0
    await waitFor(
      async () => {
        rssMax = Math.max(rssMax, rssMiB(pid1))
        await sample()
        const t = await transfer()
        return t !== undefined && t.done >= SIZE / 2
      },
      { timeout: 300_000, interval: 200, message: `transfer reaches 50 %\n${rb.tail(10)}` },
    )
    const beforeKill = [...latencies]
    console.log(
      `# peaks before the kill: heap total +${((peaks.heapTotal - heapBase) / 2 ** 20).toFixed(1)} MiB, external +${((peaks.external - extBase) / 2 ** 20).toFixed(1)} MiB`,
    )
    await rb.kill() // kill -9
    const servedBeforeRestart =
      metricValue(await ra.metrics(), 'rhio_blob_bytes_total', { direction: 'out' }) ?? 0

    await rb.start()
    const pid2 = rb.child.proc.pid!
    const rssBase2 = rssMiB(pid2)
    let rssMax2 = rssBase2
    await waitFor(
      async () => {
        rssMax2 = Math.max(rssMax2, rssMiB(pid2))
        return (await b.meta('inbox', 'big.bin'))?.complete === true
      },
      {
        timeout: 300_000,
        interval: 200,
        message: `transfer completes after restart\n${rb.tail(10)}`,
      },
    )
    sending = false
    await sender
    subscription.unsubscribe()
    const got = await hashOf(
      (await b.store.get('inbox', 'big.bin')).body as AsyncIterable<Uint8Array>,
    )
    assert.equal(got, expected, 'byte-exact (BLAKE3)')

    const heapMiB = (metricValue(await rb.metrics(), 'nodejs_heap_size_used_bytes') ?? 0) / 2 ** 20
    const served =
      metricValue(await ra.metrics(), 'rhio_blob_bytes_total', { direction: 'out' }) ?? 0
    const resent = served - SIZE
    // Growth of a running node from idle to its peak during the transfer. After the
    // restart the process is still warming up (lazy module loads, WASM), so that
    // phase is reported but not held to the budget.
    const growth = rssMax - rssBase
    console.log(
      `# ${SIZE / 2 ** 20} MiB: served ${(served / 2 ** 20).toFixed(1)} MiB (${(servedBeforeRestart / 2 ** 20).toFixed(1)} before the kill), ` +
        `re-sent ${(resent / 2 ** 20).toFixed(2)} MiB (part ${PART / 2 ** 20} MiB); subscriber RSS growth ${growth.toFixed(1)} MiB ` +
        `(before the kill ${(rssMax - rssBase).toFixed(1)}, after the restart ${(rssMax2 - rssBase2).toFixed(1)}; heap used at the end ${heapMiB.toFixed(1)} MiB); ` +
        `message latency during the transfer (before the kill) p50 ${percentile(beforeKill, 50)} ms p99 ${percentile(beforeKill, 99)} ms ` +
        `max ${Math.max(...beforeKill)} ms over ${beforeKill.length} messages; over the whole run incl. the restart p99 ${percentile(latencies, 99)} ms`,
    )
    // A kill loses at most the parts in flight; outboard parents travel too (~0.4 % of
    // the size), so allow that on top.
    assert.ok(
      resent <= IN_FLIGHT * PART + SIZE * 0.005,
      `re-sent ${resent} bytes: more than the ${IN_FLIGHT} parts in flight`,
    )
    // Issue 6 targets <= 64 MiB. With the 4 MiB stream window runs here measured 57-68 MiB;
    // with the 1 MiB default (limits.stream_window_bytes) 49 MiB here and 30-51 MiB in
    // bench runs. GC timing makes it noisy, so the target is reported, not asserted; the
    // assertion guards against regressions with a margin the noise does not reach.
    console.log(`# RSS growth target <= 64 MiB: ${growth <= 64 ? 'met' : 'MISSED'}`)
    assert.ok(growth <= 96, `subscriber RSS grew by ${growth.toFixed(1)} MiB`)
    assert.ok(latencies.length > 50, 'messages flowed during the transfer')
    // Not stalled: during the transfer (CI measured p99 239 ms; issue 15's 50 ms target is
    // not met yet, see bench/RESULTS.md) and over the whole run, which includes B's
    // restart and catch-up (1.8-2.1 s measured).
    assert.ok(
      percentile(beforeKill, 99) < 1_000,
      `messages stalled by the transfer: p99 ${percentile(beforeKill, 99)} ms`,
    )
    assert.ok(
      percentile(latencies, 99) < 4_000,
      `messages stalled around the restart: p99 ${percentile(latencies, 99)} ms`,
    )
  },
)

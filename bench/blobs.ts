/**
 * bench/blobs.ts — one object S3 → S3 through two real rhio processes (A
 * publishes bucket `outbox`, B subscribes into `inbox`: import + signed
 * announcement + verified multipart transfer), against plain copies between
 * the same two s3rvers in the same run:
 *   - GetObject streamed into PutObject (one request),
 *   - lib-storage Upload (multipart, 8 MiB parts, 4 at once),
 *   - ranged GetObject → UploadPart, 8 MiB parts one at a time, then
 *     CompleteMultipartUpload: the write pattern a resumable copy needs (what
 *     rhio does, without p2p, verification or signatures).
 * Reports rhio's phases (import, parts, completion) and B's RSS growth (idle
 * node → peak during the transfer).
 *
 *   node dist/bench/blobs.js [--mib 1024] [--no-record]
 */
import { execSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync, readFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import type { Readable } from 'node:stream'
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { createS3Client } from '../src/store/s3-client.js'
import { BlobSite } from '../test/helpers/blob-site.js'
import type { S3Endpoint } from '../test/helpers/s3-endpoint.js'

const args = process.argv.slice(2)
const MIB = Number(args[args.indexOf('--mib') + 1] ?? 0) || 1024
const SIZE = MIB * 1024 * 1024
const PART = 8 * 1024 * 1024
const log = (s: string): void => console.error(`[bench] ${s}`)

async function* generate(size: number, seed: number): AsyncGenerator<Uint8Array> {
  let x = seed | 1
  for (let off = 0; off < size; off += 1 << 20) {
    const buf = new Uint8Array(Math.min(1 << 20, size - off))
    const w = new Uint32Array(buf.buffer, 0, buf.length >>> 2)
    for (let i = 0; i < w.length; i++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      w[i] = x
    }
    yield buf
  }
}

async function copyPut(src: S3Endpoint, dst: S3Endpoint, key: string): Promise<number> {
  const a = createS3Client(src.config)
  const b = createS3Client(dst.config)
  try {
    const t = performance.now()
    const r = await a.send(new GetObjectCommand({ Bucket: 'outbox', Key: 'big.bin' }))
    await b.send(
      new PutObjectCommand({
        Bucket: 'inbox',
        Key: key,
        Body: r.Body as Readable,
        ContentLength: SIZE,
      }),
    )
    return SIZE / ((performance.now() - t) / 1000)
  } finally {
    a.destroy()
    b.destroy()
  }
}

async function copyUpload(src: S3Endpoint, dst: S3Endpoint, key: string): Promise<number> {
  const a = createS3Client(src.config)
  const b = createS3Client(dst.config)
  try {
    const t = performance.now()
    const r = await a.send(new GetObjectCommand({ Bucket: 'outbox', Key: 'big.bin' }))
    await new Upload({
      client: b,
      params: { Bucket: 'inbox', Key: key, Body: r.Body as Readable },
      partSize: 8 << 20,
      queueSize: 4,
    }).done()
    return SIZE / ((performance.now() - t) / 1000)
  } finally {
    a.destroy()
    b.destroy()
  }
}

/**
 * The copy written the way rhio must write (resumable): multipart, 8 MiB parts one after
 * another, each a ranged GetObject streamed into UploadPart, then CompleteMultipartUpload.
 */
async function copyParts(
  src: S3Endpoint,
  dst: S3Endpoint,
  key: string,
): Promise<{ rate: number; partsMs: number; completeMs: number }> {
  const a = createS3Client(src.config)
  const b = createS3Client(dst.config)
  try {
    const t = performance.now()
    const { UploadId } = await b.send(
      new CreateMultipartUploadCommand({ Bucket: 'inbox', Key: key }),
    )
    const parts: Array<{ PartNumber: number; ETag: string }> = []
    for (let n = 1, at = 0; at < SIZE; n++, at += PART) {
      const len = Math.min(PART, SIZE - at)
      const r = await a.send(
        new GetObjectCommand({
          Bucket: 'outbox',
          Key: 'big.bin',
          Range: `bytes=${at}-${at + len - 1}`,
        }),
      )
      const up = await b.send(
        new UploadPartCommand({
          Bucket: 'inbox',
          Key: key,
          UploadId,
          PartNumber: n,
          Body: r.Body as Readable,
          ContentLength: len,
        }),
      )
      parts.push({ PartNumber: n, ETag: up.ETag! })
    }
    const t1 = performance.now()
    await b.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'inbox',
        Key: key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    )
    const t2 = performance.now()
    return { rate: SIZE / ((t2 - t) / 1000), partsMs: t1 - t, completeMs: t2 - t1 }
  } finally {
    a.destroy()
    b.destroy()
  }
}

function metricValue(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
  }
  return 0
}

function logTime(rec: { time?: unknown }): number {
  if (typeof rec.time !== 'number') throw new Error('log record without a time')
  return rec.time
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : 0
}

async function main(): Promise<void> {
  const load0 = loadavg()[0]!
  const mb = (x: number): string => `${(x / 1e6).toFixed(0)} MB/s`
  const a = await BlobSite.start('a', ['outbox'])
  const b = await BlobSite.start('b', ['inbox'])
  try {
    log(`writing ${MIB} MiB into A's outbox`)
    await a.store.put('outbox', 'big.bin', {
      stream: generate(SIZE, randomBytes(4).readUInt32LE()),
      length: SIZE,
    })
    log('baseline: GetObject → PutObject')
    const put1 = await copyPut(a.s3, b.s3, 'baseline/put-1')
    log('reference: lib-storage Upload')
    const upload = await copyUpload(a.s3, b.s3, 'baseline/upload')
    log('reference: sequential 8 MiB parts')
    const seq = await copyParts(a.s3, b.s3, 'baseline/parts')
    for (const k of ['baseline/put-1', 'baseline/upload', 'baseline/parts'])
      await b.store.delete('inbox', k)

    // rhio: B first (idle baseline), then A imports the existing object and announces it.
    const ra0 = await a.rhio({ config: { publish: { s3_buckets: [] } } }) // only for its key/address
    const node = await ra0.asNode()
    const rb = await b.rhio({
      config: {
        nodes: [node],
        subscribe: {
          s3_buckets: [
            { remote_bucket: 'outbox', local_bucket: 'inbox', public_key: ra0.publicKey },
          ],
        },
      },
    })
    await rb.waitForLog('rhio node running')
    await new Promise((r) => setTimeout(r, 1000))
    const pid = rb.child.proc.pid!
    const rss0 = rssMiB(pid)
    let rssMax = rss0
    await ra0.stop()
    const tSpawn = Date.now()
    const ra = await a.rhio({
      keyPath: ra0.configPath.replace(/config\.yaml$/, 'private.key'),
      config: {
        bind_port: Number(node.endpoints[0]!.split(':')[1]),
        publish: { s3_buckets: ['outbox'] },
      },
    })
    // Phases, by wall clock: A's node running (the object is in the bucket, as when it lands
    // in a watched bucket), A's 'imported' log, B's first and last verified byte (its byte
    // counter; /health's transfer section is refreshed only once a second), B's meta complete.
    const tRun = logTime(await ra.waitForLog('rhio node running', 30_000))
    let tStart = 0
    let tParts = 0
    for (;;) {
      rssMax = Math.max(rssMax, rssMiB(pid))
      const got = metricValue(await rb.metrics(), 'rhio_blob_bytes_total{direction="in"}')
      if (tStart === 0 && got > 0) tStart = Date.now()
      if (tParts === 0 && got >= SIZE) tParts = Date.now()
      if ((await b.meta('inbox', 'big.bin'))?.complete) break
      await new Promise((r) => setTimeout(r, 50))
    }
    const tEnd = Date.now()
    if (tParts === 0) tParts = tEnd
    const tImported = logTime(await ra.waitForLog('imported', 1_000))
    const withBoot = SIZE / ((tEnd - tSpawn) / 1000)
    const endToEnd = SIZE / ((tEnd - tRun) / 1000)
    const transfer = SIZE / ((tEnd - tStart) / 1000)
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
    const phases =
      `Phases: import at A ${s(tImported - tRun)} (from its node running), announce → first verified byte at B ${s(tStart - tImported)}, ` +
      `parts verified and streamed into UploadPart ${s(tParts - tStart)} (${mb(SIZE / ((tParts - tStart) / 1000))}), ` +
      `last part's answer + CompleteMultipartUpload + outboard + meta ${s(tEnd - tParts)}; A's process start before that ${s(tRun - tSpawn)}.`
    log('baseline again')
    const put2 = await copyPut(a.s3, b.s3, 'baseline/put-2')
    const base = (put1 + put2) / 2
    let commit = 'unknown'
    try {
      commit = execSync('git rev-parse --short HEAD').toString().trim()
    } catch {
      // not a checkout
    }
    const r = (x: number, b: number): string => `${(x / b).toFixed(2)}x`
    const vs = (x: number): string[] => [mb(x), r(x, base), r(x, upload), r(x, seq.rate)]
    const rows = [
      [
        `plain streaming copy: GetObject → PutObject, one request (mean of ${mb(put1)}, ${mb(put2)})`,
        ...vs(base),
      ],
      [
        'plain streaming copy: GetObject → lib-storage Upload (multipart, 4 parts at once)',
        ...vs(upload),
      ],
      [
        `plain streaming copy written as rhio must write it: ranged GetObject → UploadPart, 8 MiB parts one at a time, then CompleteMultipartUpload (parts ${s(seq.partsMs)}, completion ${s(seq.completeMs)})`,
        ...vs(seq.rate),
      ],
      [
        "rhio end to end from A's node running: import at A (read, hash, outboard) + announce + verified transfer",
        ...vs(endToEnd),
      ],
      ["rhio end to end including the start of A's process", ...vs(withBoot)],
      ['rhio transfer only (first verified byte at B → complete)', ...vs(transfer)],
    ]
    // rhio's work without p2p, verification or signatures: reading the object once at A (the
    // import) plus the same-shape plain copy (parts one at a time + s3rver's completion).
    const floorMs = tImported - tRun + seq.partsMs + seq.completeMs
    const section =
      `\n## blobs — ${new Date().toISOString()}\n\nmachine: ${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; commit ${commit}; ` +
      `${MIB} MiB object, two s3rvers, two rhio processes (8 MiB parts); load average at start ${load0.toFixed(1)}\n\n` +
      `Target: >= 0.6x a plain streaming copy. The brief measured that copy at ~140 MB/s, which matches the multipart SDK copy here; all three ratios are given.\n\n` +
      `| measurement | figure | vs one-request copy | vs lib-storage copy | vs sequential-parts copy |\n|---|---|---|---|---|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n\n` +
      `${phases}\n\nThe same work without p2p or verification (import read at A + the sequential-parts copy) takes ${s(floorMs)}, ${mb(SIZE / (floorMs / 1000))} = ${r(SIZE / (floorMs / 1000), base)} the one-request copy.\n\n` +
      `Subscriber RSS: ${rss0.toFixed(0)} MiB idle, peak ${rssMax.toFixed(0)} MiB during the transfer (growth ${(rssMax - rss0).toFixed(1)} MiB; target <= 64).\n`
    console.log(section)
    if (!args.includes('--no-record'))
      appendFileSync(new URL('../../bench/RESULTS.md', import.meta.url), section)
    await ra.stop()
    await rb.stop()
  } finally {
    await b[Symbol.asyncDispose]()
    await a[Symbol.asyncDispose]()
  }
}

void main()

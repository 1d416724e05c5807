/**
 * Blob transfer, S3 to S3, against a plain SDK streaming copy between the same two s3rvers in
 * the same run (target: >= 0.6x, fetcher RSS growth <= 64 MiB for 1 GiB).
 *
 * Two s3rver processes (source, destination); the provider runs in a child process (its own
 * libp2p node serving the source bucket), the fetcher (TransferManager) in this one, over TCP
 * on loopback with Noise and Yamux, default part size 8 MiB. Baselines: GetObject streamed into
 * PutObject (ContentLength set), run before and after the transfer (the mean is the baseline),
 * and lib-storage's Upload (parallel multipart, 8 MiB parts, 4 at once) for reference.
 *
 * Run by hand: node scripts/build.mjs && node --expose-gc dist/bench/blobs-transfer.js
 * BLOBS_BENCH_MIB sets the size (default 1024), BLOBS_BENCH_PART_MIB the part size (default 8).
 * Prints the figures; records nothing.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import os from 'node:os'
import type { Readable } from 'node:stream'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import pino from 'pino'
import {
  Blake3Hasher,
  OutboardBuilder,
  hashEquals,
  hashToBase32,
  parseBlobHash,
} from '../src/bao/index.js'
import { MemoryBlobIndex } from '../src/blobs/memory-index.js'
import { BlobMetrics } from '../src/blobs/metrics.js'
import { BlobProvider } from '../src/blobs/provider.js'
import { TransferManager } from '../src/blobs/transfer-manager.js'
import { createS3Client } from '../src/store/s3-client.js'
import { S3ObjectStore } from '../src/store/s3-object-store.js'
import { outboardKey } from '../src/store/layout.js'
import { Child } from '../test/helpers/child.js'
import { TEST_NETWORK, startTestNode } from '../test/helpers/p2p.js'
import { S3Server } from '../test/helpers/s3-server.js'

const MiB = 1024 * 1024
const SIZE = Number(process.env.BLOBS_BENCH_MIB ?? 1024) * MiB
const PART = Number(process.env.BLOBS_BENCH_PART_MIB ?? 8) * MiB
const KEY = 'bench/object.bin'
const silent = pino({ level: process.env.BLOBS_BENCH_LOG ?? 'silent' })

/** Pseudo-random bytes, 1 MiB at a time (xorshift; the same for the same seed). */
async function* generate(size: number, seed: number): AsyncGenerator<Uint8Array> {
  let x = seed | 1
  for (let off = 0; off < size; off += MiB) {
    const buf = new Uint8Array(Math.min(MiB, size - off))
    const words = new Uint32Array(buf.buffer, 0, buf.length >>> 2)
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      words[i] = x
    }
    yield buf
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return NaN
  }
}

/** The pid of the s3rver process serving `dir`. */
function s3rverPid(dir: string): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(dir)) return Number(name)
    } catch {
      // gone meanwhile
    }
  }
  return -1
}

function gc(): void {
  ;(globalThis as { gc?: () => void }).gc?.()
}

/** The provider process: serves `bucket` of the S3 endpoint given in argv. */
async function provider(endpoint: string, hash: string): Promise<void> {
  const s3 = {
    endpoint,
    region: 'us-east-1',
    credentials: { access_key: 'S3RVER', secret_key: 'S3RVER' },
  }
  const store = S3ObjectStore.fromConfig(s3)
  const node = await startTestNode({ limits: {} })
  node.node.hello.setLocal({
    version: 1,
    holds: [{ author: node.key.publicKey, kind: 'blobs', filters: ['src'] }],
    wants: [],
  })
  const index = new MemoryBlobIndex()
  index.add(parseBlobHash(hash), { bucket: 'src', key: KEY, size: SIZE })
  const p = new BlobProvider({
    host: node.node.host,
    penalties: node.node.penalties,
    networkId: TEST_NETWORK,
    store,
    index,
    limits: { maxRequests: 16 },
    logger: silent,
    metrics: new BlobMetrics(node.registry),
  })
  await p.start()
  const rss0 = process.memoryUsage().rss
  let rssMax = rss0
  let heapMax = 0
  let buffersMax = 0
  setInterval(() => {
    const m = process.memoryUsage()
    rssMax = Math.max(rssMax, m.rss)
    heapMax = Math.max(heapMax, m.heapUsed)
    buffersMax = Math.max(buffersMax, m.arrayBuffers)
  }, 50).unref()
  process.on('SIGTERM', () => {
    const mem = { rssGrowth: rssMax - rss0, heapMax, buffersMax }
    console.log(`PROVIDER-DONE ${JSON.stringify({ served: p.servedBytes, ...mem })}`)
    process.exit(0)
  })
  console.log(`READY ${JSON.stringify(node.asStatic())}`)
}

async function copyPut(src: S3ObjectStore, dst: S3ObjectStore, key: string): Promise<number> {
  const t = performance.now()
  const g = await src.get('src', KEY)
  await dst.put('dst', key, { stream: g.body, length: SIZE })
  return SIZE / ((performance.now() - t) / 1000)
}

async function copyUpload(srcServer: S3Server, dstServer: S3Server): Promise<number> {
  const a = createS3Client(srcServer.config)
  const b = createS3Client(dstServer.config)
  try {
    const t = performance.now()
    const r = await a.send(new GetObjectCommand({ Bucket: 'src', Key: KEY }))
    const up = new Upload({
      client: b,
      params: { Bucket: 'dst', Key: 'baseline/upload', Body: r.Body as Readable },
      partSize: 8 * MiB,
      queueSize: 4,
    })
    await up.done()
    return SIZE / ((performance.now() - t) / 1000)
  } finally {
    a.destroy()
    b.destroy()
  }
}

async function main(): Promise<void> {
  const srcServer = await S3Server.start({ buckets: ['src'], name: 's3rver-src' })
  const dstServer = await S3Server.start({ buckets: ['dst'], name: 's3rver-dst' })
  const src = S3ObjectStore.fromConfig(srcServer.config)
  const dst = S3ObjectStore.fromConfig(dstServer.config)
  let child: Child | undefined
  try {
    const seed = randomBytes(4).readUInt32LE()
    const builder = new OutboardBuilder()
    for await (const b of generate(SIZE, seed)) builder.update(b)
    const { hash, outboard } = builder.finish()
    await src.put('src', KEY, { stream: generate(SIZE, seed), length: SIZE })
    await src.put('src', outboardKey(KEY), outboard)

    const pids = { src: s3rverPid(srcServer.dir), dst: s3rverPid(dstServer.dir), self: process.pid }
    const cpuNow = (extra: number[] = []): number[] =>
      [pids.src, pids.dst, pids.self, ...extra].map(cpuSeconds)
    const c0 = cpuNow()
    const put1 = await copyPut(src, dst, 'baseline/put1')
    const c1 = cpuNow()
    const prof = process.env.BLOBS_BENCH_PROF
    child = new Child('provider', process.execPath, [
      ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []),
      process.argv[1]!,
      '--provider',
      srcServer.endpoint,
      hashToBase32(hash),
    ])
    const ready = await child.waitForOutput(/READY (.*)\n/, 20_000)
    const node = await startTestNode({ staticNodes: [JSON.parse(ready[1]!)] })
    const providerId = (JSON.parse(ready[1]!) as { publicKey: string }).publicKey
    const manager = new TransferManager({
      host: node.node.host,
      penalties: node.node.penalties,
      hello: node.node.hello,
      networkId: TEST_NETWORK,
      store: dst,
      state: node.state,
      limits: { partSizeBytes: PART, maxConcurrentTransfers: 4 },
      logger: silent,
      metrics: new BlobMetrics(node.registry),
    })
    const start = Date.now()
    while (!node.node.hello.get(providerId)) {
      if (Date.now() - start > 20_000) throw new Error('no hello from the provider')
      await new Promise((r) => setTimeout(r, 20))
    }
    const failures: string[] = []
    manager.onAttempt((a) => {
      if (!a.ok) failures.push(`part ${a.part}: ${a.failure} ${a.error ?? ''}`)
    })
    await manager.start()
    gc()
    const rss0 = process.memoryUsage().rss
    let rssMax = rss0
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 50)
    const loop = monitorEventLoopDelay({ resolution: 10 })
    loop.enable()
    const done = new Promise<void>((resolve, reject) => {
      manager.onDone(() => resolve())
      manager.onFailed((e) => reject(e.error))
    })
    const childPid = child.proc.pid ?? -1
    const t1 = cpuNow([childPid])
    const t0 = performance.now()
    await manager.enqueue({
      localBucket: 'dst',
      key: KEY,
      hash,
      size: SIZE,
      author: new Uint8Array(Buffer.from(providerId, 'hex')),
      remoteBucket: 'src',
      signature: 'ab'.repeat(64),
      seq: 1,
    })
    await done
    const ours = SIZE / ((performance.now() - t0) / 1000)
    const t2 = cpuNow([childPid])
    loop.disable()
    clearInterval(sampler)
    await manager.stop()
    await node[Symbol.asyncDispose]()
    await child.stop('SIGTERM')
    const prov = JSON.parse(/PROVIDER-DONE (.*)\n/.exec(child.output)?.[1] ?? '{}') as {
      served?: number
      rssGrowth?: number
      heapMax?: number
      buffersMax?: number
    }

    const put2 = await copyPut(src, dst, 'baseline/put2')
    const upload = await copyUpload(srcServer, dstServer)

    const check = new Blake3Hasher()
    for await (const c of (await dst.get('dst', KEY)).body as AsyncIterable<Uint8Array>)
      check.update(c)
    const ok = hashEquals(check.digest(), hash)

    const base = (put1 + put2) / 2
    const mb = (x: number): string => `${(x / 1e6).toFixed(0)} MB/s`
    const cpu = os.cpus()[0]?.model ?? 'cpu'
    console.log(`\nblobs-transfer — ${new Date().toISOString()}`)
    console.log(
      `machine: ${cpu} x${os.cpus().length}, Node ${process.version}; ${SIZE / MiB} MiB, ${PART / MiB} MiB parts`,
    )
    console.log(`| what | throughput | vs baseline |`)
    console.log(`|---|---|---|`)
    console.log(
      `| baseline: GetObject → PutObject stream (mean of ${mb(put1)}, ${mb(put2)}) | ${mb(base)} | 1.00x |`,
    )
    console.log(
      `| rhio blob transfer (provider process → fetcher, verified, multipart) | ${mb(ours)} | ${(ours / base).toFixed(2)}x |`,
    )
    console.log(
      `| reference: lib-storage Upload (4 parallel parts) | ${mb(upload)} | ${(upload / base).toFixed(2)}x |`,
    )
    console.log(
      `fetcher RSS growth ${((rssMax - rss0) / MiB).toFixed(1)} MiB (target <= 64); provider RSS growth ${((prov.rssGrowth ?? NaN) / MiB).toFixed(1)} MiB (peak heap ${((prov.heapMax ?? NaN) / MiB).toFixed(0)} MiB, buffers ${((prov.buffersMax ?? NaN) / MiB).toFixed(0)} MiB); ` +
        `longest event-loop delay ${(loop.max / 1e6).toFixed(1)} ms; served ${prov.served} bytes for ${SIZE}; BLAKE3 ${ok ? 'ok' : 'MISMATCH'}`,
    )
    const perGiB = (a: number[], b: number[], i: number): string =>
      ((b[i]! - a[i]!) / (SIZE / 1024 ** 3)).toFixed(1)
    console.log(
      `CPU s per GiB — baseline copy: s3rver-src ${perGiB(c0, c1, 0)}, s3rver-dst ${perGiB(c0, c1, 1)}, copier ${perGiB(c0, c1, 2)}; ` +
        `transfer: s3rver-src ${perGiB(t1, t2, 0)}, s3rver-dst ${perGiB(t1, t2, 1)}, provider ${perGiB(t1, t2, 3)}, fetcher ${perGiB(t1, t2, 2)}`,
    )
    if (failures.length > 0) {
      console.log(`failed range requests (retried): ${failures.join('; ')}`)
      if (process.env.BLOBS_BENCH_LOG) console.log(child.tail(60))
    }
    if (!ok) process.exitCode = 1
  } finally {
    await child?.kill()
    await src.close()
    await dst.close()
    await srcServer[Symbol.asyncDispose]()
    await dstServer[Symbol.asyncDispose]()
  }
}

if (process.argv[2] === '--provider') await provider(process.argv[3]!, process.argv[4]!)
else await main()

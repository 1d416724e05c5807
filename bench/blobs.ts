/**
 * bench/blobs.ts — one large object S3 → S3 through two real rhio processes,
 * against what a user would otherwise run between the same two S3 servers in
 * the same run, on Ceph RGW (a real S3 server) and on s3rver:
 *   - plain copy, one request: GetObject streamed into PutObject;
 *   - multipart copy with 4 parts in flight (lib-storage Upload, 8 MiB parts);
 *   - `rclone copyto` (Debian's rclone).
 * rhio is timed as a user sees it: both nodes running and idle, the object
 * lands in A's watched bucket (a CopyObject from a staging bucket; the time
 * its answer arrives is t0) and is complete at B when its metadata says so.
 * Also: time to B's first verified byte (detection by A's bucket poll +
 * import + announcement), CPU-seconds per GiB of each rhio process, B's RSS
 * growth, and the latency of messages replicated A → B during the transfer.
 *
 * --holders adds the multi-holder workload: every p2p link throttled by a
 * proxy, B fetching a fresh copy from A alone, then from A and a second holder
 * C (which already holds it); target >= 1.7x.
 *
 *   node dist/bench/blobs.js [--mib 1024] [--s3 rgw,s3rver] [--poll-ms 1000]
 *     [--holders] [--holder-mib 256] [--link-mbps 160] [--no-record] [--profile DIR]
 *     [--no-messages] [--semi MiB] [--window-kib KiB] [--parts N]
 *
 * --profile DIR writes both rhio processes' CPU profiles (per S3 kind) there and
 * prints where their time went.
 */
import { execFile, execSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { promisify } from 'node:util'
import {
  CopyObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { createS3Client } from '../src/store/s3-client.js'
import { BlobSite } from '../test/helpers/blob-site.js'
import { CephCluster, rgwFactory } from '../test/helpers/ceph-rgw.js'
import { TcpProxy } from '../test/helpers/proxy.js'
import type { RhioProcess } from '../test/helpers/rhio.js'
import type { S3Endpoint, S3Factory } from '../test/helpers/s3-endpoint.js'
import { s3rverFactory } from '../test/helpers/s3-server.js'
import { cpuSeconds, percentile } from './message-workloads.js'
import { summarise } from './profile.js'

const args = process.argv.slice(2)
const arg = (name: string, fallback: string): string => {
  const i = args.indexOf(name)
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback
}
const MIB = Number(arg('--mib', '1024'))
const SIZE = MIB * 2 ** 20
const KINDS = arg('--s3', 'rgw,s3rver').split(',') as Array<'rgw' | 's3rver'>
const POLL_MS = Number(arg('--poll-ms', '1000'))
const HOLDERS = args.includes('--holders')
const HOLDER_MIB = Number(arg('--holder-mib', '256'))
/** Throttle of each p2p link in the holders workload, megabits per second. */
const LINK_MBPS = Number(arg('--link-mbps', '160'))
const PART = 8 * 2 ** 20
const PROFILE = arg('--profile', '')
if (PROFILE) mkdirSync(PROFILE, { recursive: true })
/** V8 young generation semi-space of the rhio processes, MiB (the launcher's default is 8). */
const SEMI = arg('--semi', '8')
/** limits.stream_window_bytes of both rhio processes, KiB (rhio's default: 1024). */
const WINDOW_KIB = Number(arg('--window-kib', '1024'))
const limits = { stream_window_bytes: WINDOW_KIB * 1024 }
/** blobs.parts_in_flight of the subscribing rhio (rhio's default: 4). */
const PARTS = Number(arg('--parts', '4'))
const profileEnv = (kind: string, role: string): Record<string, string> => ({
  NODE_OPTIONS: `--max-semi-space-size=${SEMI}`,
  ...(PROFILE ? { RHIO_CPU_PROFILE: join(PROFILE, `${kind}-${role}.cpuprofile`) } : {}),
})
const log = (s: string): void => console.error(`[bench] ${s}`)
const mb = (bytesPerSec: number): string => `${(bytesPerSec / 1e6).toFixed(0)} MB/s`
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

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

interface Pair {
  a: S3Client
  b: S3Client
}

function clients(src: S3Endpoint, dst: S3Endpoint): Pair & { destroy(): void } {
  const a = createS3Client(src.config)
  const b = createS3Client(dst.config)
  return { a, b, destroy: () => (a.destroy(), b.destroy()) }
}

/** Plain copy, one request: GetObject streamed into PutObject. Returns ms. */
async function copyOneRequest(p: Pair, key: string): Promise<number> {
  const t = performance.now()
  const r = await p.a.send(new GetObjectCommand({ Bucket: 'staging', Key: 'big.bin' }))
  await p.b.send(
    new PutObjectCommand({
      Bucket: 'inbox',
      Key: key,
      Body: r.Body as Readable,
      ContentLength: SIZE,
    }),
  )
  return performance.now() - t
}

/** Multipart copy, 8 MiB parts, 4 in flight (lib-storage Upload). Returns ms. */
async function copyMultipart(p: Pair, key: string): Promise<number> {
  const t = performance.now()
  const r = await p.a.send(new GetObjectCommand({ Bucket: 'staging', Key: 'big.bin' }))
  await new Upload({
    client: p.b,
    params: { Bucket: 'inbox', Key: key, Body: r.Body as Readable },
    partSize: PART,
    queueSize: 4,
  }).done()
  return performance.now() - t
}

/** `rclone copyto` between the two servers (remotes configured by environment). Returns ms. */
async function copyRclone(src: S3Endpoint, dst: S3Endpoint, key: string): Promise<number> {
  const remote = (name: string, e: S3Endpoint): Record<string, string> => ({
    [`RCLONE_CONFIG_${name}_TYPE`]: 's3',
    [`RCLONE_CONFIG_${name}_PROVIDER`]: 'Other',
    [`RCLONE_CONFIG_${name}_ENDPOINT`]: e.config.endpoint,
    [`RCLONE_CONFIG_${name}_REGION`]: e.config.region,
    [`RCLONE_CONFIG_${name}_ACCESS_KEY_ID`]: e.config.credentials.access_key,
    [`RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY`]: e.config.credentials.secret_key,
    [`RCLONE_CONFIG_${name}_FORCE_PATH_STYLE`]: 'true',
  })
  // The AWS SDK in rclone fails on AWS_CA_BUNDLE with plain-HTTP endpoints.
  const { AWS_CA_BUNDLE: _, ...env } = process.env
  const t = performance.now()
  await promisify(execFile)(
    'rclone',
    ['copyto', 'SRC:staging/big.bin', `DST:inbox/${key}`, '--s3-no-check-bucket'],
    { env: { ...env, ...remote('SRC', src), ...remote('DST', dst) } },
  )
  return performance.now() - t
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : 0
}

function metricValue(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
  }
  return 0
}

/** The longest event-loop delay since the last scrape, ms (prom-client resets it per scrape). */
const loopLagMs = async (r: RhioProcess): Promise<number> =>
  metricValue(await r.metrics(), 'nodejs_eventloop_lag_max_seconds') * 1000

const bytesIn = async (r: RhioProcess): Promise<number> =>
  metricValue(await r.metrics(), 'rhio_blob_bytes_total{direction="in"}')

/** Lands `key` in A's watched bucket by a server-side copy; returns when the copy answered. */
async function land(site: BlobSite, key: string): Promise<number> {
  const c = createS3Client(site.s3.config)
  try {
    await c.send(
      new CopyObjectCommand({ Bucket: 'outbox', Key: key, CopySource: 'staging/big.bin' }),
    )
    return performance.now()
  } finally {
    c.destroy()
  }
}

/** Messages A → B at a steady pace while `running()`: each one's delay, ms. */
async function messageLatencies(
  a: BlobSite,
  b: BlobSite,
  running: () => boolean,
): Promise<number[]> {
  const sent = new Map<number, number>()
  const delays: number[] = []
  const sub = b.site.nc.subscribe('m.>', {
    callback: (_e, m) => {
      const i = Number(new TextDecoder().decode(m.data))
      const at = sent.get(i)
      if (at !== undefined) {
        delays.push(performance.now() - at)
        sent.delete(i)
      }
    },
  })
  for (let i = 0; running(); i++) {
    sent.set(i, performance.now())
    await a.site.js.publish('m.x', new TextEncoder().encode(String(i)))
    await sleep(20)
  }
  // the last ones still on their way
  for (let t = 0; sent.size > 0 && t < 100; t++) await sleep(50)
  sub.unsubscribe()
  return delays
}

interface KindResult {
  kind: string
  oneRequest: number[]
  multipart: number
  rclone: number | string
  rhio: {
    endToEndMs: number
    firstByteMs: number
    cpuA: number
    cpuB: number
    rssGrowth: number
    rss0: number
    latency: number[]
    /** Longest event-loop delay seen in A and B during the transfer, ms (scraped every ~50 ms). */
    lagA: number
    lagB: number
  }
}

/** The S3 servers of one workload: s3rvers, or gateways of a fresh Ceph cluster (bluestore). */
async function servers(
  kind: 'rgw' | 's3rver',
  what: string,
  deviceGiB: number,
): Promise<{ cluster: CephCluster | undefined; factory: S3Factory }> {
  if (kind !== 'rgw') return { cluster: undefined, factory: s3rverFactory }
  log(`${what}: starting a Ceph cluster (bluestore)`)
  const cluster = await CephCluster.start({
    objectStore: 'bluestore',
    deviceBytes: deviceGiB * 2 ** 30,
  })
  return { cluster, factory: rgwFactory(cluster) }
}

async function runKind(kind: 'rgw' | 's3rver'): Promise<KindResult> {
  const { cluster, factory } = await servers(kind, kind, 16)
  const a = await BlobSite.start('a', ['staging', 'outbox'], factory)
  const b = await BlobSite.start('b', ['inbox'], factory)
  try {
    await a.site.jsm.streams.add({ name: 'events', subjects: ['m.>'] })
    await b.site.jsm.streams.add({ name: 'events', subjects: ['m.>'] })
    log(`${kind}: writing ${MIB} MiB into A's staging bucket`)
    await a.store.put('staging', 'big.bin', {
      stream: generate(SIZE, randomBytes(4).readUInt32LE()),
      length: SIZE,
    })
    const p = clients(a.s3, b.s3)
    const oneRequest: number[] = []
    let multipart: number
    let rclone: number | string
    try {
      log(`${kind}: baseline one-request copy`)
      oneRequest.push(SIZE / ((await copyOneRequest(p, 'baseline/one-1')) / 1000))
      log(`${kind}: baseline multipart copy, 4 in flight`)
      multipart = SIZE / ((await copyMultipart(p, 'baseline/multipart')) / 1000)
      log(`${kind}: baseline rclone`)
      try {
        rclone = SIZE / ((await copyRclone(a.s3, b.s3, 'baseline/rclone')) / 1000)
      } catch (err) {
        const e = err as { stderr?: string }
        rclone = `failed: ${(e.stderr ?? String(err)).trim().split('\n').at(-1)}`
      }
    } finally {
      p.destroy()
    }
    for (const k of ['baseline/one-1', 'baseline/multipart', 'baseline/rclone'])
      await b.store.delete('inbox', k).catch(() => {})

    const s3a = { ...a.s3.config, watcher_poll_interval_millis: POLL_MS }
    const ra = await a.rhio({
      env: profileEnv(kind, 'publisher'),
      config: {
        limits,
        s3: s3a,
        publish: { s3_buckets: ['outbox'], nats_subjects: [{ subject: 'm.>', stream: 'events' }] },
      },
    })
    const rb = await b.rhio({
      env: profileEnv(kind, 'subscriber'),
      config: {
        limits,
        blobs: { parts_in_flight: PARTS },
        nodes: [await ra.asNode()],
        subscribe: {
          s3_buckets: [
            { remote_bucket: 'outbox', local_bucket: 'inbox', public_key: ra.publicKey },
          ],
          nats_subjects: [{ subject: 'm.>', stream: 'events', public_key: ra.publicKey }],
        },
      },
    })
    await rb.waitForLog('peer connected', 30_000)
    await sleep(1_000)
    const pidA = ra.pid!
    const pidB = rb.pid!
    const rss0 = rssMiB(pidB)
    let rssMax = rss0
    log(`${kind}: rhio — the object lands in A's watched bucket`)
    let transferring = true
    const latency = args.includes('--no-messages')
      ? Promise.resolve([])
      : messageLatencies(a, b, () => transferring)
    const cpuA0 = cpuSeconds(pidA)
    const cpuB0 = cpuSeconds(pidB)
    await loopLagMs(ra)
    await loopLagMs(rb)
    const t0 = await land(a, 'big.bin')
    let firstByte = 0
    let lagA = 0
    let lagB = 0
    for (;;) {
      rssMax = Math.max(rssMax, rssMiB(pidB))
      lagA = Math.max(lagA, await loopLagMs(ra))
      lagB = Math.max(lagB, await loopLagMs(rb))
      if (firstByte === 0 && (await bytesIn(rb)) > 0) firstByte = performance.now()
      if ((await b.meta('inbox', 'big.bin'))?.complete) break
      await sleep(50)
    }
    const tEnd = performance.now()
    const cpuA = cpuSeconds(pidA) - cpuA0
    const cpuB = cpuSeconds(pidB) - cpuB0
    transferring = false
    const delays = await latency
    await ra.stop('SIGTERM')
    await rb.stop('SIGTERM')
    if (PROFILE) {
      for (const role of ['publisher', 'subscriber'])
        console.log(summarise(join(PROFILE, `${kind}-${role}.cpuprofile`), 30))
    }
    log(`${kind}: baseline one-request copy again`)
    const p2 = clients(a.s3, b.s3)
    try {
      oneRequest.push(SIZE / ((await copyOneRequest(p2, 'baseline/one-2')) / 1000))
    } finally {
      p2.destroy()
    }
    const gib = SIZE / 2 ** 30
    return {
      kind,
      oneRequest,
      multipart,
      rclone,
      rhio: {
        endToEndMs: tEnd - t0,
        firstByteMs: (firstByte || tEnd) - t0,
        cpuA: cpuA / gib,
        cpuB: cpuB / gib,
        rssGrowth: rssMax - rss0,
        rss0,
        latency: delays.sort((x, y) => x - y),
        lagA,
        lagB,
      },
    }
  } finally {
    await b[Symbol.asyncDispose]()
    await a[Symbol.asyncDispose]()
    await cluster?.[Symbol.asyncDispose]()
  }
}

interface HoldersResult {
  one: number
  two: number
  viaA: number
  viaC: number
}

/**
 * Every p2p link throttled to LINK_MBPS by a proxy. C fetches the object from
 * A first (then holds it); B1 fetches it from A alone, B2 from A and C.
 */
async function runHolders(kind: 'rgw' | 's3rver'): Promise<HoldersResult> {
  const size = HOLDER_MIB * 2 ** 20
  const rate = (LINK_MBPS * 1e6) / 8
  const { cluster, factory } = await servers(kind, 'holders', 8)
  const a = await BlobSite.start('a', ['outbox'], factory)
  const c = await BlobSite.start('c', ['inbox'], factory)
  const b1 = await BlobSite.start('b1', ['inbox'], factory)
  const b2 = await BlobSite.start('b2', ['inbox'], factory)
  const proxies: TcpProxy[] = []
  try {
    await a.store.put('outbox', 'big.bin', {
      stream: generate(size, randomBytes(4).readUInt32LE()),
      length: size,
    })
    const ra = await a.rhio({ config: { limits, publish: { s3_buckets: ['outbox'] } } })
    const nodeA = await ra.asNode()
    const sub = { remote_bucket: 'outbox', local_bucket: 'inbox', public_key: ra.publicKey }
    log(`holders: C fetches ${HOLDER_MIB} MiB from A (unthrottled)`)
    const rc = await c.rhio({
      config: { limits, nodes: [nodeA], subscribe: { s3_buckets: [sub] } },
    })
    while (!(await c.meta('inbox', 'big.bin'))?.complete) await sleep(100)
    const nodeC = await rc.asNode()
    const throttled = async (node: typeof nodeA): Promise<typeof nodeA> => {
      const port = Number(node.endpoints[0]!.split(':').at(-1))
      const proxy = await TcpProxy.start(port)
      proxy.limit(rate)
      proxies.push(proxy)
      return { ...node, endpoints: [proxy.endpoint] }
    }
    const fetch = async (site: BlobSite, nodes: Array<typeof nodeA>): Promise<number> => {
      const r = await site.rhio({
        config: {
          limits,
          blobs: { parts_in_flight: PARTS },
          nodes,
          subscribe: { s3_buckets: [sub] },
        },
      })
      let t0 = 0
      for (;;) {
        if (t0 === 0 && (await bytesIn(r)) > 0) t0 = performance.now()
        if ((await site.meta('inbox', 'big.bin'))?.complete) break
        await sleep(50)
      }
      const ms = performance.now() - (t0 || performance.now())
      await r.stop()
      return size / (ms / 1000)
    }
    log(`holders: B1 from A alone, link ${LINK_MBPS} Mbit/s`)
    const one = await fetch(b1, [await throttled(nodeA)])
    log('holders: B2 from A and C, each link throttled')
    const [pa, pc] = [await throttled(nodeA), await throttled(nodeC)]
    const [proxyA, proxyC] = proxies.slice(-2) as [TcpProxy, TcpProxy]
    const two = await fetch(b2, [pa, pc])
    return { one, two, viaA: proxyA.bytes, viaC: proxyC.bytes }
  } finally {
    for (const p of proxies) await p[Symbol.asyncDispose]()
    for (const s of [b2, b1, c, a]) await s[Symbol.asyncDispose]()
    await cluster?.[Symbol.asyncDispose]()
  }
}

async function main(): Promise<void> {
  const load0 = loadavg()[0]!
  const results: KindResult[] = []
  for (const kind of KINDS) results.push(await runKind(kind))
  // on RGW when it is among the servers: s3rver's completion copies the whole object, a
  // fixed cost that would count against the faster of the two runs
  const holdersOn = KINDS.includes('rgw') ? 'rgw' : 's3rver'
  const holders = HOLDERS ? await runHolders(holdersOn) : undefined
  let commit = 'unknown'
  try {
    commit = execSync('git rev-parse --short HEAD').toString().trim()
    if (execSync('git status --porcelain --untracked-files=no').toString().trim() !== '')
      commit += ' (+local changes)'
  } catch {
    // not a checkout
  }
  const x = (v: number, base: number): string => `${(v / base).toFixed(2)}x`
  const rows: string[] = []
  for (const r of results) {
    const one = r.oneRequest.reduce((s, v) => s + v, 0) / r.oneRequest.length
    const rhio = SIZE / (r.rhio.endToEndMs / 1000)
    const rcl = typeof r.rclone === 'number' ? r.rclone : undefined
    const row = (what: string, v: number): string =>
      `| ${r.kind} | ${what} | ${mb(v)} | ${x(v, r.multipart)} | ${rcl ? x(v, rcl) : '—'} | ${x(v, one)} |`
    rows.push(
      row(`plain copy, one request (mean of ${r.oneRequest.map(mb).join(', ')})`, one),
      row('multipart copy, 8 MiB parts, 4 in flight (lib-storage)', r.multipart),
      rcl ? row('rclone copyto', rcl) : `| ${r.kind} | rclone copyto | ${r.rclone} | | | |`,
      row('**rhio**, landing at A → complete at B', rhio),
    )
  }
  const detail = results
    .map((r) => {
      const l = r.rhio.latency
      return (
        `- ${r.kind}: first verified byte at B ${secs(r.rhio.firstByteMs)} after landing (poll ${POLL_MS} ms; target <= poll + 1 s); ` +
        `CPU-s per GiB: A ${r.rhio.cpuA.toFixed(2)}, B ${r.rhio.cpuB.toFixed(2)} (target <= 2.5); ` +
        `B's RSS ${r.rhio.rss0.toFixed(0)} MiB idle, growth ${r.rhio.rssGrowth.toFixed(1)} MiB (target <= 64); ` +
        `messages during the transfer: ${l.length}, p50 ${percentile(l, 50).toFixed(1)} ms, p99 ${percentile(l, 99).toFixed(1)} ms (target p99 <= 50); longest event-loop delay during the transfer: A ${r.rhio.lagA.toFixed(0)} ms, B ${r.rhio.lagB.toFixed(0)} ms`
      )
    })
    .join('\n')
  const holderLine = holders
    ? `\nTwo holders on ${holdersOn}, each p2p link throttled to ${LINK_MBPS} Mbit/s (${HOLDER_MIB} MiB, transfer from first verified byte): ` +
      `one holder ${mb(holders.one)}, two holders ${mb(holders.two)} = ${x(holders.two, holders.one)} (target >= 1.7x); ` +
      `bytes through A's link ${(holders.viaA / 2 ** 20).toFixed(0)} MiB, through C's ${(holders.viaC / 2 ** 20).toFixed(0)} MiB.\n`
    : ''
  const section =
    `\n## blobs — ${new Date().toISOString()}\n\n` +
    `machine: ${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; commit ${commit}; ` +
    `${MIB} MiB object; two S3 servers of the kind named (Ceph RGW 16.2 on bluestore, one cluster with a gateway per site; or two s3rvers), two rhio processes (8 MiB parts, blobs.parts_in_flight ${PARTS}, stream window ${WINDOW_KIB} KiB, --max-semi-space-size=${SEMI}); load average at start ${load0.toFixed(1)}\n\n` +
    `Target: rhio >= 0.7x the 4-in-flight multipart copy (stretch: >= rclone).\n\n` +
    `| S3 | measurement | rate | vs multipart | vs rclone | vs one request |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n\n${detail}\n${holderLine}`
  console.log(section)
  if (!args.includes('--no-record'))
    appendFileSync(new URL('../../bench/RESULTS.md', import.meta.url), section)
}

await main()

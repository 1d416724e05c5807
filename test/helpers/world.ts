/**
 * Three sites for the fault suite and the soak (bench/soak.ts), each with its
 * own nats-server, S3 server and rhio process; the sites reach each other only
 * through loopback proxies the test can cut and slow. The S3 servers come from
 * the S3Factory passed to `World.start` (s3rver by default; the fault tests use
 * one Ceph RGW gateway with a tenant of its own per site, see ceph-rgw.ts):
 *
 *        A ──ab── B          A publishes a.> (stream a-events) and bucket a-out
 *         \       │          B subscribes A's a.> and a-out, publishes b.>
 *          ac    bc          C subscribes A's a.> and a-out (from A or via B)
 *            \    │            and B's b.>
 *              C
 *
 * `Load` keeps messages and objects coming, `Chaos` injects faults on a seeded
 * schedule, and `checkWorld` proves the outcome: every message exactly once, in
 * order per subject, headers and payload identical; every object byte-exact
 * with its outboard and a complete meta; no multipart upload left behind.
 */
import assert from 'node:assert/strict'
import { WireHeaders } from '../../src/nats/headers.js'
import { setTimeout as pause } from 'node:timers/promises'
import { BlobSite } from './blob-site.js'
import { assertReplica, INDEX_HEADER, prng } from './messages.js'
import { TcpProxy } from './proxy.js'
import type { RhioProcess } from './rhio.js'
import type { S3Factory } from './s3-endpoint.js'
import { waitFor } from './wait.js'

const MiB = 1024 * 1024
export const PART_SIZE = 5 * MiB

/** What each subscriber stream copies from which origin stream. */
export const REPLICAS = [
  { from: 'a', stream: 'a-events', to: 'b', copy: 'a-copy' },
  { from: 'a', stream: 'a-events', to: 'c', copy: 'a-copy' },
  { from: 'b', stream: 'b-events', to: 'c', copy: 'b-copy' },
] as const
export const BUCKET_COPIES = [
  { to: 'b', bucket: 'b-in' },
  { to: 'c', bucket: 'c-in' },
] as const

export type SiteName = 'a' | 'b' | 'c'
type LinkName = 'ab' | 'bc' | 'ac'

export class World implements AsyncDisposable {
  readonly sites: Record<SiteName, BlobSite>
  readonly rhio = {} as Record<SiteName, RhioProcess>
  readonly links = {} as Record<LinkName, TcpProxy>
  /**
   * What every node announces as its address: a port that refuses every
   * connection. Nodes then meet only over the configured links (the proxies),
   * never over addresses learnt from each other, so a cut link is a partition.
   */
  private nowhere: TcpProxy | undefined
  /** Output of earlier runs of each rhio process (before a kill or restart). */
  readonly history: Record<SiteName, string[]> = { a: [], b: [], c: [] }

  private constructor(sites: Record<SiteName, BlobSite>) {
    this.sites = sites
  }

  static async start(opts: { logLevel?: string; s3?: S3Factory } = {}): Promise<World> {
    const a = await BlobSite.start('a', ['a-out'], opts.s3)
    const b = await BlobSite.start('b', ['b-in'], opts.s3)
    const c = await BlobSite.start('c', ['c-in'], opts.s3)
    const w = new World({ a, b, c })
    try {
      w.nowhere = await TcpProxy.start(1)
      w.nowhere.cut()
      await a.site.jsm.streams.add({ name: 'a-events', subjects: ['a.>'] })
      await b.site.jsm.streams.add({ name: 'a-copy', subjects: ['a.>'] })
      await b.site.jsm.streams.add({ name: 'b-events', subjects: ['b.>'] })
      await c.site.jsm.streams.add({ name: 'a-copy', subjects: ['a.>'] })
      await c.site.jsm.streams.add({ name: 'b-copy', subjects: ['b.>'] })
      const common = {
        log_level: opts.logLevel ?? 'INFO',
        blobs: { part_size_bytes: PART_SIZE },
        announce_addresses: [w.nowhere.endpoint],
      }
      w.rhio.a = await a.rhio({
        config: {
          ...common,
          publish: {
            s3_buckets: ['a-out'],
            nats_subjects: [{ subject: 'a.>', stream: 'a-events' }],
          },
        },
      })
      const pa = w.rhio.a.publicKey
      w.links.ab = await TcpProxy.start(await w.rhio.a.p2pPort())
      w.links.ac = await TcpProxy.start(await w.rhio.a.p2pPort())
      w.rhio.b = await b.rhio({
        config: {
          ...common,
          nodes: [{ public_key: pa, endpoints: [w.links.ab.endpoint] }],
          publish: { nats_subjects: [{ subject: 'b.>', stream: 'b-events' }] },
          subscribe: {
            s3_buckets: [{ remote_bucket: 'a-out', local_bucket: 'b-in', public_key: pa }],
            nats_subjects: [{ subject: 'a.>', stream: 'a-copy', public_key: pa }],
          },
        },
      })
      const pb = w.rhio.b.publicKey
      w.links.bc = await TcpProxy.start(await w.rhio.b.p2pPort())
      w.rhio.c = await c.rhio({
        config: {
          ...common,
          nodes: [
            { public_key: pb, endpoints: [w.links.bc.endpoint] },
            { public_key: pa, endpoints: [w.links.ac.endpoint] },
          ],
          subscribe: {
            s3_buckets: [{ remote_bucket: 'a-out', local_bucket: 'c-in', public_key: pa }],
            nats_subjects: [
              { subject: 'a.>', stream: 'a-copy', public_key: pa },
              { subject: 'b.>', stream: 'b-copy', public_key: pb },
            ],
          },
        },
      })
    } catch (err) {
      await w[Symbol.asyncDispose]()
      throw err
    }
    return w
  }

  /** kill -9 of a site's rhio, then (after `downMs`) a start on the same directory and ports. */
  async crash(site: SiteName, downMs = 0): Promise<void> {
    const node = this.rhio[site]
    await node.kill()
    this.history[site].push(node.output)
    if (downMs > 0) await pause(downMs)
    await node.start()
  }

  /** Ends every partition and slowdown and makes sure every process runs. */
  async healAll(): Promise<void> {
    for (const l of Object.values(this.links)) l.heal()
    for (const s of Object.values(this.sites)) {
      if (!s.site.nats.running) await s.site.nats.start()
      if (!s.s3.running) await s.s3.start()
    }
    for (const [name, node] of Object.entries(this.rhio) as Array<[SiteName, RhioProcess]>) {
      if (!node.running) {
        this.history[name].push(node.output)
        await node.start()
      }
    }
  }

  /** Peers a site's rhio reports as connected in /health. */
  async connectedPeers(site: SiteName): Promise<number> {
    const body = (await this.rhio[site].health()).body as unknown as {
      peers?: Array<{ connected: boolean }>
    }
    return body.peers?.filter((p) => p.connected).length ?? 0
  }

  /** Whether `site`'s rhio reports `other`'s node as connected in /health. */
  async sees(site: SiteName, other: SiteName): Promise<boolean> {
    const body = (await this.rhio[site].health()).body as unknown as {
      peers?: Array<{ id: string; connected: boolean }>
    }
    return body.peers?.some((p) => p.id === this.rhio[other].publicKey && p.connected) ?? false
  }

  /** Waits until B and C are connected to every node they know. */
  async connected(timeout = 20_000): Promise<void> {
    await waitFor(
      async () => (await this.connectedPeers('b')) >= 1 && (await this.connectedPeers('c')) >= 2,
      { timeout, message: `the sites connect\n${this.tails()}` },
    )
  }

  /** All output of a site's rhio, over every run. */
  fullOutput(site: SiteName): string {
    return [...this.history[site], this.rhio[site].output].join('\n')
  }

  tails(lines = 15): string {
    return (['a', 'b', 'c'] as const)
      .map((s) => `--- rhio ${s}:\n${this.rhio[s]?.tail(lines) ?? ''}`)
      .join('\n')
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const l of Object.values(this.links)) await l[Symbol.asyncDispose]()
    await this.nowhere?.[Symbol.asyncDispose]()
    for (const s of Object.values(this.sites)) await s[Symbol.asyncDispose]().catch(() => {})
  }
}

/** Deterministic content for object `n` of `size` bytes. */
export function objectBytes(n: number, size: number): Uint8Array {
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  const rnd = prng(n * 7919 + 1)
  let x = Math.floor(rnd() * 2 ** 32)
  for (let i = 0; i + 4 <= size; i += 4) {
    x = (x * 1664525 + 1013904223) >>> 0
    view.setUint32(i, x, true)
  }
  for (let i = size - (size % 4); i < size; i++) out[i] = (n + i) & 0xff
  return out
}

export interface LoadOptions {
  seed: number
  /** Messages per second at each publishing site. Default 200. */
  messagesPerSecond?: number
  /** Milliseconds between new objects at A. Default 3000. */
  objectEveryMs?: number
  /** Share of objects written as multipart-sized (6–12 MiB). Default 0.25. */
  largeShare?: number
}

/**
 * Publishes messages at A (a.x, a.y, a.z) and at B (b.x) and writes objects into
 * A's bucket until stopped. A publish or put that fails (NATS or S3 down) is
 * retried until it succeeds; messages carry a Nats-Msg-Id, so a retry whose
 * first try was stored after all is not stored twice.
 */
export class Load implements AsyncDisposable {
  readonly sent = { a: 0, b: 0 }
  objects = 0
  readonly errors: string[] = []
  private running = true
  private aborted = false
  private readonly tasks: Array<Promise<void>>

  constructor(
    private readonly w: World,
    private readonly o: LoadOptions,
  ) {
    this.tasks = [
      this.messages('a', ['a.x', 'a.y', 'a.z']),
      this.messages('b', ['b.x']),
      this.blobs(),
    ]
  }

  /** Stops after what is in progress has been stored. */
  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.tasks)
  }

  /** Stops at once, giving up on retries (after a failed test). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.running = false
    this.aborted = true
    await Promise.all(this.tasks)
  }

  private async messages(site: 'a' | 'b', subjects: string[]): Promise<void> {
    const rnd = prng(this.o.seed + (site === 'a' ? 1 : 2))
    const js = this.w.sites[site].site.js
    const perTick = Math.max(1, Math.round((this.o.messagesPerSecond ?? 200) / 20))
    let index = 0
    while (this.running) {
      const started = Date.now()
      const batch: Array<Promise<void>> = []
      for (let k = 0; k < perTick; k++) {
        const i = index++
        const subject = subjects[Math.floor(rnd() * subjects.length)] as string
        const payload = new Uint8Array(Math.floor(rnd() * 400))
        payload.fill(i & 0xff)
        const headers = new WireHeaders([
          [INDEX_HEADER, String(i)],
          ['Origin', site],
        ])
        batch.push(this.publishUntilStored(js, subject, payload, headers, `${site}-${i}`))
      }
      await Promise.all(batch)
      this.sent[site] = index
      await pause(Math.max(0, 50 - (Date.now() - started)))
    }
  }

  private async publishUntilStored(
    js: BlobSite['site']['js'],
    subject: string,
    payload: Uint8Array,
    headers: WireHeaders,
    msgID: string,
  ): Promise<void> {
    for (;;) {
      try {
        await js.publish(subject, payload, { headers, msgID, timeout: 2_000 })
        return
      } catch (err) {
        this.note(`publish ${msgID}: ${(err as Error).message}`)
        if (this.aborted) return
        await pause(200)
      }
    }
  }

  private async blobs(): Promise<void> {
    const rnd = prng(this.o.seed + 3)
    const a = this.w.sites.a
    let n = 0
    while (this.running) {
      const large = rnd() < (this.o.largeShare ?? 0.25)
      const size = large ? 6 * MiB + Math.floor(rnd() * 6 * MiB) : Math.floor(rnd() * 200 * 1024)
      const data = objectBytes(n, size)
      for (;;) {
        try {
          await a.put('a-out', `obj/${String(n).padStart(5, '0')}`, data)
          break
        } catch (err) {
          this.note(`put obj/${n}: ${(err as Error).message}`)
          if (!this.running) return
          await pause(300)
        }
      }
      this.objects = ++n
      const wait = this.o.objectEveryMs ?? 3_000
      for (const until = Date.now() + wait; this.running && Date.now() < until;) await pause(50)
    }
  }

  private note(e: string): void {
    if (this.errors.length < 1000) this.errors.push(e)
  }
}

export interface ChaosOptions {
  seed: number
  /** Pause between faults, ms. Default 1000–3000. */
  gapMs?: [number, number]
  /** Fault kinds to draw from (default: all). */
  kinds?: FaultKind[]
  /** Sites whose rhio may be killed (default: all three). */
  crashSites?: SiteName[]
}

export type FaultKind = 'crash-rhio' | 'restart-nats' | 's3-outage' | 'partition' | 'slow-link'
const ALL_KINDS: FaultKind[] = ['crash-rhio', 'restart-nats', 's3-outage', 'partition', 'slow-link']

/** Injects one fault at a time, drawn from a seeded generator, until stopped. */
export class Chaos {
  readonly log: string[] = []
  private running = true
  private readonly task: Promise<void>
  private readonly started = Date.now()

  constructor(
    private readonly w: World,
    private readonly o: ChaosOptions,
  ) {
    this.task = this.run()
  }

  async stop(): Promise<void> {
    this.running = false
    await this.task
    await this.w.healAll()
  }

  get count(): number {
    return this.log.length
  }

  private async run(): Promise<void> {
    const rnd = prng(this.o.seed)
    const kinds = this.o.kinds ?? ALL_KINDS
    const between = (lo: number, hi: number): number => Math.floor(lo + rnd() * (hi - lo))
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T
    const [gapLo, gapHi] = this.o.gapMs ?? [1_000, 3_000]
    while (this.running) {
      await pause(between(gapLo, gapHi))
      if (!this.running) break
      const kind = pick(kinds)
      const site = pick(['a', 'b', 'c'] as const)
      const down = between(200, 2_500)
      const at = ((Date.now() - this.started) / 1000).toFixed(1)
      try {
        switch (kind) {
          case 'crash-rhio':
            if (this.o.crashSites && !this.o.crashSites.includes(site)) continue
            this.log.push(`${at}s kill -9 rhio ${site}, down ${down} ms`)
            await this.w.crash(site, down)
            break
          case 'restart-nats': {
            const hard = rnd() < 0.5
            this.log.push(`${at}s ${hard ? 'kill -9' : 'stop'} nats ${site}, down ${down} ms`)
            const nats = this.w.sites[site].site.nats
            await (hard ? nats.kill() : nats.stop())
            await pause(down)
            await nats.start()
            break
          }
          case 's3-outage': {
            // s3rver: its process; RGW: the site's radosgw (the cluster stays up)
            this.log.push(`${at}s s3 ${site} down ${down} ms`)
            const s3 = this.w.sites[site].s3
            await s3.kill()
            await pause(down)
            await s3.start()
            break
          }
          case 'partition': {
            // one link, or every link of one site (the site is isolated)
            const isolate = rnd() < 0.5
            const links: LinkName[] = isolate
              ? (['ab', 'bc', 'ac'] as const).filter((l) => l.includes(site))
              : [pick(['ab', 'bc', 'ac'] as const)]
            const ms = between(1_000, 4_000)
            this.log.push(
              `${at}s cut ${isolate ? `site ${site} off (links ${links.join(', ')})` : `link ${links[0]}`} for ${ms} ms`,
            )
            for (const l of links) this.w.links[l].cut()
            await pause(ms)
            for (const l of links) this.w.links[l].heal()
            break
          }
          case 'slow-link': {
            const link = pick(['ab', 'bc', 'ac'] as const)
            const delay = between(10, 60)
            this.log.push(`${at}s slow link ${link} by ${delay} ms per chunk`)
            this.w.links[link].slow(delay)
            await pause(between(1_000, 3_000))
            this.w.links[link].heal()
            break
          }
        }
      } catch (err) {
        this.log.push(`${at}s fault ${kind} failed: ${(err as Error).message}`)
        throw err
      }
    }
  }
}

/**
 * Upload ids the site's S3 server still holds for `bucket`: on s3rver the
 * directories under its upload dir (it lacks ListMultipartUploads and cannot
 * abort uploads), on RGW (and any real S3) ListMultipartUploads.
 */
export function openUploads(site: BlobSite, bucket: string): Promise<string[]> {
  return site.s3.openUploads(bucket)
}

/** Upload ids a rhio process says it aborted. */
function abortedUploads(output: string): Set<string> {
  const out = new Set<string>()
  for (const line of output.split('\n')) {
    if (!line.includes('abandoned multipart upload aborted')) continue
    const m = /"uploadId":"([^"]+)"/.exec(line)
    if (m) out.add(m[1] as string)
  }
  return out
}

export interface Convergence {
  messages: Record<string, number>
  objects: number
  waitedMs: number
}

/** Waits until every copy holds as much as its origin, then checks it exactly. */
export async function checkWorld(w: World, timeout = 120_000): Promise<Convergence> {
  const started = Date.now()
  const origin = { a: 'a-events', b: 'b-events' } as const
  for (const r of REPLICAS) {
    const total = await w.sites[r.from].site.count(origin[r.from])
    await waitFor(async () => (await w.sites[r.to].site.count(r.copy)) >= total, {
      timeout: Math.max(1_000, timeout - (Date.now() - started)),
      interval: 250,
      message: `${r.to}/${r.copy} reaches ${total} messages of ${r.from}\n${w.tails()}`,
    })
  }
  const keys: string[] = []
  for await (const o of w.sites.a.store.list('a-out', { prefix: 'obj/' })) keys.push(o.key)
  const expected = new Map<string, Uint8Array>()
  for (const k of keys) expected.set(k, (await w.sites.a.get('a-out', k)) as Uint8Array)
  for (const c of BUCKET_COPIES) {
    const site = w.sites[c.to]
    await waitFor(
      async () => {
        for (const [k, data] of expected)
          if (!(await site.hasExactly(c.bucket, k, data))) return false
        return true
      },
      {
        timeout: Math.max(1_000, timeout - (Date.now() - started)),
        interval: 500,
        message: `${c.to}/${c.bucket} holds all ${expected.size} objects byte-exact\n${w.tails()}`,
      },
    )
  }
  const messages: Record<string, number> = {}
  for (const r of REPLICAS) {
    const sent = await w.sites[r.from].site.read(origin[r.from])
    const got = await w.sites[r.to].site.read(r.copy)
    try {
      assertReplica({ sent, got, author: w.rhio[r.from].publicKey })
    } catch (err) {
      if (err instanceof Error) err.message = `${r.to}/${r.copy} (from ${r.from}): ${err.message}`
      throw err
    }
    messages[`${r.to}/${r.copy}`] = got.length
  }
  for (const c of BUCKET_COPIES) {
    const site = w.sites[c.to]
    const left = await openUploads(site, c.bucket)
    // s3rver keeps the uploads rhio aborted (it cannot abort), so those are
    // excused by rhio's log; on a server that aborts, none may be left at all.
    const aborted = site.s3.abortsUploads ? new Set() : abortedUploads(w.fullOutput(c.to))
    const orphans = left.filter((u) => !aborted.has(u))
    assert.deepEqual(orphans, [], `multipart uploads left behind at ${c.to}/${c.bucket}`)
  }
  return { messages, objects: expected.size, waitedMs: Date.now() - started }
}

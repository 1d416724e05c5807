/**
 * A site for blob end-to-end tests: an S3 server with buckets (s3rver by
 * default, or whatever the test's S3Factory starts, e.g. a Ceph RGW gateway
 * with a tenant of its own), a nats-server (rhio needs NATS for its state), an
 * object store client for the test, and rhio processes pointed at both.
 */
import { blake3, computeOutboard, hashToBase32 } from '../../src/bao/index.js'
import { S3ObjectStore, type ObjectStore } from '../../src/store/index.js'
import { metaKey, outboardKey } from '../../src/store/layout.js'
import { decodeBaoMeta, type BaoMeta } from '../../src/store/meta.js'
import type { S3Endpoint, S3Factory } from './s3-endpoint.js'
import { s3rverFactory } from './s3-server.js'
import { Site } from './site.js'
import type { RhioProcess, StartRhioOptions } from './rhio.js'

export class BlobSite implements AsyncDisposable {
  private constructor(
    readonly name: string,
    readonly s3: S3Endpoint,
    readonly site: Site,
    readonly store: ObjectStore,
  ) {}

  static async start(
    name: string,
    buckets: string[],
    s3Factory: S3Factory = s3rverFactory,
  ): Promise<BlobSite> {
    const s3 = await s3Factory({ buckets, name: `s3-${name}` })
    let site: Site
    try {
      site = await Site.start(name)
    } catch (err) {
      await s3[Symbol.asyncDispose]()
      throw err
    }
    const store = S3ObjectStore.fromConfig(s3.config)
    return new BlobSite(name, s3, site, store)
  }

  rhio(opts: StartRhioOptions = {}): Promise<RhioProcess> {
    return this.site.rhio({
      ...opts,
      config: { s3: { ...this.s3.config, watcher_poll_interval_millis: 200 }, ...opts.config },
    })
  }

  async put(bucket: string, key: string, data: Uint8Array): Promise<void> {
    await this.store.put(bucket, key, data)
  }

  async get(bucket: string, key: string): Promise<Uint8Array | undefined> {
    if (!(await this.store.head(bucket, key))) return undefined
    const { body } = await this.store.get(bucket, key)
    const parts: Uint8Array[] = []
    for await (const c of body) parts.push(c as Uint8Array)
    return Buffer.concat(parts)
  }

  async meta(bucket: string, key: string): Promise<BaoMeta | undefined> {
    const bytes = await this.get(bucket, metaKey(key))
    return bytes ? decodeBaoMeta(bytes) : undefined
  }

  /** True when `key` is complete in `bucket` with exactly `data` (by BLAKE3) and a matching outboard. */
  async hasExactly(bucket: string, key: string, data: Uint8Array): Promise<boolean> {
    const meta = await this.meta(bucket, key)
    if (!meta?.complete) return false
    const got = await this.get(bucket, key)
    if (!got || hashToBase32(blake3(got)) !== hashToBase32(blake3(data))) return false
    const ob = await this.get(bucket, outboardKey(key))
    const expected = await computeOutboard([data])
    return (
      ob !== undefined &&
      Buffer.from(ob).equals(Buffer.from(expected.outboard)) &&
      meta.hash === hashToBase32(expected.hash)
    )
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.store.close()
    await this.site[Symbol.asyncDispose]()
    await this.s3[Symbol.asyncDispose]()
  }
}

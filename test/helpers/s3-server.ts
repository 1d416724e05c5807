import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Child } from './child.js'
import type { S3Endpoint, S3Factory, S3TestConfig } from './s3-endpoint.js'

const require = createRequire(import.meta.url)
const S3RVER_BIN = require.resolve('s3rver/bin/s3rver.js')

/** s3rver accepts any credentials; tests use these. */
export const S3_TEST_CREDENTIALS = { access_key: 'S3RVER', secret_key: 'S3RVER' } as const
export const S3_TEST_REGION = 'us-east-1'

/**
 * Where s3rver 3.7 departs from S3, measured by the store contract tests
 * (test/helpers/store-contract.ts), beyond the gaps listed on S3Server. Code
 * under test must not depend on S3 behaving either way on these points.
 */
export const S3RVER_QUIRKS = {
  /** An upload whose connection is aborted mid-body is stored anyway (truncated). */
  keepsAbortedUploads: true,
  /** ListObjects walks its directory tree: nested keys do not come in UTF-8 order. */
  unsortedNestedList: true,
  /** Multipart ETags are the MD5 of the whole object, not `"<md5 of part md5s>-N"`. */
  plainMultipartEtag: true,
  /** No ListMultipartUploads (and AbortMultipartUpload answers 405). */
  cannotListUploads: true,
} as const

export interface S3ServerOptions {
  /** Buckets to create at start (as directories, which is how s3rver stores them). */
  buckets?: string[]
  name?: string
  /** Run inside this network namespace (`ip netns exec`); see test/helpers/netns.ts. */
  netns?: string
  /** Listen address (default 127.0.0.1). */
  host?: string
}

/**
 * An s3rver process (a real S3 HTTP server from npm) on a free loopback port
 * with its own data directory. s3rver needs `--openssl-legacy-provider` on
 * Node 17+. It lacks AbortMultipartUpload (answers 405) and
 * ListMultipartUploads, mis-serves suffix ranges, `bytes=0-0` (whole object)
 * and any range of a 0-byte object (connection reset), ignores If-Match and
 * If-None-Match, accepts UploadPart for unknown upload ids and does not check
 * part ETags on completion; see also S3RVER_QUIRKS. It does reject unknown
 * access keys (InvalidAccessKeyId) but not wrong secrets. Code under test must
 * not rely on any of these.
 */
export class S3Server implements S3Endpoint {
  port = 0
  private child: Child | undefined
  private constructor(
    readonly dir: string,
    private readonly opts: S3ServerOptions,
  ) {}

  static async start(opts: S3ServerOptions = {}): Promise<S3Server> {
    const dir = await mkdtemp(join(tmpdir(), 'rhio-s3-'))
    for (const b of opts.buckets ?? []) await mkdir(join(dir, b), { recursive: true })
    const s = new S3Server(dir, opts)
    try {
      await s.start()
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw err
    }
    return s
  }

  get name(): string {
    return this.opts.name ?? 's3rver'
  }

  get endpoint(): string {
    return `http://${this.opts.host ?? '127.0.0.1'}:${this.port}`
  }

  /** The `s3` config block for this server (rhio's config shape). */
  get config(): S3TestConfig {
    return {
      endpoint: this.endpoint,
      region: S3_TEST_REGION,
      credentials: { ...S3_TEST_CREDENTIALS },
    }
  }

  get running(): boolean {
    return this.child?.running ?? false
  }

  /** (Re)starts the server; after the first start it keeps its port and data. */
  async start(): Promise<void> {
    if (this.running) return
    const args = [
      '--openssl-legacy-provider',
      S3RVER_BIN,
      '-d',
      this.dir,
      '-a',
      this.opts.host ?? '127.0.0.1',
      '-p',
      String(this.port),
      '--no-vhost-buckets',
    ]
    const ns = this.opts.netns
    const child = ns
      ? new Child(this.name, 'ip', ['netns', 'exec', ns, process.execPath, ...args])
      : new Child(this.name, process.execPath, args)
    this.child = child
    try {
      const m = await child.waitForOutput(/S3rver listening on [^\s]*:(\d+)/, 15_000)
      this.port = Number(m[1])
    } catch (err) {
      await child.kill()
      throw err
    }
  }

  async stop(): Promise<void> {
    await this.child?.stop('SIGTERM')
  }

  async kill(): Promise<void> {
    await this.child?.kill()
  }

  async createBucket(name: string): Promise<void> {
    await mkdir(join(this.dir, name), { recursive: true })
  }

  /** s3rver answers AbortMultipartUpload with 405: its uploads stay. */
  readonly abortsUploads = false

  /**
   * s3rver lacks ListMultipartUploads (and AbortMultipartUpload): the uploads
   * it still holds are the directories under `<bucket>/._S3rver_uploads`.
   */
  async openUploads(bucket: string): Promise<string[]> {
    try {
      return await readdir(join(this.dir, bucket, '._S3rver_uploads'))
    } catch {
      return []
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill()
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** Each call starts an s3rver of its own (its own port and data directory). */
export const s3rverFactory: S3Factory = (opts = {}) => S3Server.start(opts)

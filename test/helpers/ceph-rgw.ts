/**
 * A throw-away single-node Ceph cluster with RADOS Gateways: a real S3 server
 * for tests (Debian packages radosgw, ceph-mon, ceph-osd, ceph-common).
 *
 * One cluster is one ceph-mon, one ceph-osd and no ceph-mgr, with auth off,
 * everything on 127.0.0.1 (msgr2 only) and every path (config, data, run dir,
 * admin sockets, logs) in a short temp dir (`/tmp/rg-XXXXXX`, so admin socket
 * paths stay far below the 108-byte limit). Each `gateway()` is one radosgw
 * process on its own port with one S3 user in an RGW tenant of its own; a
 * tenant is a separate bucket namespace, so each gateway is an independent S3
 * site (path-style `/bucket` resolves in the requesting user's tenant), and
 * stopping one gateway is one site's S3 outage (a killed radosgw stalls
 * bucket and user creation elsewhere for up to ~4 s, until its watches time
 * out; data requests are not affected). Daemons write to files in the temp
 * dir, never to the caller's pipes; disposing the cluster kills (SIGKILL)
 * exactly the processes this module started and removes the dir. A
 * process-exit hook (also on SIGINT/SIGTERM) does the same for clusters a
 * crashed test never disposed.
 *
 * Object stores: `memstore` (default) starts fastest and holds data in the
 * OSD's memory (~1.5x the bytes stored; deleted data is freed only after RGW's
 * garbage collection, hours later by default); `bluestore` keeps data in a
 * sparse file in the temp dir with a small RSS but starts a few seconds slower
 * and is what objects of gigabytes need.
 *
 * Measured on 2 shared cores with Ceph 16.2.15 (test/integration/ceph-rgw
 * prints it): a cluster with its first gateway answers in ~3.5 s (memstore)
 * or ~8 s (bluestore); each further gateway takes ~0.5 s and ~50 MiB RSS;
 * idle RSS is ~35 MiB for the mon and ~50 MiB for the OSD. A 1 GiB object
 * costs the OSD ~1.5 GiB of RSS on memstore and took 21-25 s to PUT on
 * bluestore (28-40 s on memstore).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after } from 'node:test'
import { setTimeout as pause } from 'node:timers/promises'
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3'
import { createS3Client } from '../../src/store/s3-client.js'
import {
  listOpenUploads,
  type S3Endpoint,
  type S3EndpointOptions,
  type S3Factory,
  type S3TestConfig,
} from './s3-endpoint.js'
import type { StoreQuirks } from './store-contract.js'

/** The Debian packages that provide everything this module runs. */
export const CEPH_APT_PACKAGES = ['radosgw', 'ceph-mon', 'ceph-osd', 'ceph-common'] as const
const BIN_DIR = process.env.CEPH_BIN_DIR ?? '/usr/bin'
const BINARIES = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph', 'monmaptool']
export const RGW_TEST_REGION = 'us-east-1'

/**
 * Where Ceph RGW 16.2 departs from S3 as the store contract tests see it
 * (test/helpers/store-contract.ts): nowhere that code under test may rely on.
 * Its one departure there, an empty ETag (`<ETag></ETag>`) in the answer to
 * CompleteMultipartUpload, S3ObjectStore works around (HeadObject). Beyond the
 * contract: bucket names must have 3-63 characters as in S3 (s3rver takes any),
 * and the bucket namespace is per tenant (see CephCluster.gateway).
 */
export const RGW_QUIRKS: StoreQuirks = {}

/** Ceph binaries this module needs that are not installed. */
export function missingCephBinaries(binDir = BIN_DIR): string[] {
  return BINARIES.filter((b) => !existsSync(join(binDir, b)))
}

/** Throws a clear error naming the apt packages when a Ceph binary is missing. */
export function requireCeph(binDir = BIN_DIR): void {
  const missing = missingCephBinaries(binDir)
  if (missing.length > 0) {
    throw new Error(
      `Ceph binaries not found in ${binDir}: ${missing.join(', ')}; install them with ` +
        `\`apt-get install -y ${CEPH_APT_PACKAGES.join(' ')}\` (or set CEPH_BIN_DIR)`,
    )
  }
}

export interface CephClusterOptions {
  /** Default `memstore`; `bluestore` for objects of gigabytes (see the module comment). */
  objectStore?: 'memstore' | 'bluestore'
  /** Capacity the OSD reports (memstore) or the size of its sparse block file (bluestore); default 8 GiB. */
  deviceBytes?: number
  /** How long the cluster plus its first gateway may take to come up; default 120 s. */
  startTimeoutMs?: number
}

export interface GatewayOptions extends S3EndpointOptions {
  /** The RGW tenant of the gateway's user; default derived from `name` and unique in the cluster. */
  tenant?: string
}

const GiB = 1024 ** 3
const QUIET_SUBSYSTEMS = [
  ...['ms', 'mon', 'paxos', 'monc', 'auth', 'asok', 'osd', 'objecter', 'rados'],
  ...['bluestore', 'bluefs', 'bdev', 'rocksdb', 'memstore'],
]
const PORT_TAKEN = /address already in use|EADDRINUSE/i

/** A daemon failed to start because its port was taken after it was picked. */
class PortTaken extends Error {}

// Everything started here, for the exit hook (a test that crashed never disposes).
const livePids = new Set<number>()
const liveDirs = new Set<string>()
let exitHooked = false

function hookExit(): void {
  if (exitHooked) return
  exitHooked = true
  const cleanup = (): void => {
    for (const pid of livePids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true })
  }
  process.on('exit', cleanup)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanup()
      process.kill(process.pid, sig)
    })
  }
}

/** A free loopback port (bound to port 0 and closed again; may be taken in a race). */
export async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', resolve)
  })
  const { port } = srv.address() as AddressInfo
  await new Promise((resolve) => srv.close(resolve))
  return port
}

function tailOfFile(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no file)'
  }
}

/** A long-running Ceph daemon whose stdout and stderr go to a file. */
class Daemon {
  readonly proc: ChildProcess
  readonly exited: Promise<void>

  constructor(
    readonly name: string,
    args: string[],
    /** Where stdout and stderr go. */
    readonly outFile: string,
    /** The daemon's own Ceph log. */
    readonly logFile: string,
  ) {
    const fd = openSync(outFile, 'a')
    try {
      this.proc = spawn(join(BIN_DIR, args[0] as string), args.slice(1), {
        stdio: ['ignore', fd, fd],
      })
    } finally {
      closeSync(fd)
    }
    const pid = this.proc.pid
    if (pid !== undefined) livePids.add(pid)
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', () => {
        if (pid !== undefined) livePids.delete(pid)
        resolve()
      })
      this.proc.once('error', () => resolve()) // could not spawn
    })
  }

  get running(): boolean {
    return (
      this.proc.pid !== undefined && this.proc.exitCode === null && this.proc.signalCode === null
    )
  }

  /** Last lines of its output and of its Ceph log. */
  tail(lines = 25): string {
    return (
      `--- ${this.name} output (${this.outFile}):\n${tailOfFile(this.outFile, lines)}\n` +
      `--- ${this.name} log (${this.logFile}):\n${tailOfFile(this.logFile, lines)}`
    )
  }

  get exitStatus(): string {
    const { exitCode, signalCode } = this.proc
    return signalCode !== null ? `signal ${signalCode}` : `code ${exitCode}`
  }

  async stop(signal: NodeJS.Signals, graceMs = 5_000): Promise<void> {
    if (!this.running) return
    this.proc.kill(signal)
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs)
    await this.exited
    clearTimeout(timer)
  }

  async kill(): Promise<void> {
    await this.stop('SIGKILL')
  }

  /** The error for a daemon that exited while it should be starting or running. */
  failure(what: string): Error {
    const tail = this.tail()
    const msg = `${what}: ${this.name} exited (${this.exitStatus})\n${tail}`
    // radosgw exits with 98 (EADDRINUSE) and logs nothing; ceph-mon logs it
    const taken = this.proc.exitCode === 98 || PORT_TAKEN.test(tail)
    return taken ? new PortTaken(msg) : new Error(msg)
  }
}

/** Runs a short Ceph command to completion and returns its stdout. */
function run(args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      join(BIN_DIR, args[0] as string),
      args.slice(1),
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) resolve(stdout)
        else {
          const out = `${stdout}\n${stderr}`.trim().split('\n').slice(-25).join('\n')
          reject(new Error(`${args.join(' ')} failed: ${err.message}\n${out}`))
        }
      },
    )
  })
}

/** True once anything answers HTTP on the port. */
function httpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', method: 'GET', agent: false, timeout: 2_000 },
      (res) => {
        res.resume()
        resolve(true)
      },
    )
    req.on('error', () => resolve(false))
    req.on('timeout', () => {
      req.destroy()
      resolve(false)
    })
    req.end()
  })
}

/** Runs `fn` and fails as soon as one of `daemons` exits meanwhile. */
async function whileRunning<T>(what: string, daemons: Daemon[], fn: Promise<T>): Promise<T> {
  let stop = (): void => {}
  const dead = new Promise<never>((_resolve, reject) => {
    let live = true
    stop = () => {
      live = false
    }
    for (const d of daemons) {
      void d.exited.then(() => {
        if (live) reject(d.failure(what))
      })
    }
  })
  try {
    return await Promise.race([fn, dead])
  } finally {
    stop()
  }
}

/** One Ceph cluster (mon + OSD) in a temp dir; gateways are added with `gateway()`. */
export class CephCluster implements AsyncDisposable {
  private mon: Daemon | undefined
  private osd: Daemon | undefined
  private readonly gateways = new Set<RgwGateway>()
  private gatewayCount = 0
  /** Set once a gateway has come up, which creates RGW's zone and pools. */
  private zoneReady = false
  private disposed = false

  private constructor(
    readonly dir: string,
    readonly monPort: number,
    readonly opts: CephClusterOptions,
  ) {}

  /** Starts a mon and an OSD; the first `gateway()` waits for the OSD to be usable. */
  static async start(opts: CephClusterOptions = {}): Promise<CephCluster> {
    requireCeph()
    hookExit()
    for (let attempt = 1; ; attempt++) {
      const dir = await mkdtemp('/tmp/rg-')
      liveDirs.add(dir)
      const cluster = new CephCluster(dir, await freePort(), opts)
      try {
        await cluster.boot()
        return cluster
      } catch (err) {
        await cluster[Symbol.asyncDispose]()
        if (attempt < 2 && err instanceof PortTaken) continue
        throw err
      }
    }
  }

  get conf(): string {
    return join(this.dir, 'ceph.conf')
  }

  private async boot(): Promise<void> {
    const d = this.dir
    const fsid = randomUUID()
    for (const sub of ['mon', 'osd/0', 'run', 'log', 'crash', 'rgw']) {
      await mkdir(join(d, sub), { recursive: true })
    }
    const store = this.opts.objectStore ?? 'memstore'
    const deviceBytes = this.opts.deviceBytes ?? 8 * GiB
    const mon = `[v2:127.0.0.1:${this.monPort}]`
    await writeFile(
      this.conf,
      [
        '[global]',
        `fsid = ${fsid}`,
        `mon_host = ${mon}`,
        'public_addr = 127.0.0.1',
        'cluster_addr = 127.0.0.1',
        'ms_bind_msgr1 = false',
        'auth_cluster_required = none',
        'auth_service_required = none',
        'auth_client_required = none',
        `run_dir = ${d}/run`,
        `admin_socket = ${d}/run/$name.asok`,
        `log_file = ${d}/log/$name.log`,
        `crash_dir = ${d}/crash`,
        `mon_data = ${d}/mon/$id`,
        `osd_data = ${d}/osd/$id`,
        `osd_journal = ${d}/osd/$id/journal`,
        `rgw_data = ${d}/rgw/$id`,
        'osd_pool_default_size = 1',
        'osd_pool_default_min_size = 1',
        'mon_allow_pool_size_one = true',
        'osd_pool_default_pg_num = 8',
        'osd_pool_default_pgp_num = 8',
        'osd_pool_default_pg_autoscale_mode = off',
        'osd_crush_chooseleaf_type = 0',
        'paxos_propose_interval = 0.1',
        'mon_data_avail_warn = 1',
        'mon_data_avail_crit = 0',
        // A killed radosgw's watches on RGW's control objects last until they time
        // out, and every metadata change (bucket or user creation) waits for them:
        // 30 s by default. Clients ping their watches every objecter tick.
        'osd_client_watch_timeout = 4',
        'objecter_tick_interval = 1',
        // Ceph gathers debug messages up to level 5 in memory even when it logs
        // less: costly on 2 shared cores. Errors are still logged (level -1).
        ...QUIET_SUBSYSTEMS.map((sub) => `debug_${sub} = 0/0`),
        'debug_rgw = 1/1',
        `osd_objectstore = ${store}`,
        store === 'memstore'
          ? `memstore_device_bytes = ${deviceBytes}`
          : [
              'bluestore_block_create = true',
              `bluestore_block_size = ${deviceBytes}`,
              'bluestore_fsck_on_mkfs = false',
              'bluestore_csum_type = none',
            ].join('\n'),
        '[mon]',
        // a mon whose port was taken in the race gives up after 2 s instead of 15 s
        'ms_bind_retry_delay = 1',
        '',
      ].join('\n'),
    )
    const c = ['-c', this.conf]
    await run(['monmaptool', '--create', '--fsid', fsid, '--addv', 'a', mon, join(d, 'monmap')])
    await run(['ceph-mon', ...c, '--mkfs', '-i', 'a', '--monmap', join(d, 'monmap')])
    this.mon = this.daemon('mon.a', ['ceph-mon', ...c, '-i', 'a', '-f'])
    const uuid = randomUUID()
    const id = await whileRunning(
      'creating the OSD',
      [this.mon],
      run(['ceph', ...c, '--connect-timeout', '60', 'osd', 'new', uuid], 90_000),
    )
    if (id.trim() !== '0') throw new Error(`ceph osd new gave id ${id.trim()}, expected 0`)
    await whileRunning(
      'formatting the OSD',
      [this.mon],
      run(['ceph-osd', ...c, '-i', '0', '--mkfs', '--osd-uuid', uuid], 90_000),
    )
    this.osd = this.daemon('osd.0', ['ceph-osd', ...c, '-i', '0', '-f'])
  }

  private daemon(name: string, args: string[]): Daemon {
    return new Daemon(
      name,
      args,
      join(this.dir, 'log', `${name}.out`),
      join(this.dir, 'log', `${name.startsWith('rgw.') ? 'client.' : ''}${name}.log`),
    )
  }

  /**
   * Starts a radosgw on a free port with an S3 user in a tenant of its own
   * (its own bucket namespace) and creates `buckets`.
   */
  async gateway(opts: GatewayOptions = {}): Promise<RgwGateway> {
    if (this.disposed) throw new Error('the Ceph cluster was disposed')
    const n = ++this.gatewayCount
    const base = (opts.name ?? 'rgw').toLowerCase().replace(/[^a-z0-9]+/g, '_')
    const id = `${base}_${n}`
    const tenant = opts.tenant ?? id
    const credentials = {
      access_key: randomBytes(10).toString('hex').toUpperCase(),
      secret_key: randomBytes(20).toString('hex'),
    }
    const createUser = (): Promise<string> =>
      run([
        'radosgw-admin',
        '-c',
        this.conf,
        'user',
        'create',
        '--tenant',
        tenant,
        '--uid',
        'rhio',
        '--display-name',
        `rhio test user of ${tenant}`,
        '--access-key',
        credentials.access_key,
        '--secret-key',
        credentials.secret_key,
      ])
    let user: Promise<string> | undefined
    for (let attempt = 1; ; attempt++) {
      const gw = new RgwGateway(this, id, tenant, await freePort(), credentials)
      try {
        if (this.zoneReady) {
          user ??= createUser()
          user.catch(() => {}) // awaited below; not unhandled if the start fails first
          await Promise.all([gw.start(), user])
        } else {
          // The first radosgw creates the zone and its pools; radosgw-admin must not race it.
          await gw.start()
          this.zoneReady = true
          await (user ??= createUser())
        }
        this.gateways.add(gw)
        for (const b of opts.buckets ?? []) await gw.createBucket(b)
        return gw
      } catch (err) {
        await gw[Symbol.asyncDispose]()
        if (attempt < 2 && err instanceof PortTaken) continue
        throw err
      }
    }
  }

  /** @internal Spawns the radosgw process of `gw` and waits until it answers HTTP. */
  async spawnGateway(gw: RgwGateway): Promise<Daemon> {
    const mon = this.mon
    const osd = this.osd
    if (this.disposed || !mon?.running || !osd?.running) {
      throw new Error(
        `cannot start ${gw.name}: the cluster is ${this.disposed ? 'disposed' : 'down'}\n` +
          `${mon?.tail(10) ?? ''}\n${osd?.tail(10) ?? ''}`,
      )
    }
    const daemon = this.daemon(gw.name, [
      'radosgw',
      '-c',
      this.conf,
      '-n',
      `client.${gw.name}`,
      '-f',
      `--rgw_frontends=beast endpoint=127.0.0.1:${gw.port}`,
      // with auth none, radosgw otherwise loops on "get_initial_auth_request returned -13"
      '--ms_mon_client_mode=crc',
    ])
    const timeout = this.zoneReady ? 60_000 : (this.opts.startTimeoutMs ?? 120_000)
    const deadline = Date.now() + timeout
    try {
      for (;;) {
        for (const d of [daemon, mon, osd]) {
          if (!d.running) throw d.failure(`starting ${gw.name}`)
        }
        if (await httpAnswers(gw.port)) return daemon
        if (Date.now() > deadline) {
          throw new Error(
            `${gw.name} did not answer on port ${gw.port} within ${timeout} ms\n${daemon.tail()}\n${osd.tail(10)}`,
          )
        }
        await pause(50)
      }
    } catch (err) {
      await daemon.kill()
      throw err
    }
  }

  /** @internal */
  forget(gw: RgwGateway): void {
    this.gateways.delete(gw)
  }

  /** PIDs of the daemons running now. */
  pids(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const d of [this.mon, this.osd]) {
      if (d?.running && d.proc.pid !== undefined) out[d.name] = d.proc.pid
    }
    for (const gw of this.gateways) if (gw.pid !== undefined) out[gw.name] = gw.pid
    return out
  }

  /** Resident memory of each running daemon, MiB. */
  rssMiB(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [name, pid] of Object.entries(this.pids())) {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
        if (m) out[name] = Math.round(Number(m[1]) / 1024)
      } catch {
        // exited meanwhile
      }
    }
    return out
  }

  /** Runs `radosgw-admin` against this cluster and returns its stdout. */
  admin(...args: string[]): Promise<string> {
    return run(['radosgw-admin', '-c', this.conf, ...args])
  }

  /** Kills (SIGKILL) every daemon it started and removes its directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.disposed = true
    for (const gw of [...this.gateways]) {
      await gw.kill()
      gw.release()
    }
    await this.osd?.kill()
    await this.mon?.kill()
    await rm(this.dir, { recursive: true, force: true })
    liveDirs.delete(this.dir)
  }
}

/**
 * One radosgw of a CephCluster and the S3 user (in a tenant of its own) that
 * tests use through it. `kill()`/`stop()` and `start()`/`restart()` take the
 * gateway down and bring it back on the same port with the same data: an S3
 * outage of one site. Disposing stops the gateway; its user and buckets stay
 * in the cluster until the cluster is disposed.
 */
export class RgwGateway implements S3Endpoint {
  private daemon: Daemon | undefined
  private client: S3Client | undefined

  /** @internal Created by CephCluster.gateway(). */
  constructor(
    private readonly cluster: CephCluster,
    /** Also the radosgw instance name: `client.rgw.<id>`. */
    readonly id: string,
    readonly tenant: string,
    readonly port: number,
    readonly credentials: { access_key: string; secret_key: string },
  ) {}

  get name(): string {
    return `rgw.${this.id}`
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`
  }

  get config(): S3TestConfig {
    return {
      endpoint: this.endpoint,
      region: RGW_TEST_REGION,
      credentials: { ...this.credentials },
    }
  }

  get running(): boolean {
    return this.daemon?.running ?? false
  }

  get pid(): number | undefined {
    return this.running ? this.daemon?.proc.pid : undefined
  }

  /** Last lines of the radosgw's output and log. */
  tail(lines = 25): string {
    return this.daemon?.tail(lines) ?? ''
  }

  /** (Re)starts the radosgw on its port and waits until it answers. */
  async start(): Promise<void> {
    if (this.running) return
    this.daemon = await this.cluster.spawnGateway(this)
  }

  /** SIGTERM (SIGKILL after 5 s). */
  async stop(): Promise<void> {
    await this.daemon?.stop('SIGTERM')
  }

  /** SIGKILL: the site's S3 is gone at once. */
  async kill(): Promise<void> {
    await this.daemon?.kill()
  }

  async restart(): Promise<void> {
    await this.kill()
    await this.start()
  }

  /** Creates a bucket in this gateway's tenant (succeeds if it exists already). */
  async createBucket(name: string): Promise<void> {
    try {
      await this.s3().send(new CreateBucketCommand({ Bucket: name }))
    } catch (err) {
      if ((err as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw err
    }
  }

  readonly abortsUploads = true

  /** Ids of the multipart uploads still open in `bucket` (ListMultipartUploads). */
  openUploads(bucket: string): Promise<string[]> {
    return listOpenUploads(this.s3(), bucket)
  }

  private s3(): S3Client {
    this.client ??= createS3Client(this.config, { maxAttempts: 1 })
    return this.client
  }

  /**
   * Stops the gateway gracefully (SIGTERM: a killed radosgw's watches stall
   * the cluster's metadata changes for a few seconds) and forgets it.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
    this.release()
  }

  /** @internal Destroys the client and leaves the cluster's list of gateways. */
  release(): void {
    this.client?.destroy()
    this.client = undefined
    this.cluster.forget(this)
  }
}

/** An S3Factory that adds a gateway (own port, own tenant) to `cluster` for each call. */
export function rgwFactory(cluster: CephCluster): S3Factory {
  return (opts = {}) => cluster.gateway(opts)
}

/**
 * An S3Factory on one Ceph cluster for the calling test file: the cluster
 * starts on the first call and is disposed after the file's tests (an
 * `after` hook, so call this at the top level of a test file). Each call adds
 * a gateway with a tenant of its own, so tests and simulated sites never see
 * each other's buckets.
 */
export function rgwPerFile(opts: CephClusterOptions = {}): S3Factory & {
  cluster(): Promise<CephCluster>
} {
  let started: Promise<CephCluster> | undefined
  const cluster = (): Promise<CephCluster> => (started ??= CephCluster.start(opts))
  after(async () => {
    const c = await started?.catch(() => undefined)
    await c?.[Symbol.asyncDispose]()
  })
  const factory = async (o: S3EndpointOptions = {}): Promise<RgwGateway> =>
    (await cluster()).gateway(o)
  return Object.assign(factory, { cluster })
}

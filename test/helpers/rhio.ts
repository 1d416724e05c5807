/**
 * Runs real rhio nodes as child processes (`node dist/src/cli/main.js`) for
 * end-to-end tests.
 *
 *   await using ns = await NatsServer.start()
 *   await using node = await startRhio({ config: { nats: { endpoint: ns.url } } })
 *   const { status, body } = await node.health()
 *
 * Each node gets a temp directory (config.yaml, a fresh key, data_dir), free
 * ports (`http_bind_port: 0`, `bind_port: 0`; the bound HTTP port is read from
 * the `http listening` log line) and JSON logs. Disposing kills the process
 * and removes the directory; on a failed test print `node.tail()`.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { NodeIdentity, parseKeyHex, writeKeyFile } from '../../src/identity/index.js'
import type { HealthReport } from '../../src/component/index.js'
import { Child } from './child.js'

/** dist/src/cli/main.js, seen from dist/test/helpers/rhio.js. */
export const RHIO_MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js')

/** Environment variables rhio reads; stripped from the inherited environment. */
const RHIO_ENV =
  /^(RHIO_.*|PRIVATE_KEY|BIND_PORT|HTTP_BIND_PORT|NETWORK_ID|PRIVATE_KEY_PATH|LOG_LEVEL|DATA_DIR)$/

function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !RHIO_ENV.test(k)) env[k] = v
  }
  // as the `rhio` launcher and the image run it (see src/cli/main.ts)
  return { ...env, RHIO_LOG_FORMAT: 'json', NODE_OPTIONS: '--max-semi-space-size=8', ...extra }
}

export interface StartRhioOptions {
  /** Configuration keys (as in config.yaml), over the harness defaults. */
  config?: Record<string, unknown>
  /** Name in error messages. */
  name?: string
  /** Extra environment variables. */
  env?: Record<string, string>
  /** Extra command-line arguments after `-c config.yaml`. */
  args?: string[]
  /** Use this key file (e.g. made by `rhio keygen`) instead of a fresh key. */
  keyPath?: string
  /** How long to wait for the HTTP server to listen (default 15 s). */
  timeoutMs?: number
  /** Run inside this network namespace (`ip netns exec`); see test/helpers/netns.ts. */
  netns?: string
  /**
   * config.yaml's text, written as it is (no harness defaults: give ports 0
   * yourself); the fresh key is then passed as PRIVATE_KEY instead of a file,
   * as the original's operator does.
   */
  configText?: string
  /** Arguments before `-c config.yaml`, e.g. the original's `/usr/local/bin/rhio`. */
  leadingArgs?: string[]
}

export interface LogRecord {
  level: string
  msg: string
  component?: string
  time: number
  [key: string]: unknown
}

export class RhioProcess implements AsyncDisposable {
  child!: Child
  port = 0
  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly configPath: string,
    readonly publicKey: string,
    private readonly opts: StartRhioOptions,
  ) {}

  static async start(opts: StartRhioOptions = {}): Promise<RhioProcess> {
    const dir = await mkdtemp(join(tmpdir(), 'rhio-node-'))
    try {
      let keyPath = opts.keyPath
      let identity: NodeIdentity
      const configPath = join(dir, 'config.yaml')
      if (opts.configText !== undefined) {
        identity = NodeIdentity.generate()
        await writeFile(configPath, opts.configText)
        const node = new RhioProcess(opts.name ?? 'rhio', dir, configPath, identity.publicKeyHex, {
          ...opts,
          env: { PRIVATE_KEY: identity.seedHex(), ...opts.env },
        })
        await node.launch()
        return node
      }
      if (keyPath === undefined) {
        keyPath = join(dir, 'private.key')
        identity = NodeIdentity.generate()
        writeKeyFile(keyPath, identity)
      } else {
        identity = new NodeIdentity(parseKeyHex(await readFile(keyPath, 'utf8'), keyPath))
      }
      const config = {
        bind_port: 0,
        bind_host: '127.0.0.1',
        http_bind_port: 0,
        http_bind_host: '127.0.0.1',
        private_key_path: keyPath,
        data_dir: join(dir, 'data'),
        ...opts.config,
      }
      await writeFile(configPath, stringify(config))
      const node = new RhioProcess(
        opts.name ?? 'rhio',
        dir,
        configPath,
        identity.publicKeyHex,
        opts,
      )
      await node.launch()
      return node
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw err
    }
  }

  private async launch(): Promise<void> {
    const args = [
      RHIO_MAIN,
      ...(this.opts.leadingArgs ?? []),
      '-c',
      this.configPath,
      ...(this.opts.args ?? []),
    ]
    const ns = this.opts.netns
    this.child = new Child(
      this.name,
      ns ? 'ip' : process.execPath,
      ns ? ['netns', 'exec', ns, process.execPath, ...args] : args,
      { cwd: this.dir, env: cleanEnv(this.opts.env) },
    )
    try {
      const m = await this.child.waitForOutput(
        /\{[^\n]*"msg":"http listening"[^\n]*\}/,
        this.opts.timeoutMs ?? 15_000,
      )
      this.port = (JSON.parse(m[0]) as { port: number }).port
    } catch (err) {
      await this.child.kill()
      throw err
    }
  }

  get url(): string {
    const host = this.opts.config?.['http_bind_host']
    return `http://${typeof host === 'string' ? host : '127.0.0.1'}:${this.port}`
  }

  /** Combined stdout and stderr so far. */
  get output(): string {
    return this.child.output
  }

  get running(): boolean {
    return this.child.running
  }

  /** The process id (while running). */
  get pid(): number | undefined {
    return this.child.proc.pid
  }

  /** Resident set size of the process in MiB, from /proc. */
  async rssMiB(): Promise<number> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8')
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
    return kb / 1024
  }

  tail(lines = 40): string {
    return this.child.tail(lines)
  }

  /** Every JSON log line so far, parsed. */
  logs(): LogRecord[] {
    const out: LogRecord[] = []
    for (const line of this.child.output.split('\n')) {
      if (!line.startsWith('{')) continue
      try {
        out.push(JSON.parse(line) as LogRecord)
      } catch {
        // a line cut by the output buffer limit
      }
    }
    return out
  }

  /** Waits for a log record with this message (a string matches `msg` exactly). */
  async waitForLog(msg: string | RegExp, timeout = 10_000): Promise<LogRecord> {
    const re =
      typeof msg === 'string'
        ? new RegExp(
            `\\{[^\\n]*"msg":${JSON.stringify(msg).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^\\n]*\\}`,
          )
        : msg
    const m = await this.child.waitForOutput(re, timeout)
    return JSON.parse(m[0]) as LogRecord
  }

  async health(): Promise<{ status: number; body: HealthReport }> {
    const res = await fetch(`${this.url}/health?probe=ready`, {
      signal: AbortSignal.timeout(5_000),
    })
    return { status: res.status, body: (await res.json()) as HealthReport }
  }

  async metrics(): Promise<string> {
    const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(5_000) })
    return await res.text()
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `grace` ms). */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    grace = 15_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await this.child.stop(signal, grace)
    return await this.child.exited
  }

  async kill(): Promise<void> {
    await this.child.kill()
  }

  /** The p2p port this node listens on (from its 'p2p listening' log). */
  async p2pPort(timeout = 15_000): Promise<number> {
    const rec = await this.waitForLog('p2p listening', timeout)
    const addrs = (rec as unknown as { addresses: string[] }).addresses
    const m = /\/tcp\/(\d+)/.exec(addrs[0] ?? '')
    if (!m) throw new Error(`${this.name}: no tcp address in ${JSON.stringify(addrs)}`)
    return Number(m[1])
  }

  /** A `nodes[]` entry other nodes can use to reach this one. */
  async asNode(): Promise<{ public_key: string; endpoints: string[] }> {
    return { public_key: this.publicKey, endpoints: [`127.0.0.1:${await this.p2pPort()}`] }
  }

  /** Starts again after a stop or kill, with the same directory, key, HTTP and p2p ports. */
  async start(): Promise<void> {
    const p2p = await this.p2pPort().catch(() => 0)
    let text = await readFile(this.configPath, 'utf8')
    text = text.replace(/^http_bind_port: \d+$/m, `http_bind_port: ${this.port}`)
    if (p2p) text = text.replace(/^bind_port: \d+$/m, `bind_port: ${p2p}`)
    await writeFile(this.configPath, text)
    await this.launch()
  }

  /** Stops (SIGTERM) and starts again with the same directory, key and ports. */
  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill()
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** Starts a rhio node (see RhioProcess). */
export function startRhio(opts: StartRhioOptions = {}): Promise<RhioProcess> {
  return RhioProcess.start(opts)
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a short rhio command (`keygen`, `status`, a bad config…) to completion. */
export function runRhioCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [RHIO_MAIN, ...args], {
      cwd: opts.cwd ?? tmpdir(),
      env: cleanEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`rhio ${args.join(' ')} did not finish:\n${stdout}\n${stderr}`))
    }, opts.timeoutMs ?? 15_000)
    proc.once('error', reject)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

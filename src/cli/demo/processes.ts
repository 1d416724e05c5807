/**
 * Child processes for the demo: started with their output kept in a bounded
 * buffer (and a log file), waited on for a line, and stopped on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, type WriteStream } from 'node:fs'
import { delimiter, join } from 'node:path'

export class DemoProcess {
  readonly proc: ChildProcess
  private out = ''
  private readonly listeners = new Set<() => void>()
  private readonly file: WriteStream
  readonly exited: Promise<void>

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    logFile: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.file = createWriteStream(logFile)
    this.proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
    const onData = (chunk: Buffer): void => {
      this.file.write(chunk)
      this.out += chunk.toString('utf8')
      if (this.out.length > 1 << 20) this.out = this.out.slice(-(1 << 19))
      for (const l of this.listeners) l()
    }
    this.proc.stdout?.on('data', onData)
    this.proc.stderr?.on('data', onData)
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', () => {
        this.file.end()
        for (const l of this.listeners) l()
        resolve()
      }),
    )
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null
  }

  waitFor(re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = this.out.match(re)
        if (m) return finish(() => resolve(m))
        if (!this.running) finish(() => reject(new Error(`${this.name} exited:\n${this.tail()}`)))
      }
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`${this.name}: no ${re} within ${timeoutMs} ms:\n${this.tail()}`)),
          ),
        timeoutMs,
      )
      const finish = (f: () => void): void => {
        clearTimeout(timer)
        this.listeners.delete(check)
        f()
      }
      this.listeners.add(check)
      check()
    })
  }

  tail(lines = 20): string {
    return this.out.split('\n').slice(-lines).join('\n')
  }

  async stop(graceMs = 8_000): Promise<void> {
    if (!this.running) return
    this.proc.kill('SIGTERM')
    const t = setTimeout(() => this.proc.kill('SIGKILL'), graceMs)
    await this.exited
    clearTimeout(t)
  }
}

/** The nats-server binary: $NATS_SERVER_BIN, the Debian path, or the PATH. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [
    env.NATS_SERVER_BIN,
    '/usr/sbin/nats-server',
    '/usr/bin/nats-server',
    '/usr/local/bin/nats-server',
  ]
  for (const dir of (env.PATH ?? '').split(delimiter))
    if (dir) candidates.push(join(dir, 'nats-server'))
  return candidates.find((c): c is string => c !== undefined && c !== '' && existsSync(c))
}

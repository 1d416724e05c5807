import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'

/**
 * A child process whose combined output is kept (bounded) so tests can wait for
 * a line and print the tail when something fails.
 */
export class Child {
  readonly proc: ChildProcess
  readonly name: string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private out = ''
  private readonly maxOut = 256 * 1024
  private listeners = new Set<() => void>()

  constructor(name: string, cmd: string, args: string[], opts: SpawnOptions = {}) {
    this.name = name
    this.proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
    const onData = (chunk: Buffer): void => {
      this.out += chunk.toString('utf8')
      if (this.out.length > this.maxOut) this.out = this.out.slice(-this.maxOut / 2)
      for (const l of this.listeners) l()
    }
    this.proc.stdout?.on('data', onData)
    this.proc.stderr?.on('data', onData)
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        for (const l of this.listeners) l()
        resolve({ code, signal })
      })
    })
  }

  get output(): string {
    return this.out
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null
  }

  /** Resolves with the first match of `re` in the output; rejects on timeout or exit. */
  waitForOutput(re: RegExp, timeout = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = this.out.match(re)
        if (m) {
          done()
          resolve(m)
        } else if (!this.running) {
          done()
          reject(new Error(`${this.name} exited before printing ${re}:\n${this.tail()}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${this.name} did not print ${re} within ${timeout} ms:\n${this.tail()}`))
      }, timeout)
      const done = (): void => {
        clearTimeout(timer)
        this.listeners.delete(check)
      }
      this.listeners.add(check)
      check()
    })
  }

  tail(lines = 40): string {
    return this.out.split('\n').slice(-lines).join('\n')
  }

  /** Sends `signal` and waits for exit; escalates to SIGKILL after `grace` ms. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', grace = 5_000): Promise<void> {
    if (!this.running) return
    this.proc.kill(signal)
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), grace)
    await this.exited
    clearTimeout(timer)
  }

  async kill(): Promise<void> {
    if (!this.running) return
    this.proc.kill('SIGKILL')
    await this.exited
  }
}

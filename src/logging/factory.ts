/**
 * Structured logs with pino. JSON lines on stdout by default; human-readable
 * (pino-pretty, synchronous, no worker thread) when stdout is a terminal or
 * `RHIO_LOG_FORMAT=pretty`; `RHIO_LOG_FORMAT=json` forces JSON. Every
 * component logs through a child logger with a `component` field whose level
 * follows `log_level` (see levels.ts).
 */
import { pino, type DestinationStream, type Logger } from 'pino'
import pretty from 'pino-pretty'
import { RhioError } from '../errors/index.js'
import { parseLogLevel, type LevelPolicy } from './levels.js'
import { problemLevel, problemMessage, RecentProblems } from './recent.js'

export type { Logger } from 'pino'
export type LogFormat = 'json' | 'pretty'

/** Picks the output format from `RHIO_LOG_FORMAT` and whether stdout is a terminal. */
export function chooseLogFormat(
  env: Readonly<Record<string, string | undefined>>,
  stdoutIsTTY: boolean,
): LogFormat {
  const f = env.RHIO_LOG_FORMAT?.trim().toLowerCase()
  if (f === 'json' || f === 'pretty') return f
  return stdoutIsTTY ? 'pretty' : 'json'
}

export interface LoggerFactoryOptions {
  /** The `log_level` setting (validated by the config schema). */
  logLevel?: string | undefined
  format?: LogFormat
  /** Where lines go; stdout (synchronously) by default. Tests pass a stream. */
  destination?: DestinationStream
  /** Colours in pretty output; defaults to whether stdout is a terminal. */
  colorize?: boolean
}

export class LoggerFactory {
  /** The node's own logger (component `rhio`). */
  readonly root: Logger
  /** Every WARN and ERROR logged through this factory, recent ones (for /health `errors[]`). */
  readonly recent = new RecentProblems()
  private readonly base: Logger
  private readonly policy: LevelPolicy
  private readonly children = new Map<string, Logger>()

  constructor(opts: LoggerFactoryOptions = {}) {
    const parsed = parseLogLevel(opts.logLevel)
    if (!parsed.ok) {
      throw new RhioError('CONFIG_INVALID', `log_level: ${parsed.reason}`)
    }
    this.policy = parsed.policy
    const format = opts.format ?? 'json'
    const dest =
      opts.destination ??
      (format === 'pretty'
        ? pretty({
            sync: true,
            destination: 1,
            colorize: opts.colorize ?? process.stdout.isTTY === true,
            ignore: 'pid,hostname,component',
            translateTime: 'SYS:HH:MM:ss.l',
            messageFormat: '{if component}[{component}] {end}{msg}',
          })
        : pino.destination({ dest: 1, sync: true }))
    const recent = this.recent
    this.base = pino(
      {
        level: this.policy.levelFor('rhio'),
        base: { pid: process.pid },
        formatters: { level: (label) => ({ level: label }) },
        hooks: {
          logMethod(args, method, level) {
            const lvl = problemLevel(level)
            if (lvl) {
              const component = (this.bindings() as { component?: unknown }).component
              recent.add({
                time: Date.now(),
                level: lvl,
                component: typeof component === 'string' ? component : 'rhio',
                message: problemMessage(args),
              })
            }
            method.apply(this, args)
          },
        },
      },
      dest,
    )
    this.root = this.forComponent('rhio')
  }

  /**
   * The logger of one component, e.g. `rhio:http`, `rhio:nats`, `libp2p:tcp`,
   * `nats`, `s3`. Loggers are cached by name.
   */
  forComponent(name: string): Logger {
    let l = this.children.get(name)
    if (!l) {
      l = this.base.child({ component: name }, { level: this.policy.levelFor(name) })
      this.children.set(name, l)
    }
    return l
  }

  /** The level a component logs at. */
  levelFor(name: string): string {
    return this.policy.levelFor(name)
  }

  /** Writes out anything buffered (pretty output is synchronous; JSON too). */
  flush(): void {
    this.base.flush()
  }
}

/**
 * libp2p's `ComponentLogger` on top of pino, so libp2p's own logs go to the
 * same sink under `libp2p:*` components (filtered by `log_level`, e.g.
 * `libp2p=DEBUG` or `libp2p:tcp=TRACE`).
 *
 * libp2p calls `log(...)` for debug output, `log.trace(...)` for trace and
 * `log.error(...)` for failures that are routine on a network (a dial that
 * failed, a stream reset). rhio reports what matters to operators itself, so
 * libp2p's lines are logged at DEBUG (`log`, `log.error`, the latter marked
 * `libp2p_level: "error"`) and TRACE (`log.trace`).
 */
import { format } from 'node:util'
import type { ComponentLogger, Logger as Libp2pLogger } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { LoggerFactory } from './factory.js'

/** Renders libp2p's printf-style arguments, including its custom %p/%a/%b/%t/%c/%k/%e. */
export function formatLibp2p(formatter: unknown, args: unknown[]): string {
  if (typeof formatter !== 'string') return format(formatter, ...args)
  let i = 0
  const rest: unknown[] = [...args]
  const text = formatter.replace(/%([a-zA-Z%])/g, (m, f: string) => {
    if (f === '%') return '%'
    if (i >= rest.length) return m
    const v = rest[i++]
    switch (f) {
      case 'e':
        return v instanceof Error ? (v.stack ?? v.message) : String(v)
      case 'b':
      case 't':
      case 'm':
        return v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v)
      case 'p':
      case 'a':
      case 'c':
      case 'k':
        return String(v)
      case 'o':
      case 'O':
      case 'j':
        return format('%j', v)
      default:
        return format(`%${f}`, v)
    }
  })
  const extra = rest.slice(i)
  return extra.length === 0 ? text : `${text} ${extra.map((a) => format('%s', a)).join(' ')}`
}

function makeLogger(pinoLogger: Logger, name: string, factory: LoggerFactory): Libp2pLogger {
  const log = ((formatter: unknown, ...args: unknown[]) => {
    if (pinoLogger.isLevelEnabled('debug')) pinoLogger.debug(formatLibp2p(formatter, args))
  }) as Libp2pLogger
  log.error = (formatter: unknown, ...args: unknown[]) => {
    if (pinoLogger.isLevelEnabled('debug')) {
      pinoLogger.debug({ libp2p_level: 'error' }, formatLibp2p(formatter, args))
    }
  }
  log.trace = (formatter: unknown, ...args: unknown[]) => {
    if (pinoLogger.isLevelEnabled('trace')) pinoLogger.trace(formatLibp2p(formatter, args))
  }
  log.enabled = pinoLogger.isLevelEnabled('debug')
  log.newScope = (scope: string) => adaptComponent(factory, `${name}:${scope}`)
  return log
}

function adaptComponent(factory: LoggerFactory, name: string): Libp2pLogger {
  const full = name.startsWith('libp2p') ? name : `libp2p:${name}`
  return makeLogger(factory.forComponent(full), full, factory)
}

/** A libp2p ComponentLogger writing through `factory` under `libp2p:*` component names. */
export function libp2pComponentLogger(factory: LoggerFactory): ComponentLogger {
  return { forComponent: (name: string) => adaptComponent(factory, name) }
}

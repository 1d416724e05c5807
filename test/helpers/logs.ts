import { Writable } from 'node:stream'
import { LoggerFactory } from '../../src/logging/index.js'

export interface CapturedLogs {
  logs: LoggerFactory
  /** Every JSON log record written so far, parsed. */
  lines: Array<Record<string, unknown>>
  /** Messages of the records so far, optionally of one component. */
  messages(component?: string): string[]
}

/** A LoggerFactory that keeps its JSON records in memory instead of printing them. */
export function captureLogs(logLevel?: string): CapturedLogs {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) {
        if (l) lines.push(JSON.parse(l) as Record<string, unknown>)
      }
      cb()
    },
  })
  return {
    logs: new LoggerFactory({ logLevel, destination }),
    lines,
    messages: (component) =>
      lines
        .filter((l) => component === undefined || l.component === component)
        .map((l) => String(l.msg)),
  }
}

const quiet = (): void => {}

/** A libp2p component logger that says nothing (for library classes built directly in tests). */
export const silentComponentLog = Object.assign(quiet, {
  error: quiet,
  trace: quiet,
  enabled: false,
  newScope: (): unknown => silentComponentLog,
})

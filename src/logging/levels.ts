/**
 * `log_level` semantics of the original rhio, mapped onto component names:
 *
 * - unset              → rhio components at info, libraries (`libp2p:*`, `nats`, `s3`) at warn
 * - `LEVEL`            → rhio components at LEVEL (libraries stay at warn)
 * - `=LEVEL`           → every component, libraries included
 * - `a=LEVEL,b=LEVEL`  → directives; `a` matches the component `a` and every `a:…`;
 *                        the longest matching target wins; a bare `LEVEL` or `=LEVEL`
 *                        element inside the list acts as above.
 *
 * Levels are ERROR, WARN, INFO, DEBUG, TRACE or OFF in any case. Pure; no I/O.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** The component prefix that marks rhio's own components. */
export const RHIO_COMPONENT = 'rhio'

const NAMES: Record<string, LogLevel> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  off: 'silent',
}

interface Directive {
  target: string // '' = every component
  level: LogLevel
}

export interface LevelPolicy {
  /** The effective level for a component name such as `rhio:http` or `libp2p:tcp`. */
  levelFor(component: string): LogLevel
}

export type ParseResult = { ok: true; policy: LevelPolicy } | { ok: false; reason: string }

function parseLevel(s: string): LogLevel | undefined {
  return NAMES[s.trim().toLowerCase()]
}

const TARGET = /^[A-Za-z0-9_-]+(?::[A-Za-z0-9_*-]+)*$/

/** Parses a `log_level` value; `undefined` gives the defaults. */
export function parseLogLevel(spec: string | undefined): ParseResult {
  const directives: Directive[] = []
  if (spec !== undefined && spec.trim() !== '') {
    for (const raw of spec.split(',')) {
      const part = raw.trim()
      if (part === '') return { ok: false, reason: `empty directive in '${spec}'` }
      const eq = part.indexOf('=')
      if (eq === -1) {
        const level = parseLevel(part)
        if (!level) return { ok: false, reason: `unknown level '${part}' (${levelList()})` }
        directives.push({ target: RHIO_COMPONENT, level })
        continue
      }
      const target = part.slice(0, eq).trim()
      const levelText = part.slice(eq + 1)
      const level = parseLevel(levelText)
      if (!level) {
        return { ok: false, reason: `unknown level '${levelText}' in '${part}' (${levelList()})` }
      }
      if (target !== '' && !TARGET.test(target)) {
        return { ok: false, reason: `invalid component name '${target}' in '${part}'` }
      }
      directives.push({ target: target.replace(/:\*$/, ''), level })
    }
  }
  return { ok: true, policy: new DirectivePolicy(directives) }
}

function levelList(): string {
  return 'use ERROR, WARN, INFO, DEBUG, TRACE or OFF'
}

class DirectivePolicy implements LevelPolicy {
  constructor(private readonly directives: Directive[]) {}

  levelFor(component: string): LogLevel {
    let best: Directive | undefined
    for (const d of this.directives) {
      if (!matches(d.target, component)) continue
      // Longest target wins; among equal targets the later directive wins.
      if (best === undefined || d.target.length >= best.target.length) best = d
    }
    if (best) return best.level
    return matches(RHIO_COMPONENT, component) ? 'info' : 'warn'
  }
}

function matches(target: string, component: string): boolean {
  return target === '' || component === target || component.startsWith(`${target}:`)
}

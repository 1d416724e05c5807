/**
 * Turns schema issues into readable violations with YAML paths, and the one
 * error type that carries all of them.
 */
import type { z } from 'zod'
import { RhioError, type ConfigErrorCode } from '../errors/index.js'
import { keysAt, suggestKey } from './keys.js'
import type { Violation } from './rules.js'

/** `['subscribe','nats_subjects',2,'public_key']` → `subscribe.nats_subjects[2].public_key` */
export function yamlPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else out += out === '' ? String(seg) : `.${String(seg)}`
  }
  return out
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`
  return String(v)
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
}

/** One schema issue → one or more violations (an unknown-keys issue yields one per key). */
export function issueViolations(issue: z.core.$ZodIssue, input: unknown): Violation[] {
  const path = yamlPath(issue.path)
  const at = (p: string): Violation['path'] => p
  const value = valueAt(input, issue.path)
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysAt(issue.path)
      return issue.keys.map((k) => {
        const hint = suggestKey(k, known)
        return {
          path: at(path === '' ? k : `${path}.${k}`),
          message: `unknown key${hint ? ` (did you mean '${hint}'?)` : ''}`,
        }
      })
    }
    case 'invalid_type':
      if (value === undefined) return [{ path, message: 'is required' }]
      return [
        {
          path,
          message: `must be ${TYPE_NAMES[issue.expected] ?? issue.expected} (got ${describe(value)})`,
        },
      ]
    case 'too_small':
      if (issue.origin === 'string') return [{ path, message: 'must not be empty' }]
      if (issue.origin === 'array') {
        return [{ path, message: `must have at least ${issue.minimum} entries` }]
      }
      return [{ path, message: `must be at least ${issue.minimum} (got ${describe(value)})` }]
    case 'too_big':
      return [{ path, message: `must be at most ${issue.maximum} (got ${describe(value)})` }]
    case 'not_multiple_of':
      return [{ path, message: `must be a multiple of ${issue.divisor} (got ${describe(value)})` }]
    case 'invalid_value':
      return [
        {
          path,
          message: `must be one of ${issue.values.map((v) => `'${String(v)}'`).join(', ')} (got ${describe(value)})`,
        },
      ]
    default:
      return [{ path, message: issue.message }]
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input
  for (const seg of path) {
    if (typeof v !== 'object' || v === null) return undefined
    v = (v as Record<PropertyKey, unknown>)[seg]
  }
  return v
}

/** A configuration that cannot be used; lists every violation. Exit code 2. */
export class ConfigError extends RhioError<ConfigErrorCode> {
  readonly violations: readonly Violation[]
  readonly file: string | null

  constructor(
    violations: Violation[],
    file: string | null,
    code: ConfigErrorCode = 'CONFIG_INVALID',
  ) {
    const where = file ? ` in ${file}` : ''
    const n = violations.length
    super(
      code,
      `configuration${where} has ${n} problem${n === 1 ? '' : 's'}:\n` +
        violations.map((v) => `  - ${v.path === '' ? '' : `${v.path}: `}${v.message}`).join('\n'),
    )
    this.name = 'ConfigError'
    this.violations = violations
    this.file = file
  }
}

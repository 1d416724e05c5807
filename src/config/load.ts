/**
 * Loads the configuration: defaults < YAML file < environment < command-line
 * flags, validated once by the schema, then frozen.
 *
 * File lookup as the original: `-c PATH` (must exist) → `./config.yaml` →
 * `$XDG_CONFIG_HOME/rhio/config.yaml` (default `~/.config/rhio/config.yaml`);
 * no file → all defaults.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { RhioError } from '../errors/index.js'
import { applyCredentialEnv } from './credentials-env.js'
import { splitEndpointCredentials } from './endpoints.js'
import { ConfigError, issueViolations } from './issues.js'
import {
  dropBadLogDirectives,
  dropOptionalNulls,
  splitUnknownKeys,
  strictFromEnv,
  type ConfigWarning,
} from './lenient.js'
import { crossEntryViolations, type Violation } from './rules.js'
import { configSchema, type Config, type ConfigData } from './schema.js'
import { parseConfigYaml } from './yaml.js'

/** Values given as command-line flags (strings as typed, or numbers). */
export interface CliOverrides {
  bind_port?: string | number | undefined
  http_bind_port?: string | number | undefined
  private_key_path?: string | undefined
  log_level?: string | undefined
}

export interface LoadConfigOptions {
  /** `-c PATH`: must exist. */
  path?: string | undefined
  cli?: CliOverrides
  /** Defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>
  /** Directory for `./config.yaml` and relative paths; defaults to process.cwd(). */
  cwd?: string
  /** Home directory for the XDG default; defaults to os.homedir(). */
  home?: string
  /**
   * Unknown keys are errors instead of warnings (`--strict-config`); also
   * turned on by `RHIO_STRICT_CONFIG=1` in `env`.
   */
  strict?: boolean | undefined
}

export interface LoadedConfig {
  config: Config
  /** What was ignored (unknown or removed keys, unparsable log directives), by YAML path; empty in strict mode. */
  warnings: readonly ConfigWarning[]
  /** The file that was read, or null when running on defaults. */
  file: string | null
  /** Where each overridden top-level key came from, e.g. `env RHIO_BIND_PORT`. */
  sources: Readonly<Record<string, string>>
}

/**
 * Top-level scalars settable from the environment: the original's unprefixed
 * names (plus DATA_DIR), and every one with a RHIO_ prefix, which wins.
 */
export const ENV_KEYS: ReadonlyArray<{ key: keyof ConfigData; unprefixed: boolean }> = [
  { key: 'bind_port', unprefixed: true },
  { key: 'http_bind_port', unprefixed: true },
  { key: 'network_id', unprefixed: true },
  { key: 'private_key_path', unprefixed: true },
  { key: 'log_level', unprefixed: true },
  { key: 'data_dir', unprefixed: true },
  { key: 'bind_host', unprefixed: false },
  { key: 'http_bind_host', unprefixed: false },
]

const CLI_FLAGS: Record<keyof CliOverrides, string> = {
  bind_port: '--bind-port',
  http_bind_port: '--http-bind-port',
  private_key_path: '--private-key-path',
  log_level: '--log-level',
}

const NUMERIC = new Set(['bind_port', 'http_bind_port'])

/** Finds the file to read, or null. Throws CONFIG_NOT_FOUND for a missing `-c` path. */
export function findConfigFile(opts: LoadConfigOptions = {}): string | null {
  const cwd = opts.cwd ?? process.cwd()
  if (opts.path !== undefined) {
    const p = resolve(cwd, opts.path)
    if (!existsSync(p)) {
      throw new RhioError('CONFIG_NOT_FOUND', `config file '${opts.path}' does not exist (${p})`)
    }
    return p
  }
  const local = join(cwd, 'config.yaml')
  if (existsSync(local)) return local
  const env = opts.env ?? process.env
  const xdg = env.XDG_CONFIG_HOME
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(opts.home ?? homedir(), '.config')
  const user = join(base, 'rhio', 'config.yaml')
  return existsSync(user) ? user : null
}

/** The largest configuration file read (a real one is a few KiB; YAML parsing is not linear). */
export const MAX_CONFIG_BYTES = 1024 * 1024

/** Reads a YAML file into a plain object. Throws CONFIG_READ / CONFIG_YAML. */
export function readConfigFile(file: string): unknown {
  let text: string
  try {
    const size = statSync(file).size
    if (size > MAX_CONFIG_BYTES) {
      throw new RhioError(
        'CONFIG_READ',
        `config file ${file} has ${size} bytes; the limit is ${MAX_CONFIG_BYTES} (1 MiB)`,
      )
    }
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if (err instanceof RhioError) throw err
    throw new RhioError('CONFIG_READ', `cannot read config file ${file}`, { cause: err })
  }
  return parseConfigYaml(text, file)
}

function asNumberIfNumeric(key: string, v: string | number): string | number {
  if (typeof v === 'number' || !NUMERIC.has(key)) return v
  return /^\s*\d+\s*$/.test(v) ? Number(v) : v
}

/** Loads, merges, validates and freezes the configuration. Throws ConfigError/RhioError. */
export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const file = findConfigFile(opts)
  return resolveConfig(file === null ? {} : readConfigFile(file), file, opts)
}

/**
 * The second half of `loadConfig`: the parsed file (`fromFile`, any value)
 * merged with the environment and flags, validated and frozen.
 */
export function resolveConfig(
  fromFile: unknown,
  file: string | null,
  opts: LoadConfigOptions = {},
): LoadedConfig {
  const env = opts.env ?? process.env

  if (fromFile !== null && (typeof fromFile !== 'object' || Array.isArray(fromFile))) {
    throw new ConfigError([{ path: '', message: 'must be a YAML mapping of keys' }], file)
  }
  const raw: Record<string, unknown> = { ...((fromFile ?? {}) as Record<string, unknown>) }
  const sources: Record<string, string> = {}

  for (const { key, unprefixed } of ENV_KEYS) {
    const name = key.toUpperCase()
    for (const envName of unprefixed ? [name, `RHIO_${name}`] : [`RHIO_${name}`]) {
      const v = env[envName]
      if (v === undefined || v === '') continue
      raw[key] = asNumberIfNumeric(key, v)
      sources[key] = `env ${envName}`
    }
  }
  applyCredentialEnv(raw, env, sources)
  for (const [key, flag] of Object.entries(CLI_FLAGS)) {
    const v = opts.cli?.[key as keyof CliOverrides]
    if (v === undefined) continue
    raw[key] = asNumberIfNumeric(key, v)
    sources[key] = `flag ${flag}`
  }

  const strict = opts.strict === true || strictFromEnv(env)
  const { config, warnings } = checkConfig(raw, {
    file,
    sources,
    cwd: opts.cwd ?? process.cwd(),
    strict,
  })
  return { config, warnings, file, sources: Object.freeze(sources) }
}

export interface ParseConfigOptions {
  file?: string | null
  sources?: Readonly<Record<string, string>>
  cwd?: string
  /** Unknown keys are violations instead of warnings. */
  strict?: boolean
}

/** Validates an already-merged plain object (e.g. parsed YAML) into a frozen Config. */
export function parseConfig(raw: unknown, opts: ParseConfigOptions = {}): Config {
  return checkConfig(raw, opts).config
}

/**
 * Validates an already-merged plain object into a frozen Config, and lists
 * the keys it ignored. A null the original reads as absent is absent; unknown
 * keys are warnings, or violations when `strict`.
 */
export function checkConfig(
  raw: unknown,
  opts: ParseConfigOptions = {},
): { config: Config; warnings: readonly ConfigWarning[] } {
  const split = splitUnknownKeys(dropOptionalNulls(raw ?? {}))
  const logLevel =
    opts.strict === true ? { value: split.known, dropped: [] } : dropBadLogDirectives(split.known)
  const input = logLevel.value
  const result = configSchema.safeParse(input)
  const violations: Violation[] = []
  if (opts.strict === true) violations.push(...split.unknown)
  if (!result.success) {
    for (const issue of result.error.issues) violations.push(...issueViolations(issue, input))
  }
  violations.push(...crossEntryViolations(input))
  if (violations.length > 0 || !result.success) {
    const sources = opts.sources ?? {}
    const annotated = violations.map((v) => {
      const from = sourceOf(v.path, sources)
      return from ? { ...v, message: `${v.message} (from ${from})` } : v
    })
    throw new ConfigError(annotated, opts.file ?? null)
  }
  const cwd = opts.cwd ?? process.cwd()
  const data = result.data
  moveEndpointCredentials(data, opts)
  data.data_dir = resolve(cwd, data.data_dir)
  data.private_key_path = resolve(cwd, data.private_key_path)
  const warnings = opts.strict === true ? [] : [...split.unknown, ...logLevel.dropped]
  return { config: deepFreeze(data), warnings: deepFreeze(warnings) }
}

/**
 * Credentials in `nats.endpoint` (`nats://user:pass@host`) go into
 * `nats.credentials`, so they work (nats.js ignores them in URLs) and the
 * endpoint logged and shown in /health holds no secret.
 */
function moveEndpointCredentials(data: ConfigData, opts: ParseConfigOptions): void {
  const split = splitEndpointCredentials(data.nats.endpoint)
  const fail = (message: string): never => {
    throw new ConfigError([{ path: 'nats.endpoint', message }], opts.file ?? null)
  }
  if (split.problem !== undefined) fail(split.problem)
  if (split.credentials === undefined) return
  if (data.nats.credentials !== undefined)
    fail('holds credentials while nats.credentials gives them too: keep them in one place')
  data.nats.endpoint = split.endpoint
  data.nats.credentials = split.credentials
}

/** The source of the most specific overridden key that is `path` or contains it. */
function sourceOf(path: string, sources: Readonly<Record<string, string>>): string | undefined {
  let best: string | undefined
  for (const key of Object.keys(sources)) {
    const contains = path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`)
    if (contains && (best === undefined || key.length > best.length)) best = key
  }
  return best === undefined ? undefined : sources[best]
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const child of Object.values(v)) deepFreeze(child)
    Object.freeze(v)
  }
  return v
}

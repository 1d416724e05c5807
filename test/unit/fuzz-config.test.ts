/**
 * Fuzzing the configuration loader end to end (file on disk, environment,
 * schema, rules): random YAML documents, random YAML-ish text, byte mutations
 * of config.example.yaml, structural edits of a valid configuration and
 * random environment values all end in a frozen Config or a ConfigError
 * listing violations (CONFIG_* codes), never another exception and never a
 * hang (each case is timed).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, test } from 'node:test'
import fc from 'fast-check'
import { parse, stringify } from 'yaml'
import {
  ConfigError,
  parseConfigYaml,
  resolveConfig,
  schemaKeyPaths,
  type Config,
} from '../../src/config/index.js'
import { RhioError } from '../../src/errors/index.js'
import { fuzzParams, mutate, mutated, typedOnly } from '../helpers/fuzz.js'

const exampleText = readFileSync(new URL('../../../config.example.yaml', import.meta.url), 'utf8')
/** The example without its comments: the same structure, a quarter of the bytes to parse. */
const compact = stringify(parse(exampleText))
let slowest = 0

after(() => {
  // a loader that takes this long on a small document is as bad as a hang
  assert.ok(slowest < 2_000, `slowest config load took ${slowest} ms`)
})

/**
 * Loads a config file's text (or, for `fromFile`, its parsed value) the way
 * `loadConfig` does after reading the file; returns the Config or the typed error.
 */
function load(
  input: { text: string } | { fromFile: unknown },
  env: Record<string, string> = {},
): Config | RhioError {
  const t0 = performance.now()
  const r = typedOnly(
    () => {
      const fromFile = 'text' in input ? parseConfigYaml(input.text, 'fuzz.yaml') : input.fromFile
      return resolveConfig(fromFile, 'fuzz.yaml', { env, cwd: '/srv/rhio' }).config
    },
    { input, env },
  )
  slowest = Math.max(slowest, performance.now() - t0)
  if (r instanceof RhioError) {
    assert.match(r.code, /^CONFIG_/, `${r.code}: ${r.message}`)
    if (r instanceof ConfigError) {
      assert.ok(r.violations.length > 0, 'a ConfigError lists at least one violation')
      for (const v of r.violations) {
        assert.equal(typeof v.path, 'string')
        assert.ok(v.message.length > 0)
      }
    }
  } else {
    assert.ok(Object.isFrozen(r) && Object.isFrozen(r.limits))
  }
  return r
}

/** YAML fragments that exercise the parser: anchors, aliases, tags, flow and block styles. */
const yamlToken = fc.constantFrom(
  ...[':', ': ', '- ', '\n', '\n  ', '\n    ', '[', ']', '{', '}', ',', '"', "'", '#', '|', '>'],
  ...[
    '&a ',
    '*a',
    '&b ',
    '*b',
    '<<: *a',
    '!!str ',
    '!!int ',
    '!!binary ',
    '!!set ',
    '!!map ',
    '!x ',
  ],
  ...[
    '---\n',
    '...\n',
    '? ',
    '~',
    'null',
    'true',
    '0x1F',
    '1e400',
    '-0',
    '.inf',
    '.nan',
    '2024-01-01',
  ],
  ...[
    'bind_port',
    'limits',
    'max_frame_bytes',
    'nodes',
    'public_key',
    'subscribe',
    'nats_subjects',
  ],
  ...[
    '__proto__',
    'constructor',
    'toString',
    '9102',
    'a',
    ' ',
    '\t',
    '\\',
    '%YAML 1.2\n',
    '\u0000',
  ],
)
const yamlish = fc.array(yamlToken, { maxLength: 40 }).map((t) => t.join(''))

/** JSON-like values, as YAML documents; keys lean towards real config keys. */
const keyArb = fc.oneof(
  fc.constantFrom(...new Set(schemaKeyPaths().flatMap((p) => p.replace(/\[\]/g, '').split('.')))),
  fc.string({ maxLength: 8 }),
)
const valueArb = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.oneof(
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.string({ maxLength: 20 }),
    ),
    fc.constantFrom(0, -1, 65_536, 2 ** 53, '9102', '', '0x10', 'ff'.repeat(32)),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(keyArb, tie('value'), { maxKeys: 4 }),
  ),
})).value

/** Sets (or deletes, for undefined) the value at a dotted path with [] meaning "first element". */
function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const segs = path.split('.')
  let cur: unknown = obj
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!
    const list = seg.endsWith('[]')
    const key = list ? seg.slice(0, -2) : seg
    if (typeof cur !== 'object' || cur === null) return
    const rec = cur as Record<string, unknown>
    if (i === segs.length - 1 && !list) {
      if (value === undefined) delete rec[key]
      else rec[key] = value
      return
    }
    cur = list ? (rec[key] as unknown[] | undefined)?.[0] : rec[key]
  }
}

test('config loader: random YAML documents give a Config or a ConfigError', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        valueArb.map((v) => stringify(v)),
        fc.dictionary(keyArb, valueArb, { maxKeys: 6 }).map((v) => stringify(v)),
        yamlish,
      ),
      (text) => {
        load({ text })
      },
    ),
    fuzzParams(),
  )
})

test('config loader: byte mutations of config.example.yaml give a Config or a ConfigError', () => {
  assert.ok(!(load({ text: compact }) instanceof RhioError), 'the seed is valid')
  const bytes = new TextEncoder().encode(compact)
  const latin1 = new TextDecoder('latin1')
  fc.assert(
    fc.property(
      mutated(fc.constant(bytes), 6).map((m) => m.mutations),
      (mutations) => {
        load({ text: latin1.decode(mutations.reduce(mutate, bytes)) })
      },
    ),
    fuzzParams(),
  )
})

test('config loader: structural edits of a valid config and random env give a Config or a ConfigError', () => {
  const valid = parse(compact) as Record<string, unknown>
  const paths = schemaKeyPaths()
  const envName = fc.constantFrom(
    ...['BIND_PORT', 'RHIO_BIND_PORT', 'HTTP_BIND_PORT', 'NETWORK_ID', 'LOG_LEVEL', 'DATA_DIR'],
    ...['RHIO_BIND_HOST', 'PRIVATE_KEY_PATH', 'RHIO_NATS_TOKEN', 'RHIO_NATS_USERNAME'],
    ...['RHIO_S3_ACCESS_KEY', 'RHIO_S3_SECRET_KEY', 'RHIO_NATS_NKEY'],
  )
  const envValue = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom(' 80 ', '65536', '-1', '1e3', '0x50', 'DEBUG', 'rhio=TRACE,x', '='),
  )
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom(...paths), fc.option(valueArb, { nil: undefined })), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.dictionary(envName, envValue, { maxKeys: 3 }),
      (edits, env) => {
        const obj = structuredClone(valid)
        for (const [path, value] of edits) setPath(obj, path, value)
        load({ fromFile: obj }, env)
      },
    ),
    fuzzParams(),
  )
})

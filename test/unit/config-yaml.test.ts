/**
 * Regression tests for YAML failures that escaped as untyped exceptions (found
 * by fuzzing): they are CONFIG_YAML ConfigErrors, from the file on disk too.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { ConfigError, MAX_YAML_DEPTH, loadConfig, parseConfigYaml } from '../../src/config/index.js'
import { yamlDepth } from '../../src/config/yaml.js'
import { tempDir } from '../helpers/tmp.js'

function yamlError(text: string): ConfigError {
  try {
    parseConfigYaml(text, 'c.yaml')
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`)
    assert.equal(err.code, 'CONFIG_YAML')
    return err
  }
  assert.fail('parsed without error')
}

describe('config YAML hardening', () => {
  it('an alias without its anchor is CONFIG_YAML (was a ReferenceError)', () => {
    assert.match(yamlError('bind_port: *port\n').message, /alias/i)
    assert.match(yamlError('<<: *a\n').message, /alias/i)
  })

  it('an alias bomb is CONFIG_YAML (was a ReferenceError)', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (let i = 1; i < 8; i++) {
      const prev = String.fromCharCode(96 + i)
      const cur = String.fromCharCode(97 + i)
      lines.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(', ')}]`)
    }
    assert.match(yamlError(lines.join('\n')).message, /alias/i)
  })

  it('a few aliases are fine', () => {
    assert.deepEqual(parseConfigYaml('a: &x [1]\nb: *x\n', null), { a: [1], b: [1] })
  })

  it('nesting deeper than the limit is CONFIG_YAML, fast, at any depth', () => {
    for (const n of [MAX_YAML_DEPTH + 1, 10_000, 100_000]) {
      const t0 = performance.now()
      const flow = `a: ${'['.repeat(n)}${']'.repeat(n)}`
      assert.match(yamlError(flow).message, /nesting deeper than 64/)
      const block = `a:\n${Array.from({ length: Math.min(n, 5_000) }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}x`
      yamlError(block)
      assert.ok(performance.now() - t0 < 5_000, `depth ${n} took too long`)
    }
    assert.equal(
      yamlDepth(`a: ${'['.repeat(MAX_YAML_DEPTH - 1)}${']'.repeat(MAX_YAML_DEPTH - 1)}`),
      MAX_YAML_DEPTH,
    )
    parseConfigYaml(`a: ${'['.repeat(MAX_YAML_DEPTH - 1)}${']'.repeat(MAX_YAML_DEPTH - 1)}`, null)
  })

  it('loadConfig reports these as CONFIG_YAML for the file', async () => {
    await using dir = await tempDir()
    const file = join(dir.path, 'config.yaml')
    await writeFile(file, 'network_id: *missing\n')
    assert.throws(
      () => loadConfig({ path: file, env: {}, cwd: dir.path }),
      (err: unknown) =>
        err instanceof ConfigError && err.code === 'CONFIG_YAML' && err.file === file,
    )
  })
})

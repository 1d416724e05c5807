import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { parse } from 'yaml'
import { parseConfig, schemaKeyPaths } from '../../src/config/index.js'

const root = new URL('../../../', import.meta.url)
const read = (name: string): Promise<string> => readFile(new URL(name, root), 'utf8')

/** Every key path of a parsed YAML value, in the schema's notation (`a.b[].c`). */
function keyPaths(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((e) => keyPaths(e, `${prefix}[]`))
  if (typeof v !== 'object' || v === null) return []
  return Object.entries(v).flatMap(([k, child]) => {
    const p = prefix === '' ? k : `${prefix}.${k}`
    return [p, ...keyPaths(child, p)]
  })
}

/** Turns `# key: value` lines (alternatives shown commented out) into YAML. */
function uncomment(text: string): string {
  return text.replace(/^(\s*)# ([a-z_]+:.*)$/gm, '$1$2')
}

describe('config.example.yaml and docs/CONFIG.md follow the schema', () => {
  it('config.example.yaml is a valid configuration', async () => {
    const c = parseConfig(parse(await read('config.example.yaml')))
    assert.equal(c.bind_port, 9102)
    assert.ok(c.publish.nats_subjects.length > 0)
  })

  it('config.example.yaml shows every schema key (active or commented out)', async () => {
    const shown = new Set(keyPaths(parse(uncomment(await read('config.example.yaml')))))
    const missing = schemaKeyPaths().filter((k) => !shown.has(k))
    assert.deepEqual(missing, [], `config.example.yaml lacks: ${missing.join(', ')}`)
  })

  it('config.example.yaml shows no key the schema lacks', async () => {
    const known = new Set(schemaKeyPaths())
    const unknown = keyPaths(parse(uncomment(await read('config.example.yaml')))).filter(
      (k) => !known.has(k),
    )
    assert.deepEqual(unknown, [])
  })

  it('docs/CONFIG.md documents every schema key as `path`', async () => {
    const doc = await read('docs/CONFIG.md')
    const missing = schemaKeyPaths().filter((k) => !doc.includes(`\`${k}\``))
    assert.deepEqual(missing, [], `docs/CONFIG.md lacks: ${missing.join(', ')}`)
  })
})

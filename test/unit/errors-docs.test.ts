import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { allErrorCodes, ERROR_CODES } from '../../src/errors/index.js'

const root = new URL('../../../', import.meta.url).pathname

async function sources(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await sources(p)))
    else if (e.name.endsWith('.ts')) out.push(p)
  }
  return out
}

/** Codes documented as table rows of docs/ERRORS.md (`| CODE |` or ``| `CODE` |``). */
async function documented(): Promise<Set<string>> {
  const doc = await readFile(join(root, 'docs/ERRORS.md'), 'utf8')
  return new Set(
    [...doc.matchAll(/^\|\s*`?([A-Z][A-Z0-9]*_[A-Z0-9_]+)`?\s*\|/gm)].map((m) => m[1]!),
  )
}

/** Prefixes of rhio's error codes (environment variable names and errno strings are not codes). */
const CODE_PREFIXES = Object.values(ERROR_CODES)
  .flatMap((r) => Object.values(r) as string[])
  .map((c) => c.split('_')[0]! + '_')

describe('error codes: the registry, the source and docs/ERRORS.md agree', () => {
  it('every registered code has a row in docs/ERRORS.md', async () => {
    const doc = await documented()
    const missing = allErrorCodes().filter((c) => !doc.has(c))
    assert.deepEqual(missing, [], `docs/ERRORS.md lacks: ${missing.join(', ')}`)
  })

  it('every code documented in docs/ERRORS.md is registered', async () => {
    const known = new Set<string>(allErrorCodes())
    const stale = [...(await documented())].filter((c) => !known.has(c))
    assert.deepEqual(stale, [], `docs/ERRORS.md documents unknown codes: ${stale.join(', ')}`)
  })

  it('every code-like string literal in src/ is a registered code', async () => {
    const known = new Set<string>(allErrorCodes())
    const unknown: string[] = []
    for (const file of await sources(join(root, 'src'))) {
      const text = await readFile(file, 'utf8')
      for (const m of text.matchAll(/'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g)) {
        const s = m[1]!
        if (!CODE_PREFIXES.some((p) => s.startsWith(p))) continue
        if (!known.has(s)) unknown.push(`${file.slice(root.length)}: ${s}`)
      }
    }
    assert.deepEqual(unknown, [])
  })

  it('no code is registered twice', () => {
    const all = allErrorCodes()
    assert.equal(new Set(all).size, all.length)
  })
})

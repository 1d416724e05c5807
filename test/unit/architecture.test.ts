/**
 * The folder graph of src/ (an edge A → B when a file in folder A imports a
 * file in folder B) has no cycle, so each folder can be read, tested and
 * changed on top of the ones it uses. docs/ARCHITECTURE.md shows the layers.
 */
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, it } from 'node:test'

const src = new URL('../../../src/', import.meta.url).pathname

async function sources(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await sources(p)))
    else if (e.name.endsWith('.ts')) out.push(p)
  }
  return out
}

/** Folder of a file, relative to src/ ('.' for src/ itself). */
const folder = (file: string): string => relative(src, dirname(file)) || '.'

/** Folder → folders its files import (relative imports only; packages are not folders of ours). */
async function folderGraph(): Promise<Map<string, Set<string>>> {
  const graph = new Map<string, Set<string>>()
  for (const file of await sources(src)) {
    const from = folder(file)
    const edges = graph.get(from) ?? new Set<string>()
    graph.set(from, edges)
    const text = await readFile(file, 'utf8')
    for (const m of text.matchAll(/(?:from|import)\s*'(\.{1,2}\/[^']+)'/g)) {
      const to = folder(resolve(dirname(file), m[1]!))
      if (to !== from) edges.add(to)
    }
  }
  return graph
}

/** Strongly connected components with more than one folder (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  const visit = (v: string): void => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = []
      for (;;) {
        const w = stack.pop()!
        onStack.delete(w)
        scc.push(w)
        if (w === v) break
      }
      if (scc.length > 1) out.push(scc.sort())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return out
}

describe('architecture', () => {
  it('no folder under src/ imports a folder that imports it back (no cycles)', async () => {
    const graph = await folderGraph()
    assert.ok(graph.size > 10, `read ${graph.size} folders`)
    assert.deepEqual(cycles(graph), [])
  })

  it('the cycle check finds a cycle when there is one', () => {
    const g = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ])
    assert.deepEqual(cycles(g), [['a', 'b', 'c']])
  })

  it('pure folders import no adapter: core/, bao/, errors/, util/ stay at the bottom', async () => {
    const graph = await folderGraph()
    const allowed: Record<string, string[]> = {
      errors: [],
      util: ['errors'],
      bao: ['errors', 'util'],
      core: ['bao', 'errors', 'util'],
    }
    for (const [f, ok] of Object.entries(allowed)) {
      const extra = [...(graph.get(f) ?? [])].filter((t) => !ok.includes(t))
      assert.deepEqual(extra, [], `${f}/ imports ${extra.join(', ')}`)
    }
  })
})

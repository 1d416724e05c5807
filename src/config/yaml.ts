/**
 * YAML text → plain value for the configuration, with every failure of the
 * YAML library turned into CONFIG_YAML: syntax errors and duplicate keys (as
 * reported by the parser), aliases without an anchor and alias bombs (which
 * the library throws as ReferenceError from `toJS`), and nesting so deep that
 * the library's recursive composer would exhaust the stack (checked first on
 * the iterative CST parser; a real configuration nests about 5 levels).
 */
import { Parser, parseDocument } from 'yaml'
import { ConfigError } from './issues.js'

/** Deepest nesting of mappings and lists accepted in a configuration file. */
export const MAX_YAML_DEPTH = 64
/** Most alias expansions (`*name`) accepted, against "billion laughs" documents. */
export const MAX_YAML_ALIASES = 100

interface CstNode {
  type?: string
  value?: unknown
  items?: Array<{ key?: unknown; value?: unknown }>
}

/** The deepest collection nesting in `text` (iterative: safe for any depth). */
export function yamlDepth(text: string): number {
  let max = 0
  for (const doc of new Parser().parse(text)) {
    const stack: Array<[unknown, number]> = [[doc, 0]]
    for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
      const [node, depth] = top
      if (typeof node !== 'object' || node === null) continue
      const n = node as CstNode
      if (n.type === 'document') {
        stack.push([n.value, depth])
      } else if (Array.isArray(n.items)) {
        max = Math.max(max, depth + 1)
        if (max > MAX_YAML_DEPTH) return max
        for (const it of n.items) stack.push([it.key, depth + 1], [it.value, depth + 1])
      }
    }
  }
  return max
}

/** Parses configuration YAML. Throws ConfigError (CONFIG_YAML) naming the problem. */
export function parseConfigYaml(text: string, file: string | null): unknown {
  const fail = (message: string): ConfigError =>
    new ConfigError([{ path: '', message }], file, 'CONFIG_YAML')
  const depth = yamlDepth(text)
  if (depth > MAX_YAML_DEPTH) {
    throw fail(`YAML nesting deeper than ${MAX_YAML_DEPTH} levels`)
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: '', message: `YAML syntax: ${e.message}` })),
      file,
      'CONFIG_YAML',
    )
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown
  } catch (err) {
    // an alias without its anchor, or more alias expansions than allowed
    throw fail(`YAML: ${err instanceof Error ? err.message : String(err)}`)
  }
}

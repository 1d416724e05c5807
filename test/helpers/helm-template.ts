/**
 * A test-only renderer for the small subset of Helm's Go templates that
 * charts/rhio is written in (no Helm binary or Go-template package is
 * available here). Anything outside the subset is an error, so the chart
 * cannot drift into syntax this renderer would get wrong.
 *
 * Supported:
 *   {{ pipeline }}  {{- … -}} (whitespace trimming)  {{/* comment *\/}}
 *   {{ if P }} … {{ else if P }} … {{ else }} … {{ end }}
 *   {{ define "name" }} … {{ end }}
 *   operands: .  $  .A.B  $.A.B  "string"  123  true false  ( pipeline )
 *   functions: include required fail default quote toYaml nindent indent trunc
 *              trimSuffix contains b64enc sha256sum printf (%s %d %v) not and or eq
 *
 * Semantics follow Go templates as Helm runs them: a missing map key is nil
 * and prints as "", a field of nil is an error ("nil pointer evaluating"),
 * truth is Go's (false, 0, nil, "" and empty lists/maps are false), `and`/`or`
 * return an operand, `toYaml` sorts keys and drops the final newline.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml, stringify } from 'yaml'
import {
  lex,
  parse,
  TemplateError,
  type Node,
  type Operand,
  type Pipe,
  type Value,
} from './helm-template-parse.js'

export { TemplateError }

// ---------------------------------------------------------------- evaluation

export function truthy(v: Value): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false
  if (Array.isArray(v)) return v.length > 0
  if (typeof v === 'object') return Object.keys(v).length > 0
  return true
}

function print(v: Value): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v)
  throw new TemplateError(`cannot print a ${Array.isArray(v) ? 'list' : 'map'}; use toYaml`)
}

function indentLines(n: number, s: string): string {
  const pad = ' '.repeat(n)
  return s
    .split('\n')
    .map((l) => pad + l)
    .join('\n')
}

function toYaml(v: Value): string {
  if (v === null || v === undefined) return 'null'
  return stringify(v, { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, '')
}

function sprintf(format: string, args: Value[]): string {
  let i = 0
  return format.replace(/%[sdv%]/g, (m) => (m === '%%' ? '%' : print(args[i++])))
}

class Renderer {
  constructor(private readonly defines: Map<string, Node[]>) {}

  render(nodes: Node[], dot: Value, root: Value): string {
    let out = ''
    for (const n of nodes) {
      if (n.type === 'text') out += n.text
      else if (n.type === 'output') out += print(this.pipe(n.pipe, dot, root))
      else {
        const hit = n.branches.find((b) => truthy(this.pipe(b.cond, dot, root)))
        out += this.render(hit ? hit.body : n.otherwise, dot, root)
      }
    }
    return out
  }

  private operand(o: Operand, dot: Value, root: Value): Value {
    if (o.type === 'literal') return o.value
    if (o.type === 'sub') return this.pipe(o.pipe, dot, root)
    let v: Value = o.root === '$' ? root : dot
    for (const [i, key] of o.path.entries()) {
      if (v === null || v === undefined) {
        throw new TemplateError(`nil pointer evaluating .${o.path.slice(0, i + 1).join('.')}`)
      }
      if (typeof v !== 'object') throw new TemplateError(`cannot read .${key} of a ${typeof v}`)
      v = (v as Record<string, Value>)[key]
    }
    return v
  }

  private pipe(pipe: Pipe, dot: Value, root: Value): Value {
    let prev: Value
    let first = true
    for (const cmd of pipe) {
      const args = cmd.args.map((a) => this.operand(a, dot, root))
      if (!first) args.push(prev)
      first = false
      prev = cmd.fn === undefined ? args[0] : this.call(cmd.fn, args, root)
    }
    return prev
  }

  private call(fn: string, a: Value[], root: Value): Value {
    const str = (i: number): string => print(a[i])
    switch (fn) {
      case 'include': {
        const body = this.defines.get(str(0))
        if (!body) throw new TemplateError(`no template "${str(0)}"`)
        return this.render(body, a[1], root)
      }
      case 'required': // as Helm: nil and "" fail
        if (a[1] === null || a[1] === undefined || a[1] === '') throw new TemplateError(str(0))
        return a[1]
      case 'fail':
        throw new TemplateError(str(0))
      case 'default':
        return truthy(a[1]) ? a[1] : a[0]
      case 'quote': // sprig skips nil
        return a[0] === null || a[0] === undefined ? '' : JSON.stringify(print(a[0]))
      case 'toYaml':
        return toYaml(a[0])
      case 'nindent':
        return `\n${indentLines(Number(a[0]), str(1))}`
      case 'indent':
        return indentLines(Number(a[0]), str(1))
      case 'trunc':
        return str(1).slice(0, Number(a[0]))
      case 'trimSuffix':
        return str(1).endsWith(str(0)) ? str(1).slice(0, -str(0).length || undefined) : str(1)
      case 'contains':
        return str(1).includes(str(0))
      case 'b64enc':
        return Buffer.from(str(0), 'utf8').toString('base64')
      case 'sha256sum':
        return createHash('sha256').update(str(0)).digest('hex')
      case 'printf':
        return sprintf(str(0), a.slice(1))
      case 'not':
        return !truthy(a[0])
      case 'and':
        return a.find((v) => !truthy(v)) ?? a[a.length - 1]
      case 'or':
        return a.find((v) => truthy(v)) ?? a[a.length - 1]
      case 'eq':
        return a.slice(1).some((v) => v === a[0])
      default:
        throw new TemplateError(`function ${fn} is outside the chart's template subset`)
    }
  }
}

// ---------------------------------------------------------------- charts

/** Helm's values merge: maps merge recursively, anything else replaces, null deletes. */
export function mergeValues(base: Value, override: Value): Value {
  if (!isMap(base) || !isMap(override)) return override
  const out: Record<string, Value> = { ...base }
  for (const [k, v] of Object.entries(override)) {
    if (v === null) delete out[k]
    else out[k] = k in out ? mergeValues(out[k], v) : v
  }
  return out
}

function isMap(v: Value): v is Record<string, Value> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Renders a template string with the given defines (for tests of the renderer itself). */
export function renderString(source: string, dot: Value, extraDefines = ''): string {
  const defines = new Map<string, Node[]>()
  parse(lex(extraDefines, 'defines'), defines)
  const nodes = parse(lex(source, 'inline'), defines)
  return new Renderer(defines).render(nodes, dot, dot)
}

export interface RenderOptions {
  values?: Record<string, unknown>
  release?: { name?: string; namespace?: string }
}

export interface RenderedChart {
  /** Rendered text per template file (only files that produced output). */
  files: Map<string, string>
  /** Every Kubernetes object of the .yaml templates. */
  objects: Array<Record<string, unknown>>
  values: Record<string, unknown>
}

/** Renders a chart directory as `helm template` would (subset permitting). */
export function renderChart(dir: string, opts: RenderOptions = {}): RenderedChart {
  const chart = parseYaml(readFileSync(join(dir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>
  const defaults = parseYaml(readFileSync(join(dir, 'values.yaml'), 'utf8')) as Record<
    string,
    unknown
  >
  const values = mergeValues(defaults, opts.values ?? {}) as Record<string, unknown>
  const root = {
    Values: values,
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    Release: {
      Name: opts.release?.name ?? 'site-a',
      Namespace: opts.release?.namespace ?? 'default',
      Service: 'Helm',
    },
  }
  const tdir = join(dir, 'templates')
  const names = readdirSync(tdir).sort()
  const defines = new Map<string, Node[]>()
  // Parse every file first: a define may be used before the file defining it.
  const templates: Array<{ name: string; nodes: Node[] }> = []
  for (const name of names) {
    const nodes = parse(lex(readFileSync(join(tdir, name), 'utf8'), name), defines)
    if (!name.startsWith('_')) templates.push({ name, nodes })
  }
  const renderer = new Renderer(defines)
  const files = new Map<string, string>()
  const objects: Array<Record<string, unknown>> = []
  for (const { name, nodes } of templates) {
    const text = renderer.render(nodes, root, root)
    if (text.trim() === '') continue
    files.set(name, text)
    if (!name.endsWith('.yaml')) continue
    for (const doc of text.split(/^---\s*$/m)) {
      if (doc.trim() === '') continue
      const obj = parseYaml(doc, { uniqueKeys: true }) as unknown
      if (obj === null) continue
      if (!isMap(obj)) throw new TemplateError(`${name}: a document is not a mapping`)
      objects.push(obj)
    }
  }
  return { files, objects, values }
}

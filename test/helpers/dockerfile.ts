/**
 * A small Dockerfile parser for tests (no Docker engine runs here): enough of
 * the syntax to check instructions, stages, and COPY sources, and a
 * .dockerignore matcher with Docker's pattern rules (`*`, `?`, `**`, `!`).
 */

export const INSTRUCTIONS = new Set([
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
])

export interface Instruction {
  /** Upper-cased keyword. */
  keyword: string
  /** Everything after the keyword, continuation lines joined with a space. */
  args: string
  /** 1-based line where the instruction starts. */
  line: number
}

export interface Stage {
  /** The `AS` name, if any. */
  name: string | undefined
  image: string
  index: number
  instructions: Instruction[]
}

/** Splits a Dockerfile into instructions: comments dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i] ?? ''
    if (first.trim() === '' || first.trim().startsWith('#')) continue
    const start = i + 1
    let joined = first
    while (/\\\s*$/.test(joined) && i + 1 < lines.length) {
      joined = joined.replace(/\\\s*$/, ' ')
      i++
      const next = lines[i] ?? ''
      if (!next.trim().startsWith('#')) joined += next.trim()
    }
    const m = /^\s*(\S+)\s*(.*)$/.exec(joined)
    if (!m) continue
    out.push({ keyword: (m[1] ?? '').toUpperCase(), args: (m[2] ?? '').trim(), line: start })
  }
  return out
}

/** Groups instructions into build stages (each starting at FROM). */
export function stages(instructions: readonly Instruction[]): Stage[] {
  const out: Stage[] = []
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)
      if (!m) throw new Error(`line ${ins.line}: cannot parse FROM ${ins.args}`)
      out.push({
        image: m[1] ?? '',
        name: m[2]?.toLowerCase(),
        index: out.length,
        instructions: [],
      })
    } else {
      const current = out[out.length - 1]
      if (!current) throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`)
      current.instructions.push(ins)
    }
  }
  return out
}

/** The exec (JSON array) form of CMD/ENTRYPOINT/RUN, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined
  const v: unknown = JSON.parse(args)
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new Error(`not a JSON array of strings: ${args}`)
  }
  return v as string[]
}

export interface CopySpec {
  flags: Record<string, string>
  sources: string[]
  dest: string
}

/** `COPY [--flag=v]... src... dest` (shell form only; the JSON form is rejected). */
export function parseCopy(args: string): CopySpec {
  if (args.startsWith('[')) throw new Error('JSON-form COPY is not supported by this parser')
  const words = args.split(/\s+/)
  const flags: Record<string, string> = {}
  while (words[0]?.startsWith('--')) {
    const [k, v] = (words.shift() ?? '').slice(2).split('=')
    flags[k ?? ''] = v ?? ''
  }
  const dest = words.pop()
  if (dest === undefined || words.length === 0)
    throw new Error(`COPY needs sources and a destination: ${args}`)
  return { flags, sources: words, dest }
}

function globToRegExp(pattern: string): RegExp {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? ''
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` is zero or more whole directories; a trailing `**` is anything.
      i++
      if (pattern[i + 1] === '/') {
        re += '(?:.*/)?'
        i++
      } else re += '.*'
    } else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/**
 * True when `path` (relative to the context, `/`-separated) is excluded by
 * the .dockerignore text. A pattern also excludes everything below a matched
 * directory; the last matching pattern wins (`!` re-includes).
 */
export function isIgnored(dockerignore: string, path: string): boolean {
  const rules = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!')
      const p = (negate ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '')
      return { negate, re: globToRegExp(p) }
    })
  const clean = path.replace(/^\.?\/+/, '').replace(/\/+$/, '')
  const segments = clean.split('/')
  let ignored = false
  for (const r of rules) {
    for (let n = 1; n <= segments.length; n++) {
      if (r.re.test(segments.slice(0, n).join('/'))) {
        ignored = !r.negate
        break
      }
    }
  }
  return ignored
}

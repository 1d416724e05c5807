/**
 * Lexer and parser of the Go-template subset rendered by helm-template.ts
 * (see there for the subset). Test-only.
 */

export type Value = unknown

export type Node =
  | { type: 'text'; text: string }
  | { type: 'output'; pipe: Pipe }
  | { type: 'if'; branches: Array<{ cond: Pipe; body: Node[] }>; otherwise: Node[] }

export type Operand =
  | { type: 'field'; root: '.' | '$'; path: string[] }
  | { type: 'literal'; value: Value }
  | { type: 'sub'; pipe: Pipe }
export type Command = { fn: string; args: Operand[] } | { fn: undefined; args: [Operand] }
export type Pipe = Command[]

export class TemplateError extends Error {}

// ---------------------------------------------------------------- lexing

interface RawAction {
  text: string
  file: string
}
type Piece = { kind: 'text'; text: string } | { kind: 'action'; action: RawAction }

export function lex(source: string, file: string): Piece[] {
  const out: Piece[] = []
  let i = 0
  while (i < source.length) {
    const open = source.indexOf('{{', i)
    if (open < 0) {
      out.push({ kind: 'text', text: source.slice(i) })
      break
    }
    let text = source.slice(i, open)
    let start = open + 2
    if (source.startsWith('- ', start) || source.startsWith('-\n', start)) {
      text = text.replace(/\s+$/, '')
      start += 1
    }
    const close = source.indexOf('}}', start)
    if (close < 0) throw new TemplateError(`${file}: unclosed action`)
    let end = close
    let next = close + 2
    if (source[close - 1] === '-' && /\s/.test(source[close - 2] ?? '')) {
      end = close - 1
      const rest = source.slice(next)
      next += rest.length - rest.replace(/^\s+/, '').length
    }
    out.push({ kind: 'text', text })
    const body = source.slice(start, end).trim()
    if (!(body.startsWith('/*') && body.endsWith('*/'))) {
      out.push({ kind: 'action', action: { text: body, file } })
    }
    i = next
  }
  return out.filter((p) => p.kind === 'action' || p.text !== '')
}

type Token =
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'field'; root: '.' | '$'; path: string[] }
  | { t: 'ident'; v: string }
  | { t: '|' | '(' | ')' }

export function tokenize(src: string, where: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i] ?? ''
    if (/\s/.test(c)) {
      i++
    } else if (c === '"') {
      let j = i + 1
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1
      out.push({ t: 'str', v: JSON.parse(src.slice(i, j + 1)) as string })
      i = j + 1
    } else if (c === '|' || c === '(' || c === ')') {
      out.push({ t: c })
      i++
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?\d+/.exec(src.slice(i))
      if (!m) throw new TemplateError(`${where}: bad number`)
      out.push({ t: 'num', v: Number(m[0]) })
      i += m[0].length
    } else if (c === '.' || c === '$') {
      const m = /^[.$](?:[A-Za-z_][A-Za-z0-9_]*)?(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(src.slice(i))
      const word = m?.[0] ?? c
      const root = c === '$' ? '$' : '.'
      const rest = c === '$' ? word.slice(1) : word
      out.push({ t: 'field', root, path: rest.split('.').filter((p) => p !== '') })
      i += word.length
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))
      if (!m)
        throw new TemplateError(`${where}: unexpected '${c}' (outside the chart's template subset)`)
      out.push({ t: 'ident', v: m[0] })
      i += m[0].length
    }
  }
  return out
}

// ---------------------------------------------------------------- parsing

const FUNCTIONS = new Set([
  'include',
  'required',
  'fail',
  'default',
  'quote',
  'toYaml',
  'nindent',
  'indent',
  'trunc',
  'trimSuffix',
  'contains',
  'b64enc',
  'sha256sum',
  'printf',
  'not',
  'and',
  'or',
  'eq',
])

export function parsePipe(tokens: Token[], where: string): Pipe {
  let pos = 0
  const operand = (): Operand => {
    const tok = tokens[pos++]
    if (!tok) throw new TemplateError(`${where}: missing operand`)
    switch (tok.t) {
      case 'str':
      case 'num':
        return { type: 'literal', value: tok.v }
      case 'field':
        return { type: 'field', root: tok.root, path: tok.path }
      case 'ident':
        if (tok.v === 'true' || tok.v === 'false')
          return { type: 'literal', value: tok.v === 'true' }
        throw new TemplateError(`${where}: function ${tok.v} used as a value; wrap it in ( )`)
      case '(': {
        const inner = pipe(')')
        pos++ // ')'
        return { type: 'sub', pipe: inner }
      }
      default:
        throw new TemplateError(`${where}: unexpected ${tok.t}`)
    }
  }
  const pipe = (until?: ')'): Pipe => {
    const cmds: Pipe = []
    for (;;) {
      const tok = tokens[pos]
      if (!tok) throw new TemplateError(`${where}: empty command`)
      let cmd: Command
      if (tok.t === 'ident' && tok.v !== 'true' && tok.v !== 'false') {
        if (!FUNCTIONS.has(tok.v)) {
          throw new TemplateError(
            `${where}: function ${tok.v} is outside the chart's template subset`,
          )
        }
        pos++
        const args: Operand[] = []
        while (pos < tokens.length && tokens[pos]?.t !== '|' && tokens[pos]?.t !== ')')
          args.push(operand())
        cmd = { fn: tok.v, args }
      } else {
        cmd = { fn: undefined, args: [operand()] }
      }
      cmds.push(cmd)
      const next = tokens[pos]
      if (next?.t === '|') {
        pos++
        continue
      }
      if (next === undefined && until === undefined) return cmds
      if (next?.t === ')' && until === ')') return cmds
      throw new TemplateError(`${where}: unexpected token ${next ? next.t : 'end'}`)
    }
  }
  const result = pipe()
  return result
}

export function parse(pieces: Piece[], defines: Map<string, Node[]>): Node[] {
  let pos = 0
  const block = (terminators: string[]): { nodes: Node[]; ended: string } => {
    const nodes: Node[] = []
    while (pos < pieces.length) {
      const p = pieces[pos++] as Piece
      if (p.kind === 'text') {
        nodes.push({ type: 'text', text: p.text })
        continue
      }
      const { text, file } = p.action
      const where = `${file}: {{ ${text} }}`
      const word = /^(\w+)\b\s*(.*)$/s.exec(text)
      const keyword = word?.[1] ?? ''
      const rest = word?.[2] ?? ''
      if (keyword === 'end' || keyword === 'else') {
        if (!terminators.includes(keyword))
          throw new TemplateError(`${where}: unexpected ${keyword}`)
        pos-- // the caller reads the terminator
        return { nodes, ended: keyword }
      }
      if (keyword === 'if') {
        const first = block(['else', 'end'])
        const branches = [{ cond: parsePipe(tokenize(rest, where), where), body: first.nodes }]
        let otherwise: Node[] = []
        for (;;) {
          const term = (pieces[pos++] as { action: RawAction }).action.text
          if (term === 'end') break
          const elif = /^else\s+if\s+(.*)$/s.exec(term)
          if (elif) {
            const cond = parsePipe(tokenize(elif[1] ?? '', where), where)
            branches.push({ cond, body: block(['else', 'end']).nodes })
            continue
          }
          otherwise = block(['end']).nodes
          pos++ // end
          break
        }
        nodes.push({ type: 'if', branches, otherwise })
      } else if (keyword === 'define') {
        const name = JSON.parse(rest.trim()) as string
        const b = block(['end'])
        pos++
        defines.set(name, b.nodes)
      } else if (['range', 'with', 'block', 'template'].includes(keyword) || text.includes(':=')) {
        throw new TemplateError(
          `${where}: '${keyword || ':='}' is outside the chart's template subset`,
        )
      } else {
        nodes.push({ type: 'output', pipe: parsePipe(tokenize(text, where), where) })
      }
    }
    if (terminators.length > 0) throw new TemplateError(`missing {{ end }}`)
    return { nodes, ended: '' }
  }
  return block([]).nodes
}

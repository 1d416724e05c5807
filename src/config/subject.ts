/**
 * NATS subject rules as the server applies them to filters: tokens separated
 * by `.`, no empty tokens, no whitespace, `*` only as a whole token, `>` only
 * as the whole last token. Pure; used by config validation and health checks.
 */

/** Returns why `subject` is not a valid NATS subject filter, or null when it is. */
export function subjectProblem(subject: string): string | null {
  if (subject.length === 0) return 'must not be empty'
  if (/\s/.test(subject)) return 'must not contain whitespace'
  const tokens = subject.split('.')
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? ''
    if (t.length === 0) return "has an empty token (leading, trailing or double '.')"
    if (t.includes('*') && t !== '*') return "'*' must be a whole token"
    if (t.includes('>') && t !== '>') return "'>' must be a whole token"
    if (t === '>' && i !== tokens.length - 1) return "'>' is only allowed as the last token"
  }
  return null
}

/**
 * True when every subject matched by `filter` is also matched by `pattern`
 * (both valid NATS subjects, wildcards allowed), i.e. a stream listening on
 * `pattern` captures everything published on `filter`.
 */
export function subjectCovers(pattern: string, filter: string): boolean {
  const p = pattern.split('.')
  const f = filter.split('.')
  for (let i = 0; i < p.length; i++) {
    const pt = p[i]
    if (pt === '>') return i < f.length // '>' needs at least one more token
    const ft = f[i]
    if (ft === undefined) return false
    if (ft === '>') return false // filter reaches arbitrarily deep, pattern does not
    if (pt === '*') continue
    if (ft === '*' || ft !== pt) return false
  }
  return p.length === f.length
}

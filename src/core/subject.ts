/**
 * NATS subjects and subject filters: validation, matching, containment and
 * overlap. Subjects are `.`-separated tokens; in filters `*` matches exactly one
 * token and `>` (last token only) matches one or more tokens. Unlike the
 * original rhio, `>` is honoured everywhere.
 */

const WHITESPACE = /\s/

/** Why `s` is not a valid subject filter, or undefined when it is. */
export function subjectFilterError(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty'
  if (WHITESPACE.test(s)) return 'must not contain whitespace'
  const tokens = s.split('.')
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    if (t.length === 0) return "has an empty token (leading, trailing or double '.')"
    if (t !== '*' && t.includes('*')) return "'*' must be a whole token"
    if (t === '>' && i !== tokens.length - 1) return "'>' is only allowed as the last token"
    if (t !== '>' && t.includes('>')) return "'>' must be a whole token"
  }
  return undefined
}

/** Why `s` is not a valid literal (publishable) subject, or undefined. */
export function subjectError(s: string): string | undefined {
  const err = subjectFilterError(s)
  if (err) return err
  if (s.split('.').some((t) => t === '*' || t === '>'))
    return 'a message subject cannot contain wildcards'
  return undefined
}

/** Whether the literal `subject` is matched by `filter`. */
export function subjectMatches(filter: string, subject: string): boolean {
  if (filter === '>' || filter === subject) return true
  let fi = 0
  let si = 0
  const f = filter
  const s = subject
  for (;;) {
    const fEnd = f.indexOf('.', fi)
    const sEnd = s.indexOf('.', si)
    const ft = f.slice(fi, fEnd === -1 ? undefined : fEnd)
    if (ft === '>') return si <= s.length && s.length > 0
    const st = s.slice(si, sEnd === -1 ? undefined : sEnd)
    if (ft !== '*' && ft !== st) return false
    if (fEnd === -1 || sEnd === -1) return fEnd === -1 && sEnd === -1
    fi = fEnd + 1
    si = sEnd + 1
  }
}

/** Whether every subject matched by `inner` is also matched by `outer`. */
export function filterContains(outer: string, inner: string): boolean {
  const o = outer.split('.')
  const i = inner.split('.')
  for (let k = 0; k < o.length; k++) {
    const ot = o[k]!
    const it = i[k]
    if (it === undefined) return false
    if (ot === '>') return true
    if (it === '>') return false
    if (ot === '*') continue
    if (ot !== it) return false
  }
  return o.length === i.length
}

/** Whether some subject is matched by both filters. */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split('.')
  const y = b.split('.')
  for (let k = 0; k < x.length && k < y.length; k++) {
    const xt = x[k]!
    const yt = y[k]!
    if (xt === '>' || yt === '>') return true
    if (xt === '*' || yt === '*' || xt === yt) continue
    return false
  }
  return x.length === y.length
}

/** Whether `subject` matches any of `filters`. */
export function matchesAny(filters: readonly string[], subject: string): boolean {
  for (const f of filters) if (subjectMatches(f, subject)) return true
  return false
}

/** Whether each filter in `inner` is contained in some filter of `outer`. */
export function filtersCovered(outer: readonly string[], inner: readonly string[]): boolean {
  return inner.every((i) => outer.some((o) => filterContains(o, i)))
}

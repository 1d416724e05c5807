/**
 * "Did you mean …?" for mistyped commands and names: candidates within a
 * small edit distance (a transposition counts as one edit), or that the
 * input starts with or is the start of (`publish` → `pub`, `stat` → `status`).
 */

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, at(i - 2, j - 2) + 1)
      }
      const row = d[i]
      if (row) row[j] = v
    }
  }
  return at(a.length, b.length)
}

/** The candidates `input` most likely meant, best first (empty: none is close). */
export function suggest(input: string, candidates: readonly string[]): string[] {
  const x = input.toLowerCase()
  const scored = [...new Set(candidates)].flatMap((c) => {
    const y = c.toLowerCase()
    if (y === x) return []
    const distance = editDistance(x, y)
    const prefix = y.length >= 2 && (x.startsWith(y) || (x.length >= 2 && y.startsWith(x)))
    const close = distance <= Math.max(1, Math.floor(Math.max(x.length, y.length) / 3))
    return prefix || close ? [{ c, score: prefix ? Math.min(distance, 1) : distance }] : []
  })
  return scored.sort((a, b) => a.score - b.score).map((s) => s.c)
}

/** ` (did you mean X?)` or ` (did you mean X or Y?)`, or '' when nothing is close. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const s = suggest(input, candidates).slice(0, 2)
  return s.length === 0 ? '' : ` (did you mean ${s.join(' or ')}?)`
}

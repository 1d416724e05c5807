/**
 * Reads values out of a Prometheus text exposition (GET /metrics) in tests.
 */

/** Parses `a="x",b="y"` (values may contain escaped quotes). */
function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {}
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g
  for (let m = re.exec(s); m; m = re.exec(s)) {
    out[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_, c: string) =>
      c === 'n' ? '\n' : c,
    )
  }
  return out
}

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export function samples(text: string, name: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== '{' && rest[0] !== ' ') continue
    const close = rest[0] === '{' ? rest.lastIndexOf('}') : -1
    const labels = close > 0 ? parseLabels(rest.slice(1, close)) : {}
    const value = Number(rest.slice(close + 1).trim())
    out.push({ name, labels, value })
  }
  return out
}

/** Sum of every series of `name` whose labels include `labels` (0 when none). */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  return samples(text, name)
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0)
}

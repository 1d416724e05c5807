/**
 * Summarises a V8 CPU profile (a rhio process run with RHIO_CPU_PROFILE) by
 * self time per function and per file; used by the profiling benchmarks.
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

/** Self time shares by function and by file (top entries). */
export function summarise(file: string, top = 25): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[]
    samples: number[]
  }
  const total = p.samples.length
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const counts = new Map<number, number>()
  for (const s of p.samples) counts.set(s, (counts.get(s) ?? 0) + 1)
  const fn = new Map<string, number>()
  const fileShare = new Map<string, number>()
  for (const [id, c] of counts) {
    const n = byId.get(id)!
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'nm:')
    const short = url.replace(/.*\/dist\//, '')
    const name = `${n.callFrame.functionName || '(anon)'} ${short}:${n.callFrame.lineNumber + 1}`
    fn.set(name, (fn.get(name) ?? 0) + c)
    const f = short === '' ? `(${n.callFrame.functionName})` : short.split(':')[0]!
    fileShare.set(f, (fileShare.get(f) ?? 0) + c)
  }
  const pct = (c: number): string => `${((100 * c) / total).toFixed(1).padStart(5)} %`
  const lines = [`${file}: ${total} samples`, '  by function:']
  for (const [k, c] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`    ${pct(c)}  ${k}`)
  lines.push('  by file:')
  for (const [k, c] of [...fileShare].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`    ${pct(c)}  ${k}`)
  return lines.join('\n')
}

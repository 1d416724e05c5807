/**
 * Walks the configuration schema to list its keys. Used to suggest the right
 * key for an unknown one, and by tests that check config.example.yaml and
 * docs/CONFIG.md mention every key.
 */
import type { z } from 'zod'
import { configSchema } from './schema.js'

interface Def {
  type: string
  shape?: Record<string, z.ZodType>
  element?: z.ZodType
  innerType?: z.ZodType
  in?: z.ZodType
  schema?: z.ZodType
}

export function defOf(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def
}

/** Strips wrappers (default, optional, refinements, transforms) down to the core schema. */
export function unwrap(s: z.ZodType): z.ZodType {
  for (let i = 0; i < 16; i++) {
    const d = defOf(s)
    const inner = d.innerType ?? (d.type === 'pipe' ? d.in : undefined)
    if (!inner) return s
    s = inner
  }
  return s
}

/** Object keys the schema accepts at a parsed path (numbers index arrays). */
export function keysAt(path: readonly PropertyKey[]): string[] {
  let s: z.ZodType = configSchema
  for (const seg of path) {
    const d = defOf(unwrap(s))
    if (typeof seg === 'number') {
      if (d.type !== 'array' || !d.element) return []
      s = d.element
    } else {
      const next = d.shape?.[String(seg)]
      if (!next) return []
      s = next
    }
  }
  const d = defOf(unwrap(s))
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : []
}

/**
 * Every key path of the schema, e.g. `nats.credentials.token` and
 * `subscribe.s3_buckets[].delete` (objects inside lists are marked `[]`).
 */
export function schemaKeyPaths(): string[] {
  const out: string[] = []
  const walk = (s: z.ZodType, prefix: string): void => {
    const d = defOf(unwrap(s))
    if (d.type === 'array' && d.element) {
      walk(d.element, `${prefix}[]`)
      return
    }
    if (d.type !== 'object' || !d.shape) return
    for (const [k, v] of Object.entries(d.shape)) {
      const p = prefix === '' ? k : `${prefix}.${k}`
      out.push(p)
      walk(v, p)
    }
  }
  walk(configSchema, '')
  return out
}

/** The closest known key to `key`, when it is close enough to be a likely typo. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDist = Infinity
  for (const k of known) {
    const d = distance(key.toLowerCase(), k)
    if (d < bestDist) {
      best = k
      bestDist = d
    }
  }
  const limit = Math.max(2, Math.floor(key.length / 3))
  if (best !== undefined && bestDist <= limit) return best
  // A key missing a word, e.g. `http_port` for `http_bind_port`.
  const words = key.toLowerCase().split('_')
  return known.find((k) => {
    const kw = k.split('_')
    return words.length > 1 && words.every((w) => kw.includes(w))
  })
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost)
    }
    prev = cur
  }
  return prev[b.length] ?? 0
}

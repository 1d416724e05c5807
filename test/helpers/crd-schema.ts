/**
 * Checks a value against the subset of OpenAPI v3 schema that the original
 * operator's CustomResourceDefinitions use (type, enum, required, properties,
 * items, nullable, minimum): what a Kubernetes API server would refuse when
 * the operator writes /health back into a resource's status. Unknown fields
 * are allowed (the operator ignores them; the API server prunes them).
 */
export interface CrdSchema {
  type?: string
  enum?: unknown[]
  required?: string[]
  properties?: Record<string, CrdSchema>
  items?: CrdSchema
  nullable?: boolean
  minimum?: number
}

/** Every violation of `schema` by `value`, as `path: problem`. */
export function crdViolations(schema: CrdSchema, value: unknown, path = '$'): string[] {
  if (value === null || value === undefined) {
    return schema.nullable === true ? [] : [`${path}: is ${String(value)}, not nullable`]
  }
  const out: string[] = []
  const type = Array.isArray(value) ? 'array' : typeof value
  switch (schema.type) {
    case 'object':
      if (type !== 'object') return [`${path}: must be an object (got ${type})`]
      break
    case 'array':
      if (type !== 'array') return [`${path}: must be an array (got ${type})`]
      break
    case 'string':
      if (type !== 'string') return [`${path}: must be a string (got ${type})`]
      break
    case 'integer':
      if (!Number.isInteger(value)) return [`${path}: must be an integer (got ${String(value)})`]
      if (schema.minimum !== undefined && (value as number) < schema.minimum)
        out.push(`${path}: must be at least ${schema.minimum}`)
      break
    case undefined:
      break
    default:
      if (type !== schema.type) return [`${path}: must be ${schema.type} (got ${type})`]
  }
  if (schema.enum && !schema.enum.includes(value))
    out.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`)
  if (schema.type === 'object') {
    const obj = value as Record<string, unknown>
    for (const r of schema.required ?? []) if (!(r in obj)) out.push(`${path}.${r}: is required`)
    for (const [k, sub] of Object.entries(schema.properties ?? {}))
      if (k in obj) out.push(...crdViolations(sub, obj[k], `${path}.${k}`))
  }
  if (schema.type === 'array' && schema.items) {
    const items = schema.items
    ;(value as unknown[]).forEach((v, i) => out.push(...crdViolations(items, v, `${path}[${i}]`)))
  }
  return out
}

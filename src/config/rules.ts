/**
 * Rules that span several entries of the configuration (the original rhio's
 * semantic checks, one fixed). They read the raw input defensively so they
 * report alongside the per-field schema violations, all at once.
 */
import type { Config } from './schema.js'

export interface Violation {
  /** YAML path such as `subscribe.nats_subjects[2].public_key`; '' for the whole file. */
  path: string
  message: string
}

type Entry = Record<string, unknown>

function entries(raw: unknown, section: string, key: string): Array<Entry | string | undefined> {
  if (typeof raw !== 'object' || raw === null) return []
  const sec = (raw as Entry)[section]
  if (typeof sec !== 'object' || sec === null) return []
  const list = (sec as Entry)[key]
  return Array.isArray(list) ? (list as Array<Entry | string | undefined>) : []
}

function field(e: Entry | string | undefined, name: string): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined
  const v = e[name]
  return typeof v === 'string' ? v : undefined
}

/** Cross-entry rules of the original rhio (§2.3), except the one-bucket-per-key rule. */
export function crossEntryViolations(raw: unknown): Violation[] {
  const out: Violation[] = []

  const published = new Map<string, number>()
  entries(raw, 'publish', 's3_buckets').forEach((b, i) => {
    if (typeof b !== 'string') return
    const first = published.get(b)
    if (first !== undefined) {
      out.push({
        path: `publish.s3_buckets[${i}]`,
        message: `bucket '${b}' is already published (publish.s3_buckets[${first}])`,
      })
    } else published.set(b, i)
  })

  const subjectStream = new Map<string, { stream: string; index: number }>()
  entries(raw, 'publish', 'nats_subjects').forEach((e, i) => {
    const subject = field(e, 'subject')
    const stream = field(e, 'stream')
    if (subject === undefined || stream === undefined) return
    const first = subjectStream.get(subject)
    if (first === undefined) subjectStream.set(subject, { stream, index: i })
    else if (first.stream !== stream) {
      out.push({
        path: `publish.nats_subjects[${i}].subject`,
        message:
          `subject '${subject}' is already published from stream '${first.stream}' ` +
          `(publish.nats_subjects[${first.index}]); publish a subject from one stream only`,
      })
    }
  })

  const localBuckets = new Map<string, number>()
  entries(raw, 'subscribe', 's3_buckets').forEach((e, i) => {
    const local = field(e, 'local_bucket')
    if (local === undefined) return
    const path = `subscribe.s3_buckets[${i}].local_bucket`
    const pub = published.get(local)
    if (pub !== undefined) {
      out.push({
        path,
        message:
          `bucket '${local}' is also published (publish.s3_buckets[${pub}]); ` +
          'a local bucket cannot be both published and downloaded into',
      })
    }
    const first = localBuckets.get(local)
    if (first !== undefined) {
      out.push({
        path,
        message:
          `bucket '${local}' is already the local bucket of subscribe.s3_buckets[${first}]; ` +
          'give each subscription its own local bucket',
      })
    } else localBuckets.set(local, i)
  })

  return out
}

/** Subscribing to the node's own key (the original panicked); needs the loaded key. */
export function ownKeyViolations(config: Config, publicKeyHex: string): Violation[] {
  const own = publicKeyHex.toLowerCase()
  const out: Violation[] = []
  const msg = "is this node's own public key; a node cannot subscribe to itself"
  config.subscribe.s3_buckets.forEach((s, i) => {
    if (s.public_key === own)
      out.push({ path: `subscribe.s3_buckets[${i}].public_key`, message: msg })
  })
  config.subscribe.nats_subjects.forEach((s, i) => {
    if (s.public_key === own) {
      out.push({ path: `subscribe.nats_subjects[${i}].public_key`, message: msg })
    }
  })
  return out
}

import { StoreErrorCode, storeError } from './errors.js'

/**
 * The meta object `.rhio/<key>.rhio.json`, field for field as the original
 * rhio writes it (`rhio-blobs/src/bao_file.rs::BaoMeta`), followed by our
 * optional additions. Field order matters: encodeBaoMeta writes them in this
 * order so Rust and TS nodes produce the same bytes.
 */
export interface BaoMeta {
  /** BLAKE3 of the data as iroh's 52-character lowercase base32. */
  hash: string
  /** Data size in bytes. */
  size: number
  /** False while a download is in progress. */
  complete: boolean
  /** The data object's key (on the author's node and here: the same). */
  key: string
  /** The bucket the object came from on its author's node (own imports: this bucket). */
  remote_bucket_name: string
  /** Author's Ed25519 public key, 64 lowercase hex; only for downloaded blobs. */
  public_key?: string
  /** Author's signature over the announcement, 128 lowercase hex; only with public_key. */
  signature?: string
  /** New: the author's log sequence number of this version. */
  seq?: number
  /** New: the data object's ETag when it was imported or written. */
  etag?: string
  /** New: true for a tombstone (the data object was deleted by its author). */
  deleted?: boolean
  /** New: the epoch of the author's blob log that `seq` belongs to. */
  epoch?: number
}

/** Field order of the JSON object (the original's seven, then ours). */
const FIELDS = [
  'hash',
  'size',
  'complete',
  'key',
  'remote_bucket_name',
  'public_key',
  'signature',
  'seq',
  'etag',
  'deleted',
  'epoch',
] as const satisfies readonly (keyof BaoMeta)[]

const BASE32_HASH = /^[a-z2-7]{52}$/
const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/

/**
 * Pretty JSON (2-space indent, no trailing newline) exactly as serde_json's
 * `to_vec_pretty` writes the original struct; absent optional fields are left
 * out. Throws S3_META_INVALID if `meta` would not decode again.
 */
export function encodeBaoMeta(meta: BaoMeta): Uint8Array {
  const checked = validate(meta)
  const ordered: Record<string, unknown> = {}
  for (const f of FIELDS) if (checked[f] !== undefined) ordered[f] = checked[f]
  return new TextEncoder().encode(JSON.stringify(ordered, null, 2))
}

/**
 * Parses and validates a meta object. Unknown fields are ignored (a newer
 * writer may add some; like serde's default) and not kept. Throws a RhioError
 * S3_META_INVALID naming the problem for anything else.
 */
export function decodeBaoMeta(bytes: Uint8Array | string): BaoMeta {
  let value: unknown
  try {
    const text =
      typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    value = JSON.parse(text)
  } catch (err) {
    throw storeError(StoreErrorCode.META_INVALID, 'meta is not UTF-8 JSON', err)
  }
  return validate(value)
}

function validate(value: unknown): BaoMeta {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('is not a JSON object')
  }
  const v = value as Record<string, unknown>
  const meta: BaoMeta = {
    hash: field(
      v,
      'hash',
      (x) => typeof x === 'string' && BASE32_HASH.test(x),
      'a 52-char base32 hash',
    ),
    size: field(v, 'size', isCount, 'a non-negative integer'),
    complete: field(v, 'complete', (x) => typeof x === 'boolean', 'a boolean'),
    key: field(v, 'key', (x) => typeof x === 'string' && x !== '', 'a non-empty string'),
    remote_bucket_name: field(v, 'remote_bucket_name', (x) => typeof x === 'string', 'a string'),
  }
  const publicKey = optional(
    v,
    'public_key',
    (x) => typeof x === 'string' && HEX64.test(x),
    '64 hex',
  )
  const signature = optional(
    v,
    'signature',
    (x) => typeof x === 'string' && HEX128.test(x),
    '128 hex',
  )
  if ((publicKey === undefined) !== (signature === undefined)) {
    throw invalid('has only one of public_key and signature')
  }
  if (publicKey !== undefined) meta.public_key = publicKey
  if (signature !== undefined) meta.signature = signature
  const seq = optional(v, 'seq', isCount, 'a non-negative integer')
  if (seq !== undefined) meta.seq = seq
  const etag = optional(v, 'etag', (x) => typeof x === 'string', 'a string')
  if (etag !== undefined) meta.etag = etag
  const deleted = optional(v, 'deleted', (x) => typeof x === 'boolean', 'a boolean')
  if (deleted !== undefined) meta.deleted = deleted
  const epoch = optional(
    v,
    'epoch',
    (x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0,
    'a non-negative integer',
  )
  if (epoch !== undefined) meta.epoch = epoch
  return meta
}

function field<K extends keyof BaoMeta>(
  v: Record<string, unknown>,
  name: K,
  ok: (x: unknown) => boolean,
  expected: string,
): NonNullable<BaoMeta[K]> {
  if (!Object.hasOwn(v, name)) throw invalid(`lacks "${name}"`)
  if (!ok(v[name])) throw invalid(`field "${name}" is not ${expected}`)
  return v[name] as NonNullable<BaoMeta[K]>
}

function optional<K extends keyof BaoMeta>(
  v: Record<string, unknown>,
  name: K,
  ok: (x: unknown) => boolean,
  expected: string,
): BaoMeta[K] | undefined {
  // serde reads `null` for an Option as None; so do we.
  return v[name] === undefined || v[name] === null ? undefined : field(v, name, ok, expected)
}

function isCount(x: unknown): boolean {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
}

function invalid(problem: string): Error {
  return storeError(StoreErrorCode.META_INVALID, `meta ${problem}`)
}

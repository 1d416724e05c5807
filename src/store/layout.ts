/**
 * rhio's object layout inside a bucket, byte-compatible with the original
 * rhio (`rhio-blobs/src/paths.rs`). For a data object with key K:
 *
 *   K                      the data itself, untouched
 *   .rhio/K.rhio.json      meta (BaoMeta JSON, see meta.ts)
 *   .rhio/K.rhio.bao4      bao pre-order outboard (16 KiB chunk groups)
 *
 * Data and rhio's own objects share the bucket; isInternalKey tells them apart
 * so internal objects are never imported or replicated as data.
 */
export const RHIO_PREFIX = '.rhio/'
export const META_SUFFIX = '.rhio.json'
export const OUTBOARD_SUFFIX = '.rhio.bao4'
/** Content type of meta objects (as written by the original). */
export const META_CONTENT_TYPE = 'application/json'

export interface BlobKeys {
  data: string
  meta: string
  outboard: string
}

/**
 * True for keys that belong to rhio rather than to users: anything under
 * `.rhio/`, and (as the original's watcher does) any key ending in
 * `.rhio.json` or `.rhio.bao4` wherever it is.
 */
export function isInternalKey(key: string): boolean {
  return key.startsWith(RHIO_PREFIX) || key.endsWith(META_SUFFIX) || key.endsWith(OUTBOARD_SUFFIX)
}

/**
 * The keys of a data object and its meta and outboard. Throws RangeError for
 * an internal key: such keys never have metadata of their own. (The original
 * instead deleted every `.rhio/` substring from the key; we refuse them.)
 */
export function blobKeys(key: string): BlobKeys {
  if (key === '' || isInternalKey(key)) {
    throw new RangeError(`${JSON.stringify(key)} is not a data key`)
  }
  return { data: key, meta: metaKey(key), outboard: outboardKey(key) }
}

/** Longest key S3 allows, in bytes. */
export const MAX_ANNOUNCED_KEY_BYTES = 1024

/**
 * Why an object key announced by a peer must not be written, whatever the
 * store: every store gets the same rule, so a server or proxy that resolves
 * dot segments cannot be steered into another bucket, and rhio's own
 * `.rhio/` objects cannot be overwritten. Undefined when the key is fine.
 * (Stores may refuse more: the directory store cannot hold `a` next to `a/b`.)
 */
export function announcedKeyProblem(key: string): string | undefined {
  if (key === '') return 'is empty'
  if (Buffer.byteLength(key) > MAX_ANNOUNCED_KEY_BYTES)
    return `is longer than ${MAX_ANNOUNCED_KEY_BYTES} bytes`
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'contains control characters'
  if (isInternalKey(key)) return "is one of rhio's own (.rhio/ or a .rhio.json/.rhio.bao4 name)"
  if (key.startsWith('/')) return "starts with '/'"
  // a trailing '/' is an S3 folder marker: fine where the store can hold it
  const segments = (key.endsWith('/') ? key.slice(0, -1) : key).split('/')
  if (segments.some((s) => s === '' || s === '.' || s === '..'))
    return "has an empty, '.' or '..' path segment"
  return undefined
}

export function metaKey(key: string): string {
  return `${RHIO_PREFIX}${dataKey(key)}${META_SUFFIX}`
}

export function outboardKey(key: string): string {
  return `${RHIO_PREFIX}${dataKey(key)}${OUTBOARD_SUFFIX}`
}

/** The data key a meta key belongs to, or undefined if `key` is not a meta key. */
export function dataKeyOfMeta(key: string): string | undefined {
  return strip(key, META_SUFFIX)
}

/** The data key an outboard key belongs to, or undefined if `key` is not an outboard key. */
export function dataKeyOfOutboard(key: string): string | undefined {
  return strip(key, OUTBOARD_SUFFIX)
}

function strip(key: string, suffix: string): string | undefined {
  if (!key.startsWith(RHIO_PREFIX) || !key.endsWith(suffix)) return undefined
  const data = key.slice(RHIO_PREFIX.length, key.length - suffix.length)
  return data === '' || isInternalKey(data) ? undefined : data
}

function dataKey(key: string): string {
  if (key === '' || isInternalKey(key)) {
    throw new RangeError(`${JSON.stringify(key)} is not a data key`)
  }
  return key
}

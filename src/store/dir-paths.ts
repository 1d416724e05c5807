import { lstat } from 'node:fs/promises'
import { join } from 'node:path'
import { MAX_KEY_BYTES } from './constants.js'
import { StoreErrorCode, storeError } from './errors.js'
import type { RhioError } from '../errors/index.js'

/**
 * The directory inside every bucket that DirObjectStore keeps for itself:
 * temp files (`tmp/`), ETag sidecars (`etags/`) and staged multipart uploads
 * (`multipart/<uploadId>/`). `list` never shows it and keys under it are rejected.
 */
export const STORE_DIR = '.rhio-dirstore'

/** Longest file name most filesystems accept, in bytes. */
const MAX_SEGMENT_BYTES = 255

/** The bucket's directory, or S3_INVALID_KEY for a name that is not one path segment. */
export function bucketDir(root: string, bucket: string): string {
  if (
    bucket === '' ||
    bucket.startsWith('.') ||
    /[/\\\0]/.test(bucket) ||
    Buffer.byteLength(bucket) > MAX_SEGMENT_BYTES
  ) {
    throw storeError(
      StoreErrorCode.INVALID_KEY,
      `bucket name ${JSON.stringify(bucket)} is not usable`,
    )
  }
  return join(root, bucket)
}

/**
 * The file of `key` inside the bucket directory. Keys map to relative paths,
 * so a key must be a sequence of non-empty `/`-separated segments other than
 * `.` and `..`: keys that S3 allows but a filesystem cannot hold (`a//b`,
 * `dir/` folder markers, `a` next to `a/b`) fail with S3_INVALID_KEY.
 */
export function objectPath(dir: string, key: string): string {
  const problem = keyProblem(key)
  if (problem) throw invalidKey(key, problem)
  return join(dir, ...key.split('/'))
}

/**
 * S3_INVALID_KEY when a path segment of `key` inside the bucket directory is a
 * symbolic link: the store never reads or writes through one, so a link in a
 * bucket (`b/link -> /outside`) cannot expose or overwrite files elsewhere.
 * (The bucket directory itself may be a link: where a bucket lives is the
 * operator's choice.) Segments that do not exist yet are fine.
 */
export async function refuseSymlinks(dir: string, key: string): Promise<void> {
  let path = dir
  for (const segment of key.split('/')) {
    path = join(path, segment)
    let link: boolean
    try {
      link = (await lstat(path)).isSymbolicLink()
    } catch (err) {
      if (isMissing(err)) return
      throw mapFsError(err, `lstat ${key}`)
    }
    if (link) throw invalidKey(key, 'passes through a symbolic link in the bucket directory')
  }
}

/** True if `key` can be stored (objectPath would not throw). */
export function isStorableKey(key: string): boolean {
  return keyProblem(key) === undefined
}

export function invalidKey(key: string, problem: string): RhioError {
  return storeError(StoreErrorCode.INVALID_KEY, `key ${JSON.stringify(key)} ${problem}`)
}

function keyProblem(key: string): string | undefined {
  if (key === '') return 'is empty'
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`
  if (key.includes('\0')) return 'contains NUL'
  const segments = key.split('/')
  if (segments[0] === STORE_DIR) return `is inside the store's own ${STORE_DIR}/ directory`
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..') return 'has an empty, "." or ".." path segment'
    if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES) {
      return `has a path segment longer than ${MAX_SEGMENT_BYTES} bytes`
    }
  }
  return undefined
}

/** Where the store keeps its own data inside a bucket directory. */
export function storePaths(dir: string): { tmp: string; etags: string; multipart: string } {
  const base = join(dir, STORE_DIR)
  return { tmp: join(base, 'tmp'), etags: join(base, 'etags'), multipart: join(base, 'multipart') }
}

/** The errno code of a Node fs error, if any. */
export function errno(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined
}

/** True for errors meaning "nothing at this path" (including a file where a directory was expected). */
export function isMissing(err: unknown): boolean {
  const code = errno(err)
  return code === 'ENOENT' || code === 'ENOTDIR'
}

/** Maps an unexpected fs error to a coded store error. */
export function mapFsError(err: unknown, what: string): RhioError {
  const code = errno(err)
  const message = `${what}: ${err instanceof Error ? err.message : String(err)}`
  if (code === 'EACCES' || code === 'EPERM')
    return storeError(StoreErrorCode.ACCESS_DENIED, message, err)
  if (code === 'ENAMETOOLONG') return storeError(StoreErrorCode.INVALID_KEY, message, err)
  return storeError(StoreErrorCode.ERROR, message, err)
}

import { createReadStream } from 'node:fs'
import { mkdir, open, readdir, rm, stat, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { RhioError } from '../errors/index.js'
import { assertLength, destroyOnAbort, emptyBody, exactLengthBody } from './body.js'
import { EtagIndex } from './dir-etags.js'
import { moveIntoPlace, pruneEmptyParents, writeTemp, type TempFile } from './dir-files.js'
import {
  assemble,
  createUpload,
  listUploads,
  stagePart,
  stagedParts,
  uploadDir,
} from './dir-multipart.js'
import {
  STORE_DIR,
  bucketDir,
  errno,
  isMissing,
  isStorableKey,
  mapFsError,
  objectPath,
  refuseSymlinks,
  storePaths,
} from './dir-paths.js'
import { StoreErrorCode, storeError, throwIfAborted } from './errors.js'
import type {
  BodySource,
  BucketStatus,
  CompletedPart,
  GetOptions,
  GetResult,
  ListOptions,
  ObjectInfo,
  ObjectStore,
  OpenUpload,
  PutBody,
  PutOptions,
  SignalOptions,
} from './object-store.js'
import { checkPartNumber, checkRange } from './range.js'

export interface DirObjectStoreInit {
  /** The directory whose subdirectories are the buckets. */
  root: string
  /** fsync every written object before it becomes visible (survives power loss); default false. */
  fsync?: boolean
}

/**
 * ObjectStore on a local directory, with S3's semantics: a bucket is a
 * subdirectory of `root` that must already exist; a key is a relative path
 * (`/` separates directories); writes are atomic (temp file + rename); ETags
 * are S3's (quoted MD5, or `"<md5 of part md5s>-N"` after multipart); list
 * returns keys in UTF-8 byte order. The store's own files live in
 * `<bucket>/.rhio-dirstore/`, hidden from list. Content types are not kept.
 * The embedded default store when no `s3` is configured (demo, tests).
 *
 * Limits: keys a filesystem cannot hold fail with S3_INVALID_KEY (see
 * objectPath); list holds one bucket's matching keys (strings) in memory to
 * sort them; a file rewritten in place by hand with the same size and mtime
 * keeps its old ETag; temp files of a killed process stay in
 * `.rhio-dirstore/tmp/`. Without `fsync`, a crashed process never leaves a
 * partial object, but a power loss may.
 */
export class DirObjectStore implements ObjectStore {
  readonly name: string
  private readonly root: string
  private readonly fsync: boolean
  private readonly etags = new EtagIndex()

  constructor(init: DirObjectStoreInit) {
    this.root = init.root
    this.fsync = init.fsync ?? false
    this.name = `dir ${init.root}`
  }

  /** Creates a bucket directory (S3 buckets are made by their owner, not by rhio; for demos and tests). */
  async createBucket(bucket: string): Promise<void> {
    await mkdir(bucketDir(this.root, bucket), { recursive: true })
  }

  async checkBucket(bucket: string, opts: SignalOptions = {}): Promise<BucketStatus> {
    throwIfAborted(opts.signal)
    try {
      await this.bucket(bucket)
      return { ok: true }
    } catch (err) {
      if (err instanceof RhioError) return { ok: false, error: err }
      throw err
    }
  }

  async bucketExists(bucket: string, opts: SignalOptions = {}): Promise<boolean> {
    const status = await this.checkBucket(bucket, opts)
    if (status.ok) return true
    if (status.error.code === StoreErrorCode.NO_SUCH_BUCKET) return false
    throw status.error
  }

  async *list(bucket: string, opts: ListOptions = {}): AsyncIterable<ObjectInfo> {
    const dir = await this.bucket(bucket)
    const prefix = opts.prefix ?? ''
    const slash = prefix.lastIndexOf('/')
    const startRel = slash < 0 ? '' : prefix.slice(0, slash + 1)
    const keys: string[] = []
    await collectKeys(dir, startRel, prefix, keys, opts.signal)
    keys.sort(compareUtf8)
    for (const key of keys) {
      throwIfAborted(opts.signal)
      const info = await this.infoOf(dir, key)
      if (info) yield info
    }
  }

  async head(
    bucket: string,
    key: string,
    opts: SignalOptions = {},
  ): Promise<ObjectInfo | undefined> {
    throwIfAborted(opts.signal)
    const dir = await this.bucket(bucket)
    objectPath(dir, key) // validates the key
    return this.infoOf(dir, key, true)
  }

  async get(bucket: string, key: string, opts: GetOptions = {}): Promise<GetResult> {
    const { start, end } = checkRange(opts)
    throwIfAborted(opts.signal)
    const dir = await this.bucket(bucket)
    const path = objectPath(dir, key)
    await refuseSymlinks(dir, key)
    const what = `get ${bucket}/${key}`
    const fh = await openFile(path)
    if (!fh) throw storeError(StoreErrorCode.NO_SUCH_KEY, `${what}: no such key`)
    try {
      const st = await fh.stat()
      const info = {
        key,
        size: st.size,
        etag: await this.etags.etagOf(dir, key, fh, st),
        lastModified: st.mtime,
      }
      const stop = Math.min(end ?? st.size, st.size)
      const wholeObject = start === 0 && end === undefined
      if (end === start || wholeObject ? start > st.size : start >= st.size) {
        throw storeError(
          StoreErrorCode.INVALID_RANGE,
          `${what}: range starts at ${start}, size ${st.size}`,
        )
      }
      if (stop === start) {
        await fh.close()
        return { body: emptyBody(), info, start, end: start }
      }
      const body = createReadStream(path, { fd: fh, start, end: stop - 1, autoClose: true })
      destroyOnAbort(body, opts.signal)
      return { body, info, start, end: stop }
    } catch (err) {
      await fh.close()
      throw err instanceof RhioError ? err : mapFsError(err, what)
    }
  }

  async put(bucket: string, key: string, body: PutBody, opts: PutOptions = {}): Promise<string> {
    const dir = await this.bucket(bucket)
    const path = objectPath(dir, key)
    await refuseSymlinks(dir, key)
    const source = body instanceof Uint8Array ? body : body.stream
    const length = body instanceof Uint8Array ? body.byteLength : lengthOf(body.length)
    const tmp = await this.writeBody(dir, source, length, `put ${bucket}/${key}`, opts.signal)
    return this.publish(dir, key, path, tmp, `"${tmp.md5.toString('hex')}"`)
  }

  async createMultipart(bucket: string, key: string, opts: PutOptions = {}): Promise<string> {
    throwIfAborted(opts.signal)
    const dir = await this.bucket(bucket)
    objectPath(dir, key)
    await refuseSymlinks(dir, key)
    return createUpload(storePaths(dir).multipart, key)
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: BodySource | Uint8Array,
    length: number,
    opts: SignalOptions = {},
  ): Promise<string> {
    checkPartNumber(partNumber)
    const dir = await this.bucket(bucket)
    const staging = await uploadDir(storePaths(dir).multipart, uploadId, key)
    const what = `upload part ${partNumber} of ${bucket}/${key}`
    const tmp = await this.writeBody(dir, body, lengthOf(length), what, opts.signal)
    return stagePart(staging, partNumber, tmp)
  }

  async completeMultipart(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
    opts: SignalOptions = {},
  ): Promise<string> {
    const dir = await this.bucket(bucket)
    const path = objectPath(dir, key)
    await refuseSymlinks(dir, key)
    const staging = await uploadDir(storePaths(dir).multipart, uploadId, key)
    const { files, etag } = assemble(parts, await stagedParts(staging))
    const what = `complete multipart ${bucket}/${key}`
    const tmp = await this.writeTemp(dir, concatFiles(files), what, opts.signal)
    await this.publish(dir, key, path, tmp, etag)
    await rm(staging, { recursive: true, force: true })
    return etag
  }

  /** Removes the staged parts; an unknown upload id is "nothing to do". */
  async abortMultipart(
    bucket: string,
    key: string,
    uploadId: string,
    opts: SignalOptions = {},
  ): Promise<void> {
    throwIfAborted(opts.signal)
    const dir = await this.bucket(bucket)
    try {
      await rm(await uploadDir(storePaths(dir).multipart, uploadId, key), {
        recursive: true,
        force: true,
      })
    } catch (err) {
      if (err instanceof RhioError && err.code === StoreErrorCode.NO_SUCH_UPLOAD) return
      throw err
    }
  }

  async listMultipart(
    bucket: string,
    key: string,
    opts: SignalOptions = {},
  ): Promise<OpenUpload[]> {
    throwIfAborted(opts.signal)
    const dir = await this.bucket(bucket)
    objectPath(dir, key)
    return listUploads(storePaths(dir).multipart, key)
  }

  async delete(bucket: string, key: string, opts: SignalOptions = {}): Promise<void> {
    throwIfAborted(opts.signal)
    const dir = await this.bucket(bucket)
    const path = objectPath(dir, key)
    await refuseSymlinks(dir, key)
    try {
      await unlink(path)
    } catch (err) {
      // Missing, or a directory (a prefix of other keys, not an object): nothing to delete.
      if (!isMissing(err) && errno(err) !== 'EISDIR' && errno(err) !== 'EPERM') {
        throw mapFsError(err, `delete ${bucket}/${key}`)
      }
    }
    await this.etags.forget(dir, key)
    await pruneEmptyParents(path, dir)
  }

  async close(): Promise<void> {}

  /** The bucket's directory, or S3_NO_SUCH_BUCKET / S3_ACCESS_DENIED / S3_INVALID_KEY. */
  private async bucket(bucket: string): Promise<string> {
    const dir = bucketDir(this.root, bucket)
    try {
      if ((await stat(dir)).isDirectory()) return dir
    } catch (err) {
      if (!isMissing(err)) throw mapFsError(err, `bucket ${bucket}`)
    }
    throw storeError(StoreErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket} (no directory ${dir})`)
  }

  /**
   * Info of the regular file at `key`, or undefined if there is none. A poll
   * costs one stat per object while the ETag is cached; the file is opened
   * (and hashed at most once) only when it is not.
   */
  private async infoOf(
    dir: string,
    key: string,
    checkLinks = false,
  ): Promise<ObjectInfo | undefined> {
    const path = objectPath(dir, key)
    // list() never yields a key below a link (readdir does not follow them)
    if (checkLinks) await refuseSymlinks(dir, key)
    try {
      const st = await stat(path)
      const etag = st.isFile() ? this.etags.cached(dir, key, st) : undefined
      if (etag !== undefined) return { key, size: st.size, etag, lastModified: st.mtime }
    } catch (err) {
      if (isMissing(err)) return undefined
      throw mapFsError(err, `stat ${key}`)
    }
    const fh = await openFile(path)
    if (!fh) return undefined
    try {
      const st = await fh.stat()
      const etag = await this.etags.etagOf(dir, key, fh, st)
      return { key, size: st.size, etag, lastModified: st.mtime }
    } finally {
      await fh.close()
    }
  }

  /** Writes a caller's body to a temp file; its own errors (and S3_BODY_LENGTH) pass unchanged. */
  private async writeBody(
    dir: string,
    body: BodySource | Uint8Array,
    length: number,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<TempFile> {
    let bodyError: { err: unknown } | undefined
    const source = exactLengthBody(body, length, (err) => (bodyError = { err }))
    try {
      return await this.writeTemp(dir, source, what, signal)
    } catch (err) {
      throwIfAborted(signal)
      throw bodyError ? bodyError.err : err
    }
  }

  private async writeTemp(
    dir: string,
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<TempFile> {
    try {
      return await writeTemp(storePaths(dir).tmp, source, { fsync: this.fsync, signal })
    } catch (err) {
      throwIfAborted(signal)
      throw err instanceof RhioError ? err : mapFsError(err, what)
    }
  }

  /** Records the ETag of a finished temp file, then renames it onto the key. */
  private async publish(
    dir: string,
    key: string,
    path: string,
    tmp: TempFile,
    etag: string,
  ): Promise<string> {
    try {
      await this.etags.record(dir, key, await stat(tmp.path), etag)
      await moveIntoPlace(tmp.path, path, key)
      return etag
    } catch (err) {
      await rm(tmp.path, { force: true })
      throw err instanceof RhioError ? err : mapFsError(err, `write ${key}`)
    }
  }
}

/** Opens a regular file for reading; undefined when there is none at `path`. */
async function openFile(path: string): Promise<FileHandle | undefined> {
  let fh: FileHandle
  try {
    fh = await open(path, 'r')
  } catch (err) {
    if (isMissing(err) || errno(err) === 'EISDIR') return undefined
    throw mapFsError(err, `open ${path}`)
  }
  if ((await fh.stat()).isFile()) return fh
  await fh.close()
  return undefined
}

/**
 * Collects the keys under the relative directory `rel` (ending in `/`, or '')
 * that start with `prefix`, skipping the store's own directory, symlinks,
 * anything that is not a regular file, and paths no key can address (longer
 * than 1024 bytes).
 */
async function collectKeys(
  dir: string,
  rel: string,
  prefix: string,
  out: string[],
  signal: AbortSignal | undefined,
): Promise<void> {
  throwIfAborted(signal)
  let entries
  try {
    entries = await readdir(join(dir, ...rel.split('/')), { withFileTypes: true })
  } catch (err) {
    if (isMissing(err)) return
    throw mapFsError(err, `list ${rel}`)
  }
  for (const e of entries) {
    if (rel === '' && e.name === STORE_DIR) continue
    const key = rel + e.name
    if (e.isFile()) {
      if (key.startsWith(prefix) && isStorableKey(key)) out.push(key)
    } else if (e.isDirectory()) {
      const sub = `${key}/`
      if (sub.startsWith(prefix) || prefix.startsWith(sub))
        await collectKeys(dir, sub, prefix, out, signal)
    }
  }
}

/** S3 orders keys by their UTF-8 bytes (JS compares UTF-16 code units). */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

async function* concatFiles(files: string[]): AsyncGenerator<Uint8Array> {
  for (const f of files) yield* createReadStream(f) as AsyncIterable<Uint8Array>
}

function lengthOf(length: number): number {
  assertLength(length)
  return length
}

import { createHash } from 'node:crypto'
import type { Stats } from 'node:fs'
import { mkdir, readFile, rm, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { md5OfFile, moveIntoPlace } from './dir-files.js'
import { isMissing, storePaths } from './dir-paths.js'

/** An object's ETag together with the identity of the file it was computed for. */
interface EtagRecord {
  key: string
  etag: string
  size: number
  mtimeMs: number
  ino: number
}

/**
 * ETags of a DirObjectStore. Computing an MD5 on every list would read every
 * byte on every poll, so each write records its ETag in a sidecar
 * (`.rhio-dirstore/etags/<sha256(key)>.json`) together with the file's size,
 * mtime and inode (a rename keeps all three), and a memory cache avoids even
 * reading the sidecar. A file without a matching record (dropped into the
 * directory by hand, or rewritten in place) gets its MD5 computed once.
 * Multipart ETags cannot be recomputed from the bytes, so only a record keeps them.
 */
export class EtagIndex {
  private readonly cache = new Map<string, EtagRecord>()

  /** The ETag from memory alone, if the file described by `st` is the one it was recorded for. */
  cached(dir: string, key: string, st: Stats): string | undefined {
    const rec = this.cache.get(`${dir}\0${key}`)
    return rec && matches(rec, st) ? rec.etag : undefined
  }

  /** The ETag of the open file `fh` whose stats are `st`, stored as `key` in bucket dir `dir`. */
  async etagOf(dir: string, key: string, fh: FileHandle, st: Stats): Promise<string> {
    const id = `${dir}\0${key}`
    const cached = this.cache.get(id)
    if (cached && matches(cached, st)) return cached.etag
    const stored = await readRecord(sidecarPath(dir, key))
    if (stored && stored.key === key && matches(stored, st)) {
      this.cache.set(id, stored)
      return stored.etag
    }
    const etag = `"${(await md5OfFile(fh, st.size)).toString('hex')}"`
    await this.record(dir, key, st, etag)
    return etag
  }

  /** Remembers `etag` for the file described by `st` (call before renaming it into place). */
  async record(dir: string, key: string, st: Stats, etag: string): Promise<void> {
    const rec: EtagRecord = { key, etag, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino }
    const { tmp } = storePaths(dir)
    await mkdir(tmp, { recursive: true })
    const tmpPath = join(tmp, randomBytes(12).toString('hex'))
    await writeFile(tmpPath, JSON.stringify(rec))
    await moveIntoPlace(tmpPath, sidecarPath(dir, key), key)
    this.cache.set(`${dir}\0${key}`, rec)
  }

  async forget(dir: string, key: string): Promise<void> {
    this.cache.delete(`${dir}\0${key}`)
    await rm(sidecarPath(dir, key), { force: true })
  }
}

function matches(rec: EtagRecord, st: Stats): boolean {
  return rec.size === st.size && rec.mtimeMs === st.mtimeMs && rec.ino === st.ino
}

function sidecarPath(dir: string, key: string): string {
  const h = createHash('sha256').update(key).digest('hex')
  return join(storePaths(dir).etags, h.slice(0, 2), `${h}.json`)
}

async function readRecord(path: string): Promise<EtagRecord | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (isMissing(err)) return undefined
    throw err
  }
  try {
    const v = JSON.parse(text) as Partial<EtagRecord>
    const ok =
      typeof v.key === 'string' &&
      typeof v.etag === 'string' &&
      typeof v.size === 'number' &&
      typeof v.mtimeMs === 'number' &&
      typeof v.ino === 'number'
    return ok ? (v as EtagRecord) : undefined
  } catch {
    return undefined // a torn or foreign sidecar: recompute
  }
}

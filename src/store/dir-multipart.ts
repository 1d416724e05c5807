import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MIN_PART_SIZE } from './constants.js'
import type { TempFile } from './dir-files.js'
import { errno, isMissing } from './dir-paths.js'
import { StoreErrorCode, storeError } from './errors.js'
import type { CompletedPart } from './object-store.js'
import { normalizeEtag } from './range.js'

/**
 * Multipart uploads of a DirObjectStore, staged in
 * `<bucket>/.rhio-dirstore/multipart/<uploadId>/`: `upload.json` names the key,
 * and each part is a file `<5-digit part number>.<md5 hex>` (so a part and its
 * ETag appear together, atomically, by one rename).
 */
const UPLOAD_ID = /^[0-9a-f]{32}$/
const PART_FILE = /^(\d{5})\.([0-9a-f]{32})$/

export interface StagedPart {
  file: string
  md5: string
  size: number
}

export async function createUpload(multipartDir: string, key: string): Promise<string> {
  const uploadId = randomBytes(16).toString('hex')
  const dir = join(multipartDir, uploadId)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'upload.json'), JSON.stringify({ key }))
  return uploadId
}

/** The open uploads of exactly `key` (when each was created: its staging directory's mtime). */
export async function listUploads(
  multipartDir: string,
  key: string,
): Promise<Array<{ uploadId: string; initiated: Date }>> {
  let ids: string[]
  try {
    ids = await readdir(multipartDir)
  } catch (err) {
    if (isMissing(err)) return []
    throw err
  }
  const out: Array<{ uploadId: string; initiated: Date }> = []
  for (const id of ids) {
    if (!UPLOAD_ID.test(id)) continue
    try {
      const dir = join(multipartDir, id)
      const recorded = JSON.parse(await readFile(join(dir, 'upload.json'), 'utf8')) as {
        key?: unknown
      }
      if (recorded.key === key) out.push({ uploadId: id, initiated: (await stat(dir)).mtime })
    } catch {
      // being created or removed right now: not an upload to report
    }
  }
  return out
}

/** The staging directory of an open upload of `key`, or S3_NO_SUCH_UPLOAD. */
export async function uploadDir(
  multipartDir: string,
  uploadId: string,
  key: string,
): Promise<string> {
  const noSuchUpload = storeError(
    StoreErrorCode.NO_SUCH_UPLOAD,
    `no multipart upload ${uploadId} for key ${JSON.stringify(key)}`,
  )
  if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload
  const dir = join(multipartDir, uploadId)
  let recorded: unknown
  try {
    recorded = JSON.parse(await readFile(join(dir, 'upload.json'), 'utf8'))
  } catch (err) {
    if (isMissing(err) || err instanceof SyntaxError) throw noSuchUpload
    throw err
  }
  if ((recorded as { key?: unknown }).key !== key) throw noSuchUpload
  return dir
}

/** Moves a written temp file in as part `partNumber` (replacing an earlier upload of it); returns its ETag. */
export async function stagePart(dir: string, partNumber: number, tmp: TempFile): Promise<string> {
  const prefix = String(partNumber).padStart(5, '0')
  const md5 = tmp.md5.toString('hex')
  const name = `${prefix}.${md5}`
  try {
    await rename(tmp.path, join(dir, name))
  } catch (err) {
    await rm(tmp.path, { force: true })
    if (errno(err) === 'ENOENT') {
      throw storeError(
        StoreErrorCode.NO_SUCH_UPLOAD,
        `multipart upload was aborted or completed`,
        err,
      )
    }
    throw err
  }
  for (const other of await readdir(dir)) {
    if (other.startsWith(`${prefix}.`) && other !== name)
      await rm(join(dir, other), { force: true })
  }
  return `"${md5}"`
}

export async function stagedParts(dir: string): Promise<Map<number, StagedPart>> {
  const parts = new Map<number, StagedPart>()
  for (const name of await readdir(dir)) {
    const m = PART_FILE.exec(name)
    if (!m) continue
    const file = join(dir, name)
    parts.set(Number(m[1]), { file, md5: m[2] as string, size: (await stat(file)).size })
  }
  return parts
}

/**
 * Checks `parts` as S3 does (ascending part numbers, each staged with that
 * ETag, all but the last at least MIN_PART_SIZE) and returns the files in
 * order and the multipart ETag: MD5 of the concatenated binary part MD5s, `-N`.
 */
export function assemble(
  parts: readonly CompletedPart[],
  staged: Map<number, StagedPart>,
): { files: string[]; etag: string } {
  const invalid = (why: string): Error => storeError(StoreErrorCode.INVALID_PART, why)
  if (parts.length === 0) throw invalid('a multipart upload needs at least one part')
  const md5s = createHash('md5')
  const files: string[] = []
  let previous = 0
  parts.forEach((p, i) => {
    if (p.partNumber <= previous) throw invalid(`part ${p.partNumber} is not in ascending order`)
    previous = p.partNumber
    const s = staged.get(p.partNumber)
    if (!s || `"${s.md5}"` !== normalizeEtag(p.etag)) {
      throw invalid(`part ${p.partNumber} with ETag ${p.etag} was not uploaded`)
    }
    if (i < parts.length - 1 && s.size < MIN_PART_SIZE) {
      throw invalid(
        `part ${p.partNumber} has ${s.size} bytes, below the ${MIN_PART_SIZE}-byte minimum`,
      )
    }
    md5s.update(Buffer.from(s.md5, 'hex'))
    files.push(s.file)
  })
  return { files, etag: `"${md5s.digest('hex')}-${parts.length}"` }
}

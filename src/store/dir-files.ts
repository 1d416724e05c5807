import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, open, rename, rm, rmdir, type FileHandle } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { errno, invalidKey } from './dir-paths.js'

export interface TempFile {
  path: string
  size: number
  md5: Buffer
}

/**
 * Streams `source` into a fresh file under `tmpDir`, hashing MD5 on the way,
 * with the stream's own backpressure. The file is removed again on failure.
 */
export async function writeTemp(
  tmpDir: string,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: { fsync: boolean; signal?: AbortSignal | undefined },
): Promise<TempFile> {
  await mkdir(tmpDir, { recursive: true })
  const path = join(tmpDir, randomBytes(12).toString('hex'))
  const md5 = createHash('md5')
  let size = 0
  async function* tap(
    src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ): AsyncGenerator<Uint8Array> {
    for await (const chunk of src) {
      md5.update(chunk)
      size += chunk.byteLength
      yield chunk
    }
  }
  try {
    const out = createWriteStream(path, { flags: 'wx' })
    await pipeline(source, tap, out, opts.signal ? { signal: opts.signal } : {})
    if (opts.fsync) {
      const fh = await open(path, 'r+')
      try {
        await fh.sync()
      } finally {
        await fh.close()
      }
    }
    return { path, size, md5: md5.digest() }
  } catch (err) {
    await rm(path, { force: true })
    throw err
  }
}

/**
 * Renames a finished temp file onto `target` (atomic: readers see the old or
 * the new object, never a partial one), creating parent directories.
 */
export async function moveIntoPlace(tmpPath: string, target: string, key: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(dirname(target), { recursive: true })
      await rename(tmpPath, target)
      return
    } catch (err) {
      const code = errno(err)
      // A concurrent delete may prune the parent between mkdir and rename.
      if (code === 'ENOENT' && attempt < 3) continue
      if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY') {
        await rm(tmpPath, { force: true })
        throw invalidKey(key, 'conflicts with an existing key that is its parent or child path')
      }
      await rm(tmpPath, { force: true })
      throw err
    }
  }
}

/** Removes the empty directories between `filePath` and `stopDir` (S3 has no directories). */
export async function pruneEmptyParents(filePath: string, stopDir: string): Promise<void> {
  for (let dir = dirname(filePath); dir.length > stopDir.length && dir.startsWith(stopDir);) {
    try {
      await rmdir(dir)
    } catch {
      return // not empty (or already gone): stop
    }
    dir = dirname(dir)
  }
}

/** MD5 of the first `size` bytes of an open file, read in bounded chunks. */
export async function md5OfFile(fh: FileHandle, size: number): Promise<Buffer> {
  const hash = createHash('md5')
  const buf = Buffer.allocUnsafe(Math.min(size, 256 * 1024))
  for (let pos = 0; pos < size;) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos)
    if (bytesRead === 0) break
    hash.update(buf.subarray(0, bytesRead))
    pos += bytesRead
  }
  return hash.digest()
}

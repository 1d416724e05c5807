/**
 * `rhio client put|get|ls`: objects in the node's local store (S3 when
 * configured, else the directory store under `<data_dir>/buckets`).
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { rm, stat } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { isInternalKey, type ObjectInfo, type ObjectStore } from '../../store/index.js'
import { StoreErrorCode, storeError } from '../../store/errors.js'
import { table } from '../common/table.js'
import type { ClientContext } from './context.js'
import { withStore } from './context.js'
import { ClientErrorCode, clientError } from './errors.js'
import { humanBytes, printable } from './format.js'
import { writeOut } from './output.js'

export interface PutFlags {
  /** Object key (default: the file's name). */
  key?: string
}

export async function put(
  bucket: string,
  file: string,
  flags: PutFlags,
  ctx: ClientContext,
): Promise<void> {
  const path = resolve(ctx.io.cwd, file)
  let size: number
  try {
    const s = await stat(path)
    if (!s.isFile()) throw new Error('not a regular file')
    size = s.size
  } catch (err) {
    throw clientError(ClientErrorCode.FILE_UNREADABLE, `cannot read ${file}`, err)
  }
  const key = flags.key ?? basename(path)
  if (isInternalKey(key)) {
    throw storeError(
      StoreErrorCode.INVALID_KEY,
      `key ${key} is reserved for rhio's own objects (.rhio/…, *.rhio.json, *.rhio.bao4)`,
    )
  }
  const partSize = ctx.config.blobs.part_size_bytes
  const etag = await withStore(ctx.config, (store) =>
    size <= partSize
      ? store.put(
          bucket,
          key,
          { stream: createReadStream(path), length: size },
          { signal: ctx.signal },
        )
      : putMultipart(store, bucket, key, path, size, partSize, ctx.signal),
  )
  ctx.io.out(`put ${file} -> ${bucket}/${key} (${humanBytes(size)}, etag ${etag})\n`)
}

/** Uploads a large file part by part (one part in flight, each streamed from the file). */
async function putMultipart(
  store: ObjectStore,
  bucket: string,
  key: string,
  path: string,
  size: number,
  partSize: number,
  signal: AbortSignal,
): Promise<string> {
  const uploadId = await store.createMultipart(bucket, key, { signal })
  try {
    const parts = []
    for (let start = 0, n = 1; start < size; start += partSize, n++) {
      const length = Math.min(partSize, size - start)
      const body = createReadStream(path, { start, end: start + length - 1 })
      const etag = await store.uploadPart(bucket, key, uploadId, n, body, length, { signal })
      parts.push({ partNumber: n, etag })
    }
    return await store.completeMultipart(bucket, key, uploadId, parts, { signal })
  } catch (err) {
    await store.abortMultipart(bucket, key, uploadId).catch(() => undefined)
    throw err
  }
}

export interface GetFlags {
  /** Write here instead of stdout. */
  out?: string
}

export async function get(
  bucket: string,
  key: string,
  flags: GetFlags,
  ctx: ClientContext,
): Promise<void> {
  await withStore(ctx.config, async (store) => {
    const { body, info } = await store.get(bucket, key, { signal: ctx.signal })
    if (flags.out === undefined) {
      for await (const chunk of body) await writeOut(ctx.io, chunk as Uint8Array)
      return
    }
    const path = resolve(ctx.io.cwd, flags.out)
    try {
      await pipeline(body, createWriteStream(path), { signal: ctx.signal })
    } catch (err) {
      body.destroy()
      await rm(path, { force: true })
      if (err instanceof Error && err.name === 'AbortError') throw err
      throw clientError(ClientErrorCode.FILE_WRITE_FAILED, `cannot write ${flags.out}`, err)
    }
    ctx.io.out(`got ${bucket}/${key} -> ${flags.out} (${humanBytes(info.size)})\n`)
  })
}

export interface LsFlags {
  prefix?: string
  /** Also show rhio's own objects (`.rhio/…`). */
  all?: boolean
  json?: boolean
}

export async function ls(bucket: string, flags: LsFlags, ctx: ClientContext): Promise<void> {
  await withStore(ctx.config, async (store) => {
    const found: ObjectInfo[] = []
    const opts = {
      signal: ctx.signal,
      ...(flags.prefix !== undefined ? { prefix: flags.prefix } : {}),
    }
    for await (const o of store.list(bucket, opts)) {
      if (!flags.all && isInternalKey(o.key)) continue
      if (flags.json) {
        await writeOut(
          ctx.io,
          `${JSON.stringify({ key: o.key, size: o.size, etag: o.etag, last_modified: o.lastModified.toISOString() })}\n`,
        )
      } else {
        found.push(o)
      }
    }
    if (flags.json) return
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    if (found.length === 0) {
      ctx.io.out(`(no objects in ${bucket}${flags.prefix ? ` under ${flags.prefix}` : ''})\n`)
      return
    }
    const rows = found.map((o) => [
      printable(o.key),
      String(o.size),
      o.lastModified.toISOString(),
      printable(o.etag),
    ])
    const total = found.reduce((n, o) => n + o.size, 0)
    ctx.io.out(`${table(['KEY', 'SIZE', 'MODIFIED', 'ETAG'], rows)}\n`)
    ctx.io.out(`${found.length} object${found.length === 1 ? '' : 's'}, ${humanBytes(total)}\n`)
  })
}

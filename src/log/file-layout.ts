/**
 * Where a file frame store keeps one log:
 *
 *   <root>/<author hex>/<first 32 hex of sha256(logId)>/
 *     log.json                 {"version":1,"author","logId","kind"}, written once
 *     <start, 16 digits>.seg   segments; `start` is the first seq the segment covers
 *
 * The log id is hashed because it may hold characters and lengths no file
 * system accepts; log.json names the log for people and checks that a
 * directory belongs to the log opened.
 */
import { createHash } from 'node:crypto'
import { open, readFile, readdir, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { fromHex, toHex } from '../core/codec.js'
import type { LogKind } from '../core/selector.js'
import type { LogInfo } from './frame-store.js'

export const LOG_META_FILE = 'log.json'
const SEGMENT_RE = /^(\d{16})\.seg$/

export function logDirOf(root: string, info: LogInfo): string {
  const id = createHash('sha256').update(info.logId, 'utf8').digest('hex').slice(0, 32)
  return join(root, toHex(info.author), id)
}

export function segmentFileName(start: number): string {
  return `${String(start).padStart(16, '0')}.seg`
}

/** The start seq of a segment file name, or undefined for other files. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = SEGMENT_RE.exec(name)
  if (!m) return undefined
  const start = Number(m[1])
  return Number.isSafeInteger(start) && start >= 1 ? start : undefined
}

interface LogMeta {
  version: 1
  author: string
  logId: string
  kind: LogKind
}

function metaOf(info: LogInfo): LogMeta {
  return { version: 1, author: toHex(info.author), logId: info.logId, kind: info.kind }
}

/** Whether the directory's log.json names this log (false when missing or unreadable). */
export async function metaMatches(dir: string, info: LogInfo): Promise<boolean> {
  let text: string
  try {
    text = await readFile(join(dir, LOG_META_FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
  try {
    const m = JSON.parse(text) as Partial<LogMeta>
    const want = metaOf(info)
    return (
      m.version === 1 && m.author === want.author && m.logId === want.logId && m.kind === want.kind
    )
  } catch {
    return false
  }
}

/** Writes a file atomically (temp file, optional fsync, rename). */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
  sync: boolean,
): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  const fh = await open(tmp, 'w')
  try {
    await fh.writeFile(data)
    if (sync) await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
}

export async function writeMeta(dir: string, info: LogInfo, sync: boolean): Promise<void> {
  const bytes = new TextEncoder().encode(`${JSON.stringify(metaOf(info))}\n`)
  await writeFileAtomic(join(dir, LOG_META_FILE), bytes, sync)
}

/** fsync of a directory, so that created, renamed and deleted names are durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * The logs kept under `root` (from their log.json files), so that a node can
 * reopen them at start and serve them before anything new arrives.
 * Directories without a readable log.json are skipped.
 */
export async function storedLogs(root: string): Promise<LogInfo[]> {
  const out: LogInfo[] = []
  const list = (dir: string): Promise<string[]> => readdir(dir).catch(() => [])
  for (const author of await list(root)) {
    if (!/^[0-9a-f]{64}$/.test(author)) continue
    for (const id of await list(join(root, author))) {
      const meta = await readFile(join(root, author, id, LOG_META_FILE), 'utf8').catch(() => '')
      try {
        const m = JSON.parse(meta) as Partial<LogMeta>
        if (m.version !== 1 || m.author !== author || typeof m.logId !== 'string') continue
        if (m.kind !== 'nats' && m.kind !== 'blobs') continue
        const info = { author: fromHex(author), logId: m.logId, kind: m.kind }
        if (logDirOf(root, info) === join(root, author, id)) out.push(info)
      } catch {
        continue
      }
    }
  }
  return out
}

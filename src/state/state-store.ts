/**
 * Durable state that must survive restarts: sync heights, blob transfer
 * progress, log epochs. Small JSON documents under keys made of tokens
 * `[A-Za-z0-9_-]` joined by `.` (valid NATS KV keys and safe file names).
 *
 * Implementations: a JetStream KV bucket (the default: it survives pod
 * restarts without volumes, and NATS is required anyway), files under
 * data_dir, and memory (tests, simulations).
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { RhioError } from '../errors.js'

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

export interface StateStore {
  get<T extends Json = Json>(key: string): Promise<T | undefined>
  put(key: string, value: Json): Promise<void>
  delete(key: string): Promise<void>
  /** Keys that start with `prefix` (use a trailing `.` to list one level). */
  keys(prefix: string): Promise<string[]>
  close(): Promise<void>
}

const KEY_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/

export function checkKey(key: string): string {
  if (!KEY_RE.test(key)) throw new RhioError('STATE_BAD_KEY', `invalid state key '${key}'`)
  return key
}

export class MemoryStateStore implements StateStore {
  private readonly map = new Map<string, string>()

  async get<T extends Json = Json>(key: string): Promise<T | undefined> {
    const v = this.map.get(checkKey(key))
    return v === undefined ? undefined : (JSON.parse(v) as T)
  }

  async put(key: string, value: Json): Promise<void> {
    this.map.set(checkKey(key), JSON.stringify(value))
  }

  async delete(key: string): Promise<void> {
    this.map.delete(checkKey(key))
  }

  async keys(prefix: string): Promise<string[]> {
    return [...this.map.keys()].filter((k) => k.startsWith(prefix)).sort()
  }

  async close(): Promise<void> {}
}

/** One file per key under `dir`, written atomically (temp file + rename). */
export class DirStateStore implements StateStore {
  private ready: Promise<void> | undefined
  private seq = 0

  constructor(private readonly dir: string) {}

  private init(): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true }).then(() => undefined)
    return this.ready
  }

  async get<T extends Json = Json>(key: string): Promise<T | undefined> {
    await this.init()
    try {
      return JSON.parse(await readFile(join(this.dir, `${checkKey(key)}.json`), 'utf8')) as T
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new RhioError('STATE_READ_FAILED', `cannot read state '${key}'`, { cause: err })
    }
  }

  async put(key: string, value: Json): Promise<void> {
    await this.init()
    const file = join(this.dir, `${checkKey(key)}.json`)
    const tmp = `${file}.${process.pid}.${this.seq++}.tmp`
    await writeFile(tmp, JSON.stringify(value))
    await rename(tmp, file)
  }

  async delete(key: string): Promise<void> {
    await this.init()
    await rm(join(this.dir, `${checkKey(key)}.json`), { force: true })
  }

  async keys(prefix: string): Promise<string[]> {
    await this.init()
    const names = await readdir(this.dir)
    return names
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -5))
      .filter((k) => k.startsWith(prefix))
      .sort()
  }

  async close(): Promise<void> {}
}

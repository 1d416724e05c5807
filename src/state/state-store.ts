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
import { RhioError } from '../errors/index.js'

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

export interface StateStore {
  get<T extends Json = Json>(key: string): Promise<T | undefined>
  put(key: string, value: Json): Promise<void>
  delete(key: string): Promise<void>
  /**
   * Keys that start with `prefix`, sorted. A prefix ending in `.` (or empty)
   * selects a subtree, which stores can list without scanning everything.
   * Rejects a prefix that no key could start with (STATE_BAD_KEY).
   */
  keys(prefix: string): Promise<string[]>
  close(): Promise<void>
}

const KEY_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/

export function checkKey(key: string): string {
  if (!KEY_RE.test(key)) throw new RhioError('STATE_BAD_KEY', `invalid state key '${key}'`)
  return key
}

const PREFIX_RE = /^([A-Za-z0-9_-]+\.)*[A-Za-z0-9_-]*$/

/** A valid start of a key (empty, tokens each followed by `.`, then a partial token). */
export function checkPrefix(prefix: string): string {
  if (!PREFIX_RE.test(prefix))
    throw new RhioError('STATE_BAD_KEY', `invalid state key prefix '${prefix}'`)
  return prefix
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
    checkPrefix(prefix)
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
    this.ready ??= mkdir(this.dir, { recursive: true }).then(
      () => undefined,
      (err: unknown) => {
        this.ready = undefined // try again on the next call
        throw err
      },
    )
    return this.ready
  }

  async get<T extends Json = Json>(key: string): Promise<T | undefined> {
    const file = join(this.dir, `${checkKey(key)}.json`)
    try {
      await this.init()
      return JSON.parse(await readFile(file, 'utf8')) as T
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new RhioError('STATE_READ_FAILED', `cannot read state '${key}'`, { cause: err })
    }
  }

  async put(key: string, value: Json): Promise<void> {
    const file = join(this.dir, `${checkKey(key)}.json`)
    const tmp = `${file}.${process.pid}.${this.seq++}.tmp`
    try {
      await this.init()
      await writeFile(tmp, JSON.stringify(value))
      await rename(tmp, file)
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined)
      throw new RhioError('STATE_WRITE_FAILED', `cannot write state '${key}'`, { cause: err })
    }
  }

  async delete(key: string): Promise<void> {
    const file = join(this.dir, `${checkKey(key)}.json`)
    try {
      await this.init()
      await rm(file, { force: true })
    } catch (err) {
      throw new RhioError('STATE_WRITE_FAILED', `cannot delete state '${key}'`, { cause: err })
    }
  }

  async keys(prefix: string): Promise<string[]> {
    checkPrefix(prefix)
    let names: string[]
    try {
      await this.init()
      names = await readdir(this.dir)
    } catch (err) {
      throw new RhioError('STATE_READ_FAILED', `cannot list state in ${this.dir}`, { cause: err })
    }
    return names
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -5))
      .filter((k) => k.startsWith(prefix))
      .sort()
  }

  async close(): Promise<void> {}
}

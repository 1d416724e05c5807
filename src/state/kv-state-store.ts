/**
 * A StateStore on a JetStream key-value bucket (`state.kv_bucket`, default
 * `rhio-state`): durable state lives where NATS keeps its streams, so a pod
 * without a volume resumes where it stopped.
 *
 * - The node owns the NATS connection; this store takes a getter and uses
 *   whatever connection is current (a new one after the client was replaced).
 * - The bucket is created when missing (history 1, file storage) and never
 *   deleted; an existing bucket is used as it is.
 * - Values are the JSON documents as UTF-8. Keys are checked by `checkKey`;
 *   their tokens are KV key tokens, so `keys('a.b.')` is the KV filter `a.b.>`
 *   and lists only that subtree.
 * - While NATS is unreachable every call rejects with STATE_UNAVAILABLE: at
 *   once when the client knows it is disconnected, otherwise after
 *   `timeoutMs`. Nothing waits forever; callers retry. A put that timed out
 *   may still be applied later (its request was already sent); documents are
 *   last-writer-wins and callers retry with current values, so that is harmless.
 */
import { jetstream, StorageType } from '@nats-io/jetstream'
import { Kvm, type KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from 'pino'
import { DEFAULTS } from '../config/defaults.js'
import { describeError, RhioError } from '../errors/index.js'
import { timeLimit } from '../util/abort.js'
import { checkKey, checkPrefix, type Json, type StateStore } from './state-store.js'

/** A request to a local NATS server answers in milliseconds; 3 s means it is not answering. */
export const KV_STATE_TIMEOUT_MS = 3_000

export interface KvStateStoreInit {
  /** The node's current connection, or undefined while it has none. */
  connection: () => NatsConnection | undefined
  bucket?: string
  /** Longest time one call may take before it fails with STATE_UNAVAILABLE. */
  timeoutMs?: number
  logger?: Logger
}

function unavailable(message: string, cause?: unknown): RhioError {
  return new RhioError('STATE_UNAVAILABLE', message, cause === undefined ? {} : { cause })
}

export class KvStateStore implements StateStore {
  readonly bucket: string
  private readonly timeoutMs: number
  private opened: { nc: NatsConnection; kv: Promise<KV> } | undefined
  /** Connections whose client reported a disconnect and no reconnect since. */
  private readonly down = new WeakSet<NatsConnection>()
  private readonly watched = new WeakSet<NatsConnection>()
  private closed = false

  constructor(private readonly init: KvStateStoreInit) {
    this.bucket = init.bucket ?? DEFAULTS.state_kv_bucket
    this.timeoutMs = init.timeoutMs ?? KV_STATE_TIMEOUT_MS
  }

  async get<T extends Json = Json>(key: string): Promise<T | undefined> {
    checkKey(key)
    const entry = await this.run(`get '${key}'`, (kv) => kv.get(key))
    if (!entry || entry.operation !== 'PUT') return undefined
    try {
      return JSON.parse(entry.string()) as T
    } catch (err) {
      throw new RhioError('STATE_READ_FAILED', `state '${key}' is not JSON`, { cause: err })
    }
  }

  async put(key: string, value: Json): Promise<void> {
    checkKey(key)
    const doc = JSON.stringify(value)
    await this.run(`put '${key}'`, (kv) => kv.put(key, doc))
  }

  async delete(key: string): Promise<void> {
    checkKey(key)
    await this.run(`delete '${key}'`, (kv) => kv.delete(key))
  }

  async keys(prefix: string): Promise<string[]> {
    checkPrefix(prefix)
    // the subtree of the last complete token; a partial token is filtered here
    const dot = prefix.lastIndexOf('.')
    const filter = dot < 0 ? '>' : `${prefix.slice(0, dot + 1)}>`
    const keys = await this.run(`keys '${prefix}'`, async (kv, signal) => {
      const out = new Set<string>()
      const iter = await kv.keys(filter)
      const stop = (): void => iter.stop()
      signal.addEventListener('abort', stop, { once: true })
      try {
        for await (const k of iter) if (k.startsWith(prefix)) out.add(k)
      } finally {
        signal.removeEventListener('abort', stop)
      }
      return out
    })
    return [...keys].sort()
  }

  async close(): Promise<void> {
    this.closed = true
    this.opened = undefined
  }

  /** Runs one operation on the current connection's bucket, bounded by the timeout. */
  private async run<T>(what: string, op: (kv: KV, signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.closed) throw unavailable(`state ${what}: the state store is closed`)
    const nc = this.init.connection()
    if (!nc || nc.isClosed() || this.down.has(nc))
      throw unavailable(`state ${what}: not connected to NATS`)
    this.watch(nc)
    const ac = new AbortController()
    const work = this.kvFor(nc).then((kv) => op(kv, ac.signal))
    work.catch(() => undefined) // settles after a timeout too; the timeout already answered
    try {
      return await timeLimit(work, this.timeoutMs, () => {
        ac.abort()
        throw unavailable(`state ${what}: no answer from NATS within ${this.timeoutMs} ms`)
      })
    } catch (err) {
      if (err instanceof RhioError) throw err
      throw unavailable(`state ${what}: ${describeError(err)}`, err)
    }
  }

  private kvFor(nc: NatsConnection): Promise<KV> {
    if (this.opened?.nc === nc) return this.opened.kv
    const kv = new Kvm(jetstream(nc, { timeout: this.timeoutMs }))
      .create(this.bucket, { history: 1, storage: StorageType.File, timeout: this.timeoutMs })
      .catch((err: unknown) => {
        if (this.opened?.kv === kv) this.opened = undefined // try again on the next call
        throw err
      })
    this.opened = { nc, kv }
    return kv
  }

  /** Follows the client's status so calls fail at once while it is disconnected. */
  private watch(nc: NatsConnection): void {
    if (this.watched.has(nc)) return
    this.watched.add(nc)
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          this.down.add(nc)
          this.init.logger?.debug({ bucket: this.bucket }, 'state: NATS disconnected')
        } else if (s.type === 'reconnect') this.down.delete(nc)
      }
    })().catch(() => undefined)
  }
}

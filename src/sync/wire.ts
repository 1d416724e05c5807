/**
 * Wire messages of rhio's p2p protocols (hello and sync). Each message is one
 * frame (see p2p/framing.ts): a type byte followed by its fields, encoded with
 * the canonical codec in core/codec.ts. Decoding never trusts lengths beyond
 * the configured limits. docs/PROTOCOL.md describes every field.
 */
import { DecodeError, Reader, Writer } from '../core/codec.js'
import {
  decodeSignedBatch,
  encodeSignedBatch,
  MAX_LOG_ID_BYTES,
  type SignedBatch,
} from '../core/batch.js'
import type { LogKind, Selector } from '../core/selector.js'

export type { LogKind, Selector } from '../core/selector.js'

/**
 * The hello version this node speaks. A hello with another version is refused
 * (the peer is told nothing and sessions are not started with it): a later
 * version may change what the fields mean.
 */
export const PROTOCOL_VERSION = 1

/** A live session sends at least this often (heartbeat); the requester gives up after 3 missed. */
export const DEFAULT_HEARTBEAT_MS = 5_000

const KIND_CODE: Record<LogKind, number> = { nats: 1, blobs: 2 }

export interface Hello {
  version: number
  holds: Selector[]
  wants: Selector[]
}

export type SyncMessage =
  | { type: 'request'; selector: Selector; known: Array<{ logId: string; height: number }> }
  | { type: 'log'; logId: string; low: number; head: number }
  | { type: 'batch'; batch: SignedBatch }
  | { type: 'progress'; logId: string; through: number; head: number }
  | { type: 'unavailable'; logId: string; low: number }
  | { type: 'reject'; code: string; message: string }
  /** Liveness while the holder has no matching log yet. */
  | { type: 'ping' }

export interface Limits {
  maxEntries: number
  maxEntryBytes: number
}

const MAX_FILTERS = 1024
const MAX_SELECTORS = 4096
const MAX_KNOWN = 65_536

function writeSelector(w: Writer, s: Selector): void {
  w.raw(s.author).u8(KIND_CODE[s.kind]).varint(s.filters.length)
  for (const f of s.filters) w.string(f)
}

function readKind(r: Reader): LogKind {
  const k = r.u8()
  if (k === 1) return 'nats'
  if (k === 2) return 'blobs'
  throw new DecodeError(`unknown log kind ${k}`)
}

function readSelector(r: Reader): Selector {
  const author = r.raw(32)
  const kind = readKind(r)
  const n = r.varint()
  if (n > MAX_FILTERS) throw new DecodeError(`too many filters: ${n}`)
  const filters: string[] = []
  for (let i = 0; i < n; i++) filters.push(r.string(4096))
  return { author, kind, filters }
}

export function encodeHello(h: Hello): Uint8Array {
  const w = new Writer().u8(1).varint(h.version).varint(h.holds.length)
  for (const s of h.holds) writeSelector(w, s)
  w.varint(h.wants.length)
  for (const s of h.wants) writeSelector(w, s)
  return w.finish()
}

export function decodeHello(bytes: Uint8Array): Hello {
  const r = new Reader(bytes)
  if (r.u8() !== 1) throw new DecodeError('not a hello message')
  const version = r.varint()
  const readList = (): Selector[] => {
    const n = r.varint()
    if (n > MAX_SELECTORS) throw new DecodeError(`too many selectors: ${n}`)
    return Array.from({ length: n }, () => readSelector(r))
  }
  const holds = readList()
  const wants = readList()
  r.end()
  return { version, holds, wants }
}

const T_REQUEST = 1
const T_LOG = 2
const T_BATCH = 3
const T_PROGRESS = 4
const T_UNAVAILABLE = 5
const T_REJECT = 6
const T_PING = 7

export function encodeSync(m: SyncMessage): Uint8Array {
  const w = new Writer(m.type === 'batch' ? 1024 : 64)
  switch (m.type) {
    case 'request':
      w.u8(T_REQUEST)
      writeSelector(w, m.selector)
      w.varint(m.known.length)
      for (const k of m.known) w.string(k.logId).varint(k.height)
      break
    case 'log':
      w.u8(T_LOG).string(m.logId).varint(m.low).varint(m.head)
      break
    case 'batch':
      w.u8(T_BATCH)
      encodeSignedBatch(w, m.batch)
      break
    case 'progress':
      w.u8(T_PROGRESS).string(m.logId).varint(m.through).varint(m.head)
      break
    case 'unavailable':
      w.u8(T_UNAVAILABLE).string(m.logId).varint(m.low)
      break
    case 'reject':
      w.u8(T_REJECT).string(m.code).string(m.message)
      break
    case 'ping':
      w.u8(T_PING)
      break
  }
  return w.finish()
}

function varintLength(n: number): number {
  let len = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    len++
  }
  return len
}

/**
 * A sync request that fits in `maxBytes`: as many `known` heights as fit, in
 * the order given (the caller puts the most useful first). A log left out is
 * served from its start again; its entries are dropped as duplicates.
 */
export function fitRequest(
  selector: Selector,
  known: Array<{ logId: string; height: number }>,
  maxBytes: number,
): Extract<SyncMessage, { type: 'request' }> {
  const empty = encodeSync({ type: 'request', selector, known: [] }).length
  // the count varint grows with the list: allow for its largest form
  let size = empty + varintLength(known.length) - 1
  const kept: Array<{ logId: string; height: number }> = []
  for (const k of known) {
    const idBytes = Buffer.byteLength(k.logId)
    const entry = varintLength(idBytes) + idBytes + varintLength(k.height)
    if (size + entry > maxBytes) break
    size += entry
    kept.push(k)
  }
  return { type: 'request', selector, known: kept }
}

export function decodeSync(bytes: Uint8Array, limits: Limits): SyncMessage {
  const r = new Reader(bytes)
  const t = r.u8()
  let m: SyncMessage
  switch (t) {
    case T_REQUEST: {
      const selector = readSelector(r)
      const n = r.varint()
      if (n > MAX_KNOWN) throw new DecodeError(`too many known logs: ${n}`)
      const known = Array.from({ length: n }, () => ({
        logId: r.string(MAX_LOG_ID_BYTES),
        height: r.varint(),
      }))
      m = { type: 'request', selector, known }
      break
    }
    case T_LOG:
      m = { type: 'log', logId: r.string(MAX_LOG_ID_BYTES), low: r.varint(), head: r.varint() }
      break
    case T_BATCH:
      m = { type: 'batch', batch: decodeSignedBatch(r, limits) }
      break
    case T_PROGRESS:
      m = {
        type: 'progress',
        logId: r.string(MAX_LOG_ID_BYTES),
        through: r.varint(),
        head: r.varint(),
      }
      break
    case T_UNAVAILABLE:
      m = { type: 'unavailable', logId: r.string(MAX_LOG_ID_BYTES), low: r.varint() }
      break
    case T_REJECT:
      m = { type: 'reject', code: r.string(256), message: r.string(4096) }
      break
    case T_PING:
      m = { type: 'ping' }
      break
    default:
      throw new DecodeError(`unknown sync message type ${t}`)
  }
  r.end()
  return m
}

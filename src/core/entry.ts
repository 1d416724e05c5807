/**
 * Entries: the items of an author's log. Each entry has a sequence number in
 * its log and one of three bodies: a NATS message, a blob version (put) or a
 * blob deletion. The encoding is canonical and is what the leaf hash (and so
 * the author's signature) covers.
 */
import { DecodeError, Reader, Writer } from './codec.js'
import { leafHash } from './hash.js'

export type NatsBody = {
  kind: 'nats'
  subject: string
  /** Header names and values in order (repeated names allowed). */
  headers: Array<[string, string]>
  payload: Uint8Array
}
export type BlobPutBody = { kind: 'blob-put'; key: string; hash: Uint8Array; size: number }
export type BlobDeleteBody = { kind: 'blob-delete'; key: string }
export type EntryBody = NatsBody | BlobPutBody | BlobDeleteBody

export interface Entry {
  seq: number
  body: EntryBody
}

const KIND_NATS = 1
const KIND_BLOB_PUT = 2
const KIND_BLOB_DELETE = 3

export const MAX_SUBJECT_BYTES = 4096
export const MAX_HEADER_COUNT = 1024
export const MAX_KEY_BYTES = 4096

export function encodeEntry(e: Entry): Uint8Array {
  const w = new Writer(entrySize(e)) // exact, so finish() does not copy
  const b = e.body
  switch (b.kind) {
    case 'nats':
      w.u8(KIND_NATS).varint(e.seq).string(b.subject).varint(b.headers.length)
      for (const [k, v] of b.headers) w.string(k).string(v)
      w.bytes(b.payload)
      break
    case 'blob-put':
      if (b.hash.length !== 32) throw new RangeError('blob hash must be 32 bytes')
      w.u8(KIND_BLOB_PUT).varint(e.seq).string(b.key).raw(b.hash).varint(b.size)
      break
    case 'blob-delete':
      w.u8(KIND_BLOB_DELETE).varint(e.seq).string(b.key)
      break
  }
  return w.finish()
}

function varintSize(n: number): number {
  let s = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    s++
  }
  return s
}

function strSize(s: string): number {
  const n = Buffer.byteLength(s, 'utf8')
  return varintSize(n) + n
}

/** Exact length of `encodeEntry(e)` without encoding it. */
export function entrySize(e: Entry): number {
  const b = e.body
  let n = 1 + varintSize(e.seq)
  switch (b.kind) {
    case 'nats':
      n +=
        strSize(b.subject) +
        varintSize(b.headers.length) +
        varintSize(b.payload.length) +
        b.payload.length
      for (const [k, v] of b.headers) n += strSize(k) + strSize(v)
      return n
    case 'blob-put':
      return n + strSize(b.key) + 32 + varintSize(b.size)
    case 'blob-delete':
      return n + strSize(b.key)
  }
}

export function decodeEntry(bytes: Uint8Array, maxPayload = Number.MAX_SAFE_INTEGER): Entry {
  const r = new Reader(bytes)
  const kind = r.u8()
  const seq = r.varint()
  let body: EntryBody
  switch (kind) {
    case KIND_NATS: {
      const subject = r.string(MAX_SUBJECT_BYTES)
      const n = r.varint()
      if (n > MAX_HEADER_COUNT) throw new DecodeError(`too many headers: ${n}`)
      const headers: Array<[string, string]> = []
      for (let i = 0; i < n; i++) headers.push([r.string(), r.string()])
      const payload = r.bytes(maxPayload)
      body = { kind: 'nats', subject, headers, payload }
      break
    }
    case KIND_BLOB_PUT:
      body = { kind: 'blob-put', key: r.string(MAX_KEY_BYTES), hash: r.raw(32), size: r.varint() }
      break
    case KIND_BLOB_DELETE:
      body = { kind: 'blob-delete', key: r.string(MAX_KEY_BYTES) }
      break
    default:
      throw new DecodeError(`unknown entry kind ${kind}`)
  }
  r.end()
  return { seq, body }
}

/** The bytes that bind an entry to its author and log inside the leaf hash. */
export function entryContext(author: Uint8Array, logId: string): Uint8Array {
  return new Writer(64 + logId.length).raw(author).string(logId).finish()
}

/**
 * The entry id: the Merkle leaf hash, unique per (author, log, entry). Used as
 * the JetStream `Nats-Msg-Id` so the sink drops duplicates.
 */
export function entryId(context: Uint8Array, entryBytes: Uint8Array): Uint8Array {
  return leafHash(context, entryBytes)
}

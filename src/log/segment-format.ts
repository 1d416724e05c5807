/**
 * Records of a frame store segment file. Pure encoding, no I/O.
 *
 *   record  = length u32 LE | crc u32 LE | payload (length bytes)
 *   crc     = CRC-32 (IEEE) of the payload
 *   payload = type u8 | body
 *     1 batch    encodeSignedBatch bytes | leaf hashes (32 bytes x items)
 *     2 advance  varint through           (the head moved without entries)
 *     3 restart  varint start             (first record of a segment that
 *                                          starts a new chain; see file-frame-store.ts)
 *
 * The leaf hashes are stored so that reading back does not re-hash entries.
 * A record can be classified from its first PEEK_BYTES payload bytes (type and
 * batch header), so scans skip entry bytes without reading them.
 */
import { decodeHeader, decodeSignedBatch, encodeSignedBatch } from '../core/batch.js'
import { crc32 } from '../core/crc32.js'
import { DecodeError, Reader, Writer } from '../core/codec.js'
import type { StoredBatch } from './frame-store.js'

export const RECORD_HEADER_BYTES = 8
/** Largest payload accepted; anything larger is a damaged length field. */
export const MAX_RECORD_PAYLOAD = 256 * 1024 * 1024
/** Type byte + varint length (<= 2 bytes for 2048) + the largest batch header. */
export const PEEK_BYTES = 1 + 2 + 2048

const TYPE_BATCH = 1
const TYPE_ADVANCE = 2
const TYPE_RESTART = 3
const LEAF_BYTES = 32

/** What a record is, known from its first PEEK_BYTES payload bytes. */
export type RecordPeek =
  | { type: 'batch'; firstSeq: number; lastSeq: number }
  | { type: 'advance'; through: number }
  | { type: 'restart'; start: number }

export type PeekResult = { ok: true; peek: RecordPeek } | { ok: false; reason: string }

function frame(w: Writer): Uint8Array {
  const rec = w.finish()
  const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength)
  const payloadLength = rec.length - RECORD_HEADER_BYTES
  if (payloadLength > MAX_RECORD_PAYLOAD)
    throw new RangeError(`record of ${payloadLength} bytes exceeds ${MAX_RECORD_PAYLOAD}`)
  view.setUint32(0, payloadLength, true)
  view.setUint32(4, crc32(rec.subarray(RECORD_HEADER_BYTES)), true)
  return rec
}

export function encodeBatchRecord(stored: StoredBatch): Uint8Array {
  const b = stored.batch
  if (stored.leaves.length !== b.items.length)
    throw new RangeError(`${stored.leaves.length} leaves for ${b.items.length} items`)
  let estimate = RECORD_HEADER_BYTES + 1 + 4 + b.headerBytes.length + 64 + 20
  for (const it of b.items) estimate += it.bytes.length + 16 + LEAF_BYTES
  estimate += b.proof.length * 32
  const w = new Writer(estimate).u32(0).u32(0).u8(TYPE_BATCH)
  encodeSignedBatch(w, b)
  for (const leaf of stored.leaves) {
    if (leaf.length !== LEAF_BYTES) throw new RangeError('a leaf hash must be 32 bytes')
    w.raw(leaf)
  }
  return frame(w)
}

export function encodeAdvanceRecord(through: number): Uint8Array {
  return frame(new Writer(24).u32(0).u32(0).u8(TYPE_ADVANCE).varint(through))
}

export function encodeRestartRecord(start: number): Uint8Array {
  return frame(new Writer(24).u32(0).u32(0).u8(TYPE_RESTART).varint(start))
}

/** Classifies a record from the start of its payload (`prefix`, at most PEEK_BYTES). */
export function peekRecord(prefix: Uint8Array, payloadLength: number): PeekResult {
  try {
    const r = new Reader(prefix)
    const type = r.u8()
    if (type === TYPE_BATCH) {
      const h = decodeHeader(r.bytes(2048))
      if (h.lastSeq < h.firstSeq) return { ok: false, reason: 'batch range reversed' }
      return { ok: true, peek: { type: 'batch', firstSeq: h.firstSeq, lastSeq: h.lastSeq } }
    }
    if (type === TYPE_ADVANCE || type === TYPE_RESTART) {
      const seq = r.varint()
      if (prefix.length !== payloadLength || r.remaining !== 0)
        return { ok: false, reason: 'marker record has trailing bytes' }
      return {
        ok: true,
        peek:
          type === TYPE_ADVANCE
            ? { type: 'advance', through: seq }
            : { type: 'restart', start: seq },
      }
    }
    return { ok: false, reason: `unknown record type ${type}` }
  } catch (err) {
    return { ok: false, reason: (err as Error).message }
  }
}

/** Whether `payload` matches the CRC stored in its record header. */
export function checksumMatches(payload: Uint8Array, crc: number): boolean {
  return crc32(payload) === crc
}

/** Decodes a whole batch record payload (checksum already verified). Throws DecodeError. */
export function decodeBatchPayload(payload: Uint8Array): StoredBatch {
  const r = new Reader(payload)
  if (r.u8() !== TYPE_BATCH) throw new DecodeError('not a batch record')
  // Our own records: the only limits needed are the ones the payload size implies.
  const batch = decodeSignedBatch(r, {
    maxEntries: payload.length,
    maxEntryBytes: payload.length,
  })
  const leaves: Uint8Array[] = []
  for (let i = 0; i < batch.items.length; i++) leaves.push(r.raw(LEAF_BYTES))
  r.end()
  return { batch, leaves }
}

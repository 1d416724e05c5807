/**
 * Signed batches: the unit of authenticity. An author signs one header per
 * contiguous range of its log; the header commits to the entries through a
 * Merkle root, so a burst of N entries costs one Ed25519 signature while each
 * entry stays verifiable on its own (entry + multiproof + header + signature).
 *
 * Signed bytes (version 1), all integers little-endian / LEB128:
 *   "rhio/batch/1" 0x00          domain tag (13 bytes)
 *   network id                  32 bytes = BLAKE3(config network_id)
 *   author                      32 bytes Ed25519 public key
 *   log id                      varint length + UTF-8
 *   first seq, last seq         varint, varint (first <= last)
 *   count                       varint (leaves in the tree, >= 1)
 *   root                        32 bytes
 *   timestamp                   varint, unix ms when signed (informational)
 */
import { DecodeError, Reader, Writer, equalBytes } from './codec.js'
import { decodeEntry, encodeEntry, entryContext, type Entry } from './entry.js'
import { leafHash } from './hash.js'
import { buildProof, fullTreeHasher, partialTreeHasher, rootFromProof } from './merkle.js'

const TAG = new TextEncoder().encode('rhio/batch/1\0')
export const MAX_LOG_ID_BYTES = 1024

export interface BatchHeader {
  networkId: Uint8Array
  author: Uint8Array
  logId: string
  firstSeq: number
  lastSeq: number
  count: number
  root: Uint8Array
  timestamp: number
}

export function encodeHeader(h: BatchHeader): Uint8Array {
  return new Writer(160 + h.logId.length)
    .raw(TAG)
    .raw(h.networkId)
    .raw(h.author)
    .string(h.logId)
    .varint(h.firstSeq)
    .varint(h.lastSeq)
    .varint(h.count)
    .raw(h.root)
    .varint(h.timestamp)
    .finish()
}

export function decodeHeader(bytes: Uint8Array): BatchHeader {
  const r = new Reader(bytes)
  if (!equalBytes(r.raw(TAG.length), TAG))
    throw new DecodeError('not a rhio batch header (bad tag)')
  const h: BatchHeader = {
    networkId: r.raw(32),
    author: r.raw(32),
    logId: r.string(MAX_LOG_ID_BYTES),
    firstSeq: r.varint(),
    lastSeq: r.varint(),
    count: r.varint(),
    root: r.raw(32),
    timestamp: r.varint(),
  }
  r.end()
  return h
}

/** One entry inside a batch as it travels: its leaf index and its bytes. */
export interface BatchItem {
  index: number
  bytes: Uint8Array
}

/** A signed batch, or a subset of one, as stored and sent. */
export interface SignedBatch {
  headerBytes: Uint8Array
  header: BatchHeader
  signature: Uint8Array
  items: BatchItem[]
  proof: Uint8Array[]
}

export type Signer = (bytes: Uint8Array) => Uint8Array
export type SignatureVerifier = (
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
) => boolean

/** Builds and signs a full batch over `entries` (sorted by seq, non-empty). */
export function signBatch(opts: {
  networkId: Uint8Array
  author: Uint8Array
  logId: string
  firstSeq: number
  entries: readonly Entry[]
  /**
   * Last seq the batch covers; default the last entry's. May be higher: the
   * author then also states that (last entry, lastSeq] holds no entries. With
   * no entries at all the batch is a pure coverage statement (count 0).
   */
  lastSeq?: number
  sign: Signer
  timestamp?: number
}): SignedBatch {
  const { entries } = opts
  if (entries.length === 0 && opts.lastSeq === undefined) {
    throw new RangeError('a batch without entries needs lastSeq')
  }
  const ctx = entryContext(opts.author, opts.logId)
  const items: BatchItem[] = []
  const leaves: Uint8Array[] = []
  let prev = opts.firstSeq - 1
  entries.forEach((e, index) => {
    if (e.seq <= prev) throw new RangeError(`entry seq ${e.seq} not increasing (after ${prev})`)
    prev = e.seq
    const bytes = encodeEntry(e)
    items.push({ index, bytes })
    leaves.push(leafHash(ctx, bytes))
  })
  const lastSeq = opts.lastSeq ?? prev
  if (lastSeq < prev || lastSeq < opts.firstSeq)
    throw new RangeError(`lastSeq ${lastSeq} below the entries covered`)
  const header: BatchHeader = {
    networkId: opts.networkId,
    author: opts.author,
    logId: opts.logId,
    firstSeq: opts.firstSeq,
    lastSeq,
    count: entries.length,
    root: leaves.length > 0 ? fullTreeHasher(leaves)(0, leaves.length) : EMPTY_ROOT,
    timestamp: opts.timestamp ?? Date.now(),
  }
  const headerBytes = encodeHeader(header)
  return { headerBytes, header, signature: opts.sign(headerBytes), items, proof: [] }
}

/** The root of a batch with no entries (a signed coverage statement). */
export const EMPTY_ROOT = new Uint8Array(32)

export type VerifyReason =
  | 'malformed'
  | 'wrong-network'
  | 'wrong-author'
  | 'wrong-log'
  | 'bad-seq'
  | 'bad-proof'
  | 'bad-signature'
  | 'oversized'

export interface VerifiedEntry extends Entry {
  /** Leaf hash = entry id (hex is used as Nats-Msg-Id). */
  id: Uint8Array
  index: number
}

export type VerifyResult =
  | { ok: true; entries: VerifiedEntry[]; leaves: Uint8Array[] }
  | { ok: false; reason: VerifyReason; detail: string }

export interface VerifyOptions {
  networkId: Uint8Array
  /** When set, the batch must be authored by this key. */
  author?: Uint8Array
  /** When set, the batch must belong to this log. */
  logId?: string
  verify: SignatureVerifier
  maxEntries: number
  maxPayload?: number
  /** Remembers headers whose signature already checked out (by header bytes). */
  cache?: SignatureCache
}

/**
 * Verifies a (possibly partial) batch: header sanity, entry decoding and
 * sequence order, the Merkle multiproof against the signed root, and the
 * author's signature. Never throws for bad input.
 */
export function verifyBatch(b: SignedBatch, o: VerifyOptions): VerifyResult {
  const h = b.header
  const fail = (reason: VerifyReason, detail: string): VerifyResult => ({
    ok: false,
    reason,
    detail,
  })
  if (!equalBytes(h.networkId, o.networkId))
    return fail('wrong-network', 'batch is for another network id')
  if (o.author && !equalBytes(h.author, o.author))
    return fail('wrong-author', 'batch is signed by another author')
  if (o.logId !== undefined && h.logId !== o.logId)
    return fail('wrong-log', `batch is for log ${h.logId}`)
  if (h.count > o.maxEntries) return fail('oversized', `batch claims ${h.count} entries`)
  if (h.count === 0 && (b.items.length > 0 || !equalBytes(h.root, EMPTY_ROOT))) {
    return fail('malformed', 'a coverage batch (count 0) has no entries and a zero root')
  }
  if (h.lastSeq < h.firstSeq) return fail('malformed', 'last seq before first seq')
  if (b.items.length > h.count) return fail('malformed', 'more items than the batch holds')
  if (b.signature.length !== 64) return fail('malformed', 'signature must be 64 bytes')
  const ctx = entryContext(h.author, h.logId)
  const entries: VerifiedEntry[] = []
  const leaves: Uint8Array[] = []
  const indices: number[] = []
  let prevSeq = h.firstSeq - 1
  for (const it of b.items) {
    let e: Entry
    try {
      e = decodeEntry(it.bytes, o.maxPayload)
    } catch (err) {
      return fail('malformed', `entry ${it.index}: ${(err as Error).message}`)
    }
    if (e.seq <= prevSeq || e.seq > h.lastSeq)
      return fail('bad-seq', `entry seq ${e.seq} outside or out of order`)
    prevSeq = e.seq
    const id = leafHash(ctx, it.bytes)
    leaves.push(id)
    indices.push(it.index)
    entries.push({ ...e, id, index: it.index })
  }
  if (entries.length > 0) {
    const r = rootFromProof(h.count, indices, leaves, b.proof)
    if (!r.ok) return fail('bad-proof', r.reason)
    if (!equalBytes(r.root, h.root))
      return fail('bad-proof', 'entries do not match the signed root')
  } else if (b.proof.length !== 0) {
    return fail('malformed', 'proof without entries')
  }
  if (!o.cache?.has(b.headerBytes, b.signature)) {
    if (!o.verify(h.author, b.headerBytes, b.signature))
      return fail('bad-signature', 'signature does not verify')
    o.cache?.add(b.headerBytes, b.signature)
  }
  return { ok: true, entries, leaves }
}

/**
 * The subset of a verified batch holding only the items at `keep` (positions
 * into `b.items`), with a fresh multiproof. `leaves` are the leaf hashes of
 * `b.items` (from verification).
 */
export function subsetBatch(
  b: SignedBatch,
  leaves: readonly Uint8Array[],
  keep: readonly number[],
): SignedBatch {
  if (keep.length === b.items.length) return b
  const items = keep.map((i) => b.items[i]!)
  if (items.length === 0) return { ...b, items: [], proof: [] }
  let hash
  if (b.items.length === b.header.count) {
    hash = fullTreeHasher(leaves)
  } else {
    const partial = partialTreeHasher(
      b.header.count,
      b.items.map((it) => it.index),
      leaves,
      b.proof,
    )
    if (!partial) throw new RangeError('subsetBatch: source batch proof does not verify')
    hash = partial.hash
  }
  return {
    ...b,
    items,
    proof: buildProof(
      b.header.count,
      items.map((it) => it.index),
      hash,
    ),
  }
}

/** A bounded set of (header, signature) pairs known to verify. */
export class SignatureCache {
  private readonly map = new Map<string, true>()
  constructor(private readonly capacity = 16_384) {}

  private key(header: Uint8Array, sig: Uint8Array): string {
    return Buffer.from(sig).toString('base64') + Buffer.from(header).toString('base64')
  }

  has(header: Uint8Array, sig: Uint8Array): boolean {
    return this.map.has(this.key(header, sig))
  }

  add(header: Uint8Array, sig: Uint8Array): void {
    const k = this.key(header, sig)
    if (this.map.has(k)) return
    if (this.map.size >= this.capacity) {
      const oldest = this.map.keys().next().value
      if (oldest !== undefined) this.map.delete(oldest)
    }
    this.map.set(k, true)
  }
}

/** Wire encoding of a signed batch (inside sync frames and the frame store). */
export function encodeSignedBatch(w: Writer, b: SignedBatch): void {
  w.bytes(b.headerBytes).raw(b.signature).varint(b.items.length)
  for (const it of b.items) w.varint(it.index).bytes(it.bytes)
  w.varint(b.proof.length)
  for (const p of b.proof) w.raw(p)
}

export function decodeSignedBatch(
  r: Reader,
  limits: { maxEntries: number; maxEntryBytes: number },
): SignedBatch {
  const headerBytes = r.bytes(2048)
  const header = decodeHeader(headerBytes)
  const signature = r.raw(64)
  const n = r.varint()
  if (n > limits.maxEntries)
    throw new DecodeError(`batch carries ${n} entries, limit ${limits.maxEntries}`)
  const items: BatchItem[] = []
  for (let i = 0; i < n; i++)
    items.push({ index: r.varint(), bytes: r.bytes(limits.maxEntryBytes) })
  const np = r.varint()
  if (np > limits.maxEntries) throw new DecodeError(`proof of ${np} hashes is too long`)
  const proof: Uint8Array[] = []
  for (let i = 0; i < np; i++) proof.push(r.raw(32))
  return { headerBytes, header, signature, items, proof }
}

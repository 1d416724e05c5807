import { signBatch, subsetBatch } from '../../src/core/batch.js'
import type { Entry } from '../../src/core/entry.js'
import { leavesOf, type LogInfo, type StoredBatch } from '../../src/log/frame-store.js'
import { natsLogId } from '../../src/core/selector.js'
import { testKey, type TestKey } from './keys.js'

export const BATCH_NETWORK = new Uint8Array(32).fill(5)
export const BATCH_AUTHOR: TestKey = testKey(new Uint8Array(32).fill(3))

export function logInfo(
  logId = natsLogId('orders.>', 'ORDERS', 1_700_000_000_000),
  author: TestKey = BATCH_AUTHOR,
): LogInfo {
  return { author: author.publicKey, logId, kind: 'nats' }
}

export interface BatchOptions {
  /** Payload bytes per entry. */
  payload?: number
  /** Seq of the first entry (defaults to firstSeq). */
  firstEntrySeq?: number
  logId?: string
  author?: TestKey
}

/** A signed batch over entries firstSeq .. firstSeq + count - 1 (or from firstEntrySeq). */
export function makeBatch(firstSeq: number, count: number, o: BatchOptions = {}): StoredBatch {
  const start = o.firstEntrySeq ?? firstSeq
  const size = o.payload ?? 16
  const entries: Entry[] = Array.from({ length: count }, (_, i) => ({
    seq: start + i,
    body: {
      kind: 'nats',
      subject: `orders.${(start + i) % 5}`,
      headers: [['Nats-Msg-Id', String(start + i)]],
      payload: new Uint8Array(size).fill((start + i) & 0xff),
    },
  }))
  const author = o.author ?? BATCH_AUTHOR
  const batch = signBatch({
    networkId: BATCH_NETWORK,
    author: author.publicKey,
    logId: o.logId ?? logInfo().logId,
    firstSeq,
    entries,
    sign: author.sign,
    timestamp: 1_700_000_000_000,
  })
  return { batch, leaves: leavesOf(batch) }
}

/** The subset of a stored batch with the items at `keep`, with its multiproof. */
export function subsetOf(stored: StoredBatch, keep: number[]): StoredBatch {
  return {
    batch: subsetBatch(stored.batch, stored.leaves, keep),
    leaves: keep.map((i) => stored.leaves[i]!),
  }
}

/** Consecutive batches of `size` entries covering 1 .. count * size. */
export function batchRun(count: number, size: number, o: BatchOptions = {}): StoredBatch[] {
  return Array.from({ length: count }, (_, i) => makeBatch(1 + i * size, size, o))
}

export function rangeOf(b: StoredBatch): string {
  return `${b.batch.header.firstSeq}-${b.batch.header.lastSeq}`
}

export async function collect(iter: AsyncIterable<StoredBatch>): Promise<StoredBatch[]> {
  const out: StoredBatch[] = []
  for await (const b of iter) out.push(b)
  return out
}

/** Comparable form of a stored batch (bytes as hex). */
export function plain(b: StoredBatch): unknown {
  const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex')
  return {
    header: hex(b.batch.headerBytes),
    signature: hex(b.batch.signature),
    items: b.batch.items.map((it) => [it.index, hex(it.bytes)]),
    proof: b.batch.proof.map(hex),
    leaves: b.leaves.map(hex),
  }
}

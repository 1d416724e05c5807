/**
 * Durable progress of transfers in the StateStore, so a restarted node fetches only what is
 * missing and cleans up uploads it abandoned (S3 servers cannot list them for us):
 *
 *   blobs.transfer.<id>                    TransferRecord: the job, part size, upload id
 *   blobs.transfer.<id>.part.<n>           PartRecord: ETag and the part's group CVs
 *   blobs.transfer.<id>.part.<n>.cvs.<j>   more group CVs of a part (parts above 128 MiB)
 *   blobs.abort.<id>-<tag>                 an upload to abort (a first abort failed)
 *
 * `<id>` = first 32 hex of BLAKE3(`localBucket \0 key`). A part record is written only after
 * its upload succeeded and every byte verified; it names the upload it belongs to, so records
 * left from an older upload of the same key are ignored. Values stay far below 1 MiB.
 */
import { blake3, hashToBase32, hashToHex, parseBlobHash } from '../bao/index.js'
import { fromHex, toHex } from '../core/codec.js'
import type { Json, StateStore } from '../state/state-store.js'
import { CVS_PER_RECORD } from './constants.js'
import type { TransferJob } from './types.js'

const ROOT = 'blobs.transfer'
const ABORTS = 'blobs.abort'

export interface TransferRecord {
  job: TransferJob
  partSize: number
  uploadId: string | null
  /** Set once CompleteMultipartUpload succeeded. */
  completedEtag: string | null
  startedAt: number
  /**
   * Set (ms) just before CreateMultipartUpload and cleared once its upload id is
   * recorded: still set at the next attempt means a crash in between, and an
   * upload of the key created since then is this transfer's lost one.
   */
  creatingSince: number | null
}

export interface StoredPart {
  etag: string
  /** Group CVs of the part, 32 bytes each. */
  cvs: Uint8Array
}

export interface PendingAbort {
  bucket: string
  key: string
  uploadId: string
}

/** The state id of the transfer writing (localBucket, key). */
export function transferId(localBucket: string, key: string): string {
  return hashToHex(blake3(new TextEncoder().encode(`${localBucket}\0${key}`))).slice(0, 32)
}

export class TransferStore {
  constructor(private readonly state: StateStore) {}

  async loadRecords(): Promise<Array<{ id: string; record: TransferRecord }>> {
    const out: Array<{ id: string; record: TransferRecord }> = []
    for (const k of await this.state.keys(`${ROOT}.`)) {
      const parts = k.split('.')
      if (parts.length !== 3) continue
      const id = parts[2]!
      const record = await this.loadRecord(id)
      // a record this version cannot read names no upload it could resume: drop it
      if (record) out.push({ id, record })
      else await this.clear(id)
    }
    return out
  }

  async loadRecord(id: string): Promise<TransferRecord | undefined> {
    const v = await this.state.get<Record<string, Json>>(`${ROOT}.${id}`)
    return v === undefined ? undefined : decodeRecord(v)
  }

  async saveRecord(id: string, r: TransferRecord): Promise<void> {
    const j = r.job
    await this.state.put(`${ROOT}.${id}`, {
      v: 1,
      local_bucket: j.localBucket,
      key: j.key,
      hash: hashToBase32(j.hash),
      size: j.size,
      author: toHex(j.author),
      remote_bucket: j.remoteBucket,
      signature: j.signature,
      seq: j.seq,
      part_size: r.partSize,
      upload_id: r.uploadId,
      completed_etag: r.completedEtag,
      started_at: r.startedAt,
      creating_since: r.creatingSince,
    })
  }

  /** Completed parts of `uploadId`, by part number; `cvBytes(n)` says how many CV bytes part n has. */
  async loadParts(
    id: string,
    uploadId: string,
    cvBytes: (n: number) => number,
  ): Promise<Map<number, StoredPart>> {
    const out = new Map<number, StoredPart>()
    for (const k of await this.state.keys(`${ROOT}.${id}.part.`)) {
      const t = k.split('.')
      if (t.length !== 5) continue
      const n = Number(t[4])
      const v = await this.state.get<Record<string, Json>>(k)
      if (!Number.isSafeInteger(n) || v?.upload !== uploadId || typeof v.etag !== 'string') continue
      const cvs = await this.#loadCvs(k, v)
      if (cvs !== undefined && cvs.length === cvBytes(n)) out.set(n, { etag: v.etag, cvs })
    }
    return out
  }

  async #loadCvs(key: string, v: Record<string, Json>): Promise<Uint8Array | undefined> {
    if (typeof v.cvs !== 'string' || typeof v.cv_records !== 'number') return undefined
    const pieces = [Buffer.from(v.cvs, 'base64')]
    for (let j = 1; j < v.cv_records; j++) {
      const more = await this.state.get(`${key}.cvs.${j}`)
      if (typeof more !== 'string') return undefined
      pieces.push(Buffer.from(more, 'base64'))
    }
    return new Uint8Array(Buffer.concat(pieces))
  }

  /** Records a completed part (extra CV records first: the part record is the commit). */
  async savePart(id: string, n: number, uploadId: string, part: StoredPart): Promise<void> {
    const key = `${ROOT}.${id}.part.${n}`
    const per = CVS_PER_RECORD * 32
    const records = Math.max(1, Math.ceil(part.cvs.length / per))
    for (let j = 1; j < records; j++) {
      const piece = part.cvs.subarray(j * per, (j + 1) * per)
      await this.state.put(`${key}.cvs.${j}`, Buffer.from(piece).toString('base64'))
    }
    await this.state.put(key, {
      upload: uploadId,
      etag: part.etag,
      cvs: Buffer.from(part.cvs.subarray(0, per)).toString('base64'),
      cv_records: records,
    })
  }

  /** Forgets every part of the transfer (a new upload starts). */
  async clearParts(id: string): Promise<void> {
    for (const k of await this.state.keys(`${ROOT}.${id}.`)) await this.state.delete(k)
  }

  /** Forgets the transfer entirely. */
  async clear(id: string): Promise<void> {
    await this.clearParts(id)
    await this.state.delete(`${ROOT}.${id}`)
  }

  async addAbort(id: string, a: PendingAbort): Promise<void> {
    const tag = hashToHex(blake3(new TextEncoder().encode(a.uploadId))).slice(0, 16)
    await this.state.put(`${ABORTS}.${id}-${tag}`, { ...a })
  }

  async loadAborts(): Promise<Array<{ key: string; abort: PendingAbort }>> {
    const out: Array<{ key: string; abort: PendingAbort }> = []
    for (const key of await this.state.keys(`${ABORTS}.`)) {
      const v = await this.state.get<Record<string, Json>>(key)
      if (
        typeof v?.bucket === 'string' &&
        typeof v.key === 'string' &&
        typeof v.uploadId === 'string'
      ) {
        out.push({ key, abort: { bucket: v.bucket, key: v.key, uploadId: v.uploadId } })
      } else {
        await this.state.delete(key)
      }
    }
    return out
  }

  async removeAbort(key: string): Promise<void> {
    await this.state.delete(key)
  }
}

function decodeRecord(v: Record<string, Json>): TransferRecord | undefined {
  try {
    const str = (x: Json | undefined): string => {
      if (typeof x !== 'string') throw new Error('not a string')
      return x
    }
    const num = (x: Json | undefined): number => {
      if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw new Error('not a count')
      return x
    }
    return {
      job: {
        localBucket: str(v.local_bucket),
        key: str(v.key),
        hash: parseBlobHash(str(v.hash)),
        size: num(v.size),
        author: fromHex(str(v.author)),
        remoteBucket: str(v.remote_bucket),
        signature: str(v.signature),
        seq: num(v.seq),
      },
      partSize: num(v.part_size),
      uploadId: v.upload_id === null ? null : str(v.upload_id),
      completedEtag: v.completed_etag === null ? null : str(v.completed_etag),
      startedAt: num(v.started_at),
      creatingSince:
        v.creating_since === undefined || v.creating_since === null ? null : num(v.creating_since),
    }
  } catch {
    return undefined
  }
}

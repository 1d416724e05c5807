import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { blake3, hashEquals, hashToBase32 } from '../../src/bao/index.js'
import type { PartAttempt } from '../../src/blobs/transfer.js'
import type { TransferDone } from '../../src/blobs/transfer-manager.js'
import { TransferStore, transferId } from '../../src/blobs/transfer-store.js'
import { DirStateStore, type Json, MemoryStateStore } from '../../src/state/state-store.js'
import { decodeBaoMeta } from '../../src/store/meta.js'
import { metaKey } from '../../src/store/layout.js'
import { BlobSite, doneOf, jobFor } from '../helpers/blob-sites.js'
import { rgwPerFile } from '../helpers/ceph-rgw.js'
import type { S3Endpoint } from '../helpers/s3-endpoint.js'
import { S3Server } from '../helpers/s3-server.js'
import { MiB, testBytes } from '../helpers/sizes.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

const PART = 5 * MiB

/**
 * A real S3 server (Ceph RGW) for the tests that check no multipart upload is
 * left behind: s3rver can neither abort uploads nor list them over S3.
 */
const rgw = rgwPerFile()

/** Holds the write of part 1's record until the test lets it through. */
class GatedState extends MemoryStateStore {
  reached!: () => void
  readonly atGate = new Promise<void>((r) => (this.reached = r))
  open!: () => void
  readonly gate = new Promise<void>((r) => (this.open = r))

  override async put(key: string, value: Json): Promise<void> {
    if (key.endsWith('.part.1')) {
      this.reached()
      await this.gate
    }
    await super.put(key, value)
  }
}
/** Response bytes beyond the data: size header and parent pairs, ~21 KiB per 5 MiB part. */
const OVERHEAD_PER_PART = 32 * 1024

describe('blob transfers: crash, resume, overwrite, cancel', () => {
  let s3: S3Server
  let author: BlobSite

  before(async () => {
    s3 = await S3Server.start()
    author = await BlobSite.start({
      s3,
      buckets: ['src'],
      holds: (self) => [{ author: self, kind: 'blobs', filters: ['src'] }],
    })
  })

  after(async () => {
    await author?.[Symbol.asyncDispose]()
    await s3?.[Symbol.asyncDispose]()
  })

  async function subscriber(
    buckets: string[],
    state?: DirStateStore | MemoryStateStore,
    store?: S3Endpoint,
  ): Promise<BlobSite> {
    const site = await BlobSite.start({
      s3: store ?? s3,
      buckets,
      staticNodes: [author.t.asStatic()],
      ...(state ? { state } : {}),
    })
    await waitFor(() => site.t.node.hello.get(author.id), { message: 'hello from author' })
    return site
  }

  test('a crash at ~50 % resumes from the recorded parts: at most one part is sent again', async () => {
    await using dir = await tempDir()
    const state = new DirStateStore(dir.path)
    const data = testBytes(8 * PART, 11)
    const hash = await author.publish('src', 'crash/big', data)
    const job = jobFor(author.t.key.publicKey, 'src', 'dst', 'crash/big', hash, data.length)
    const servedBefore = author.provider.servedBytes

    const first = await subscriber(['dst'], state)
    // one part at a time, so "at most one part is sent again" is exact; with
    // parts_in_flight N up to N parts were on their way (blobs-large covers that)
    const limits = { partSizeBytes: PART, maxConcurrentTransfers: 4, partsInFlight: 1 }
    const m1 = first.manager({ limits })
    let ok = 0
    m1.onAttempt((a) => (ok += a.ok ? 1 : 0))
    await m1.start()
    await m1.enqueue(job)
    // part 5 of 8 is on its way when the node dies
    await waitFor(() => ok >= 4 && (m1.status()[0]?.done ?? 0) > 4 * PART + MiB, { interval: 1 })
    await first.t.node.kill()
    await m1.stop()
    const recorded = new Set(
      (await state.keys('blobs.transfer.'))
        .map((k) => /\.part\.(\d+)$/.exec(k)?.[1])
        .filter((n) => n !== undefined)
        .map(Number),
    )
    assert.ok(recorded.size >= 4 && recorded.size < 8, `recorded parts: ${[...recorded]}`)
    assert.equal(await first.store.head('dst', 'crash/big'), undefined, 'nothing visible yet')
    await first[Symbol.asyncDispose]()

    // a new process: new node, same state and bucket; start() alone resumes the transfer
    const second = await subscriber([], state)
    const m2 = second.manager({ limits })
    const attempts: PartAttempt[] = []
    m2.onAttempt((a) => attempts.push(a))
    const done = doneOf(m2, 'crash/big')
    await m2.start()
    await done
    assert.ok(hashEquals(blake3(await second.read('dst', 'crash/big')), hash))
    assert.ok(attempts.length > 0, 'the resumed transfer fetched something')
    const again = attempts.filter((a) => recorded.has(a.part)).map((a) => a.part)
    assert.deepEqual(again, [], `recorded parts ${[...recorded]} were fetched again`)
    const served = author.provider.servedBytes - servedBefore
    const resent = served - data.length
    assert.ok(resent <= PART + 9 * OVERHEAD_PER_PART, `re-sent ${resent} bytes`)
    assert.deepEqual(await state.keys('blobs.'), [])
    await second[Symbol.asyncDispose]()
  })

  test('a completion whose record was lost (crash right after CompleteMultipartUpload) is verified by reading back, not fetched again', async () => {
    // the first write of a record holding the completion fails, as if the process died there
    class LosesCompletion extends MemoryStateStore {
      lost = 0
      override async put(key: string, value: Json): Promise<void> {
        const v = value as { completed_etag?: unknown }
        if (!key.includes('.part.') && typeof v?.completed_etag === 'string' && this.lost === 0) {
          this.lost++
          throw new Error('simulated crash after completion')
        }
        await super.put(key, value)
      }
    }
    const state = new LosesCompletion()
    await using sub = await subscriber(['dst'], state)
    const m = sub.manager()
    const data = testBytes(3 * PART + 7, 61)
    const hash = await author.publish('src', 'lost/complete', data)
    const servedBefore = author.provider.servedBytes
    const done = doneOf(m, 'lost/complete')
    await m.start()
    await m.enqueue(
      jobFor(author.t.key.publicKey, 'src', 'dst', 'lost/complete', hash, data.length),
    )
    await done
    assert.equal(state.lost, 1, 'the completion record was lost once')
    assert.ok(hashEquals(blake3(await sub.read('dst', 'lost/complete')), hash))
    assert.equal(decodeBaoMeta(await sub.read('dst', metaKey('lost/complete'))).complete, true)
    const served = author.provider.servedBytes - servedBefore
    assert.ok(
      served <= data.length + 4 * OVERHEAD_PER_PART,
      `served ${served} bytes for ${data.length}: the blob was fetched again`,
    )
    assert.deepEqual(await state.keys('blobs.'), [])
  })

  test('a stream opened ahead that the provider dropped is re-dialled without blaming it', async () => {
    const state = new GatedState()
    await using sub = await subscriber(['dst'], state)
    const m = sub.manager()
    const failed: PartAttempt[] = []
    m.onAttempt((a) => !a.ok && failed.push(a))
    const data = testBytes(2 * PART + 3, 51)
    const hash = await author.publish('src', 'predial/k', data)
    const done = doneOf(m, 'predial/k')
    await m.start()
    await m.enqueue(jobFor(author.t.key.publicKey, 'src', 'dst', 'predial/k', hash, data.length))
    await state.atGate // part 1 is uploaded; the stream for part 2 is open
    await author.provider.stop() // ends every stream it serves, the one opened ahead too
    await author.provider.start()
    state.open()
    await done
    assert.ok(hashEquals(blake3(await sub.read('dst', 'predial/k')), hash))
    assert.deepEqual(failed, [])
    assert.equal(sub.t.node.peers.get(author.id)?.lastError, undefined)
  })

  test('an overwrite while the old version transfers replaces it; the old upload is dropped', async () => {
    await using sub = await subscriber(['dst'])
    const m = sub.manager()
    const v1 = testBytes(8 * PART, 21)
    const v2 = testBytes(PART + 12_345, 22)
    const h1 = await author.publish('src', 'ow/v1', v1)
    const h2 = await author.publish('src', 'ow/v2', v2)
    const dones: TransferDone[] = []
    m.onDone((e) => dones.push(e))
    let firstPart!: () => void
    const partDone = new Promise<void>((r) => (firstPart = r))
    m.onAttempt((a) => a.ok && a.part === 1 && firstPart())
    await m.start()
    await m.enqueue(jobFor(author.t.key.publicKey, 'src', 'dst', 'ow/k', h1, v1.length, 1))
    await partDone
    const [recordKey] = await sub.state.keys('blobs.transfer.')
    const old = await sub.state.get<{ upload_id: string; hash: string }>(recordKey!)
    assert.equal(old?.hash, hashToBase32(h1))
    const done = doneOf(m, 'ow/k')
    await m.enqueue(jobFor(author.t.key.publicKey, 'src', 'dst', 'ow/k', h2, v2.length, 2))
    const rec = await sub.state.get<{ upload_id: string | null; hash: string }>(recordKey!)
    assert.equal(rec?.hash, hashToBase32(h2))
    assert.notEqual(rec?.upload_id, old?.upload_id)
    assert.ok((await done).job.seq === 2)
    assert.ok(hashEquals(blake3(await sub.read('dst', 'ow/k')), h2))
    assert.equal(decodeBaoMeta(await sub.read('dst', metaKey('ow/k'))).hash, hashToBase32(h2))
    assert.deepEqual(
      dones.map((d) => d.job.seq),
      [2],
    )
    assert.deepEqual(await sub.state.keys('blobs.'), [], 'no state of the old upload left')
    assert.deepEqual(
      m.status().map((s) => [s.key, s.hash, s.state]),
      [['ow/k', hashToBase32(h2), 'done']],
    )
  })

  test('cancel stops a transfer, writes nothing and forgets its state', async () => {
    await using sub = await subscriber(['dst'])
    const m = sub.manager()
    const data = testBytes(8 * PART, 31)
    const hash = await author.publish('src', 'cancel/k', data)
    let dones = 0
    m.onDone(() => dones++)
    let firstPart!: () => void
    const partDone = new Promise<void>((r) => (firstPart = r))
    m.onAttempt((a) => a.ok && a.part === 1 && firstPart())
    await m.start()
    await m.enqueue(jobFor(author.t.key.publicKey, 'src', 'dst', 'cancel/k', hash, data.length))
    await partDone
    await m.cancel('dst', 'cancel/k')
    assert.deepEqual(m.status(), [])
    assert.deepEqual(await sub.state.keys('blobs.'), [])
    assert.equal(await sub.store.head('dst', 'cancel/k'), undefined)
    assert.equal(m.active, 0)
    assert.equal(dones, 0)
  })

  test('an upload whose record cannot be written is aborted, not left on the server', async () => {
    // the first write of a record holding a new upload id fails (state store unavailable)
    class LosesUploadRecord extends MemoryStateStore {
      failed = 0
      override async put(key: string, value: Json): Promise<void> {
        const v = value as { upload_id?: unknown }
        if (!key.includes('.part.') && typeof v?.upload_id === 'string' && this.failed === 0) {
          this.failed++
          throw new Error('simulated state outage after CreateMultipartUpload')
        }
        await super.put(key, value)
      }
    }
    const state = new LosesUploadRecord()
    await using own = await rgw({ buckets: ['dst'] })
    await using sub = await subscriber([], state, own)
    const m = sub.manager()
    const data = testBytes(2 * PART + 5, 71)
    const hash = await author.publish('src', 'unrecorded/k', data)
    const done = doneOf(m, 'unrecorded/k')
    await m.start()
    await m.enqueue(jobFor(author.t.key.publicKey, 'src', 'dst', 'unrecorded/k', hash, data.length))
    await done
    assert.equal(state.failed, 1)
    assert.ok(hashEquals(blake3(await sub.read('dst', 'unrecorded/k')), hash))
    assert.deepEqual(await own.openUploads('dst'), [], 'multipart uploads left on the server')
  })

  test('a crash between CreateMultipartUpload and its record: the lost upload is found and aborted, no one else’s', async () => {
    await using own = await rgw({ buckets: ['dst'] })
    await using sub = await subscriber([], undefined, own)
    const data = testBytes(2 * PART + 9, 83)
    const hash = await author.publish('src', 'lost/k', data)
    const job = jobFor(author.t.key.publicKey, 'src', 'dst', 'lost/k', hash, data.length)
    // as a run that was killed right after CreateMultipartUpload left things: the intent
    // recorded, the upload on the server, its id nowhere
    const intent = Date.now()
    await new TransferStore(sub.state).saveRecord(transferId('dst', 'lost/k'), {
      job,
      partSize: PART,
      uploadId: null,
      completedEtag: null,
      startedAt: intent,
      creatingSince: intent,
    })
    const lost = await sub.store.createMultipart('dst', 'lost/k')
    const someoneElses = await sub.store.createMultipart('dst', 'other/k')
    const m = sub.manager()
    const done = doneOf(m, 'lost/k')
    await m.start()
    await m.enqueue(job)
    await done
    assert.ok(hashEquals(blake3(await sub.read('dst', 'lost/k')), hash))
    const open = await sub.store.listMultipart('dst', 'lost/k')
    assert.ok(open && !open.some((u) => u.uploadId === lost), 'the lost upload was aborted')
    assert.deepEqual(
      (await sub.store.listMultipart('dst', 'other/k'))?.map((u) => u.uploadId),
      [someoneElses],
      'another key’s upload is left alone',
    )
    await sub.store.abortMultipart('dst', 'other/k', someoneElses)
  })

  test('an upload that cannot be aborted now is recorded and aborted at the next start', async () => {
    // RGW, not s3rver: s3rver cannot abort, so only a real server shows the upload gone
    await using own = await rgw({ buckets: ['dst'] })
    await using sub = await subscriber([], undefined, own)
    const m = sub.manager()
    const data = testBytes(8 * PART, 41)
    const hash = await author.publish('src', 'abort/k', data)
    let firstPart!: () => void
    const partDone = new Promise<void>((r) => (firstPart = r))
    m.onAttempt((a) => a.ok && a.part === 1 && firstPart())
    await m.start()
    await m.enqueue(jobFor(author.t.key.publicKey, 'src', 'dst', 'abort/k', hash, data.length))
    await partDone
    await own.stop()
    await m.cancel('dst', 'abort/k')
    const aborts = await sub.state.keys('blobs.abort.')
    assert.equal(aborts.length, 1)
    assert.deepEqual(await sub.state.keys('blobs.transfer.'), [])
    await m.stop()
    await own.start()
    const m2 = sub.manager()
    await m2.start()
    await waitFor(async () => (await sub.state.keys('blobs.abort.')).length === 0)
    assert.deepEqual(await own.openUploads('dst'), [], 'the upload is gone from the server')
  })
})

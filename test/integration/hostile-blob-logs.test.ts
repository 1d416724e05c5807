/**
 * Hostile peers (issue 14), blob logs: findings 4, 5, 10 and 11. An author's
 * (or a former forwarder's) announcements cannot stop a bucket subscription,
 * roll objects back, or reach outside the bucket; the directory store never
 * goes through a symbolic link.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import pino from 'pino'
import { hashToBase32 } from '../../src/bao/index.js'
import { BucketSubscriber } from '../../src/blobs/subscriber.js'
import type { TransferJob, Transfers } from '../../src/blobs/types.js'
import { blobLogId } from '../../src/core/selector.js'
import { hasCode } from '../../src/errors/index.js'
import { MemoryStateStore } from '../../src/state/state-store.js'
import { DirObjectStore } from '../../src/store/dir-object-store.js'
import { announcedKeyProblem, metaKey } from '../../src/store/layout.js'
import { decodeBaoMeta } from '../../src/store/meta.js'
import { startTestNode, type TestNode } from '../helpers/p2p.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

/** Records what the subscriber asks of the transfer engine (the store is real). */
class RecordingTransfers implements Transfers {
  readonly queued: TransferJob[] = []
  readonly refused: Array<{ key: string; reason: string }> = []
  async enqueue(job: TransferJob): Promise<void> {
    this.queued.push(job)
  }
  cancel(): void {}
  refuse(job: { key: string }, reason: string): void {
    this.refused.push({ key: job.key, reason })
  }
}

async function readMeta(store: DirObjectStore, bucket: string, key: string) {
  const parts: Uint8Array[] = []
  const { body } = await store.get(bucket, metaKey(key))
  for await (const c of body as AsyncIterable<Uint8Array>) parts.push(c)
  return decodeBaoMeta(Buffer.concat(parts))
}

async function site(author: TestNode, opts: { delete?: boolean } = {}) {
  const dir = await tempDir()
  await mkdir(join(dir.path, 'dst'))
  const store = new DirObjectStore({ root: dir.path })
  const transfers = new RecordingTransfers()
  const node = await startTestNode({ staticNodes: [author.asStatic()] })
  const sub = new BucketSubscriber({
    author: author.key.publicKeyHex,
    subscriptions: [{ remoteBucket: 'src', localBucket: 'dst', delete: opts.delete ?? false }],
    store,
    state: new MemoryStateStore(),
    transfers,
    index: { add() {}, remove() {}, find: () => undefined } as never,
    logger: pino({ level: 'silent' }),
  })
  await node.node.subscribe({ author: author.key.publicKey, kind: 'blobs', filters: ['src'] }, sub)
  return {
    dir,
    store,
    transfers,
    node,
    sub,
    async [Symbol.asyncDispose]() {
      sub.stop()
      await node[Symbol.asyncDispose]()
      await dir[Symbol.asyncDispose]()
    },
  }
}

const put = (seq: number, key: string, hash = randomBytes(32)) => ({
  seq,
  body: { kind: 'blob-put' as const, key, hash, size: 10 },
})

describe('announced keys', () => {
  test('findings 4 and 11: unstorable keys are refused one by one; the subscription goes on', async () => {
    await using author = await startTestNode()
    const log = await author.node.publish({ logId: blobLogId('src', 1), kind: 'blobs' }, ['src'])
    await using s = await site(author)
    const bad = ['a//b', '../etc/x', 'x/../../y', '.rhio/x', 'ok/.rhio.json', '/abs', 'nul\u0000']
    let seq = 0
    log.append(put(++seq, 'first'))
    for (const k of bad) log.append(put(++seq, k))
    log.append(put(++seq, 'after/all'))
    await waitFor(() => s.transfers.queued.some((j) => j.key === 'after/all'), {
      message: 'the key after the bad ones arrives',
    })
    assert.deepEqual(
      s.transfers.queued.map((j) => j.key),
      ['first', 'after/all'],
    )
    assert.deepEqual(
      s.transfers.refused.map((r) => r.key),
      bad,
      'each bad key is recorded as a failed transfer',
    )
    // nothing was written outside the bucket's own layout
    assert.deepEqual((await readdir(s.dir.path)).sort(), ['dst'])
    for (const k of bad) assert.ok(announcedKeyProblem(k), `${JSON.stringify(k)} has a problem`)
  })
})

describe('epochs', () => {
  test('finding 5: replaying an older epoch rolls nothing back and deletes nothing re-created', async () => {
    await using author = await startTestNode()
    await using s = await site(author, { delete: true })
    const h2 = randomBytes(32)
    const h3 = randomBytes(32)
    // epoch 2 (the author lost its cache and re-announced everything)
    const e2 = await author.node.publish({ logId: blobLogId('src', 2), kind: 'blobs' }, ['src'])
    e2.append(put(1, 'k', h2))
    e2.append(put(2, 'k2', h3))
    await waitFor(() => s.transfers.queued.length >= 2, { message: 'epoch 2 arrives' })
    // a former forwarder replays the genuine epoch 1: an older k, and a delete of k2
    const e1 = await author.node.publish({ logId: blobLogId('src', 1), kind: 'blobs' }, ['src'])
    e1.append(put(1, 'k'))
    e1.append({ seq: 2, body: { kind: 'blob-delete', key: 'k2' } })
    await waitFor(() => s.sub.stale >= 2, { message: 'the replay was seen and ignored' })
    assert.equal((await readMeta(s.store, 'dst', 'k')).hash, hashToBase32(h2), 'k not rolled back')
    assert.equal((await readMeta(s.store, 'dst', 'k2')).hash, hashToBase32(h3), 'k2 not deleted')
    assert.equal(s.transfers.queued.length, 2, 'no download of the old version was queued')
  })
})

describe('directory store and symbolic links', () => {
  test('finding 10: no read or write goes through a link out of the bucket', async () => {
    await using root = await tempDir()
    await using outside = await tempDir()
    await mkdir(join(root.path, 'b'))
    await writeFile(join(outside.path, 'secret'), 'top secret')
    await symlink(outside.path, join(root.path, 'b', 'link'))
    await symlink(join(outside.path, 'secret'), join(root.path, 'b', 'file-link'))
    const store = new DirObjectStore({ root: root.path })
    const invalid = (err: unknown): boolean => hasCode(err, 'S3_INVALID_KEY')
    await assert.rejects(store.put('b', 'link/x', new TextEncoder().encode('x')), invalid)
    await assert.rejects(store.get('b', 'link/secret'), invalid)
    await assert.rejects(store.get('b', 'file-link'), invalid)
    await assert.rejects(store.head('b', 'link/secret'), invalid)
    await assert.rejects(store.delete('b', 'file-link'), invalid)
    assert.deepEqual(await readdir(outside.path), ['secret'], 'nothing written outside')
    const listed: string[] = []
    for await (const o of store.list('b')) listed.push(o.key)
    assert.deepEqual(listed, [], 'links are not listed as objects')
  })
})

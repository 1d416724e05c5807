import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { hasCode } from '../../src/errors/index.js'
import { DirStateStore, MemoryStateStore } from '../../src/state/state-store.js'
import { stateStoreContract } from '../helpers/state-store-contract.js'
import { tempDir } from '../helpers/tmp.js'

stateStoreContract('MemoryStateStore', async () => ({
  store: new MemoryStateStore(),
  dispose: async () => {},
}))

stateStoreContract('DirStateStore', async () => {
  const dir = await tempDir('rhio-state-')
  return {
    store: new DirStateStore(join(dir.path, 'state')),
    dispose: async () => {
      await dir[Symbol.asyncDispose]()
    },
  }
})

describe('DirStateStore specifics', () => {
  test('a file that is not JSON fails with STATE_READ_FAILED', async () => {
    await using dir = await tempDir('rhio-state-')
    const store = new DirStateStore(dir.path)
    await writeFile(join(dir.path, 'heights.a.json'), '{"height": 1')
    await assert.rejects(store.get('heights.a'), (err) => hasCode(err, 'STATE_READ_FAILED'))
  })

  test('an unusable directory fails with STATE_WRITE_FAILED / STATE_READ_FAILED and leaves no temp files', async () => {
    await using dir = await tempDir('rhio-state-')
    const notADir = join(dir.path, 'file')
    await writeFile(notADir, 'x')
    const store = new DirStateStore(notADir)
    await assert.rejects(store.put('a', 1), (err) => hasCode(err, 'STATE_WRITE_FAILED'))
    await assert.rejects(store.keys(''), (err) => hasCode(err, 'STATE_READ_FAILED'))
    await assert.rejects(store.get('a'), (err) => hasCode(err, 'STATE_READ_FAILED'))
    assert.deepEqual(await readdir(dir.path), ['file'])
  })

  test('writes are atomic: only complete documents are ever listed', async () => {
    await using dir = await tempDir('rhio-state-')
    const store = new DirStateStore(dir.path)
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put('k', { i })))
    assert.deepEqual(await store.keys(''), ['k'])
    assert.deepEqual(await readdir(dir.path), ['k.json'])
  })
})

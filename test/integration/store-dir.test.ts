import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { DirObjectStore } from '../../src/store/dir-object-store.js'
import { objectStoreContract } from '../helpers/store-contract.js'
import { tempDir } from '../helpers/tmp.js'

objectStoreContract('DirObjectStore', async () => {
  const dir = await tempDir('rhio-store-dir-')
  return {
    store: new DirObjectStore({ root: dir.path }),
    createBucket: async (name) => {
      await mkdir(join(dir.path, name))
    },
    dispose: async () => {
      await dir[Symbol.asyncDispose]()
    },
  }
})

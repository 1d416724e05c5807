import { MemoryFrameStore } from '../../src/log/frame-store.js'
import { frameStoreContract } from '../helpers/frame-store-contract.js'

frameStoreContract('MemoryFrameStore', async () => ({
  open: async (info, opts) => new MemoryFrameStore(info, opts?.maxBytes),
  dispose: async () => {},
}))

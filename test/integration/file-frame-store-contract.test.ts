import { FileFrameStore } from '../../src/log/file-frame-store.js'
import { logDirOf } from '../../src/log/file-layout.js'
import { frameStoreContract, type FrameStoreTarget } from '../helpers/frame-store-contract.js'
import { tempDir } from '../helpers/tmp.js'

function fileTarget(extra: { segmentBytes?: number; tailCacheBytes?: number }) {
  return async (): Promise<FrameStoreTarget> => {
    const dir = await tempDir('rhio-frames-')
    return {
      open: (info, opts) =>
        FileFrameStore.open({
          dir: logDirOf(dir.path, info),
          info,
          ...extra,
          ...(opts?.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
        }),
      dispose: async () => {
        await dir[Symbol.asyncDispose]()
      },
    }
  }
}

frameStoreContract('FileFrameStore', fileTarget({}))
// Every read from disk, segments rolled every few records.
frameStoreContract(
  'FileFrameStore (no tail cache, 4 KiB segments)',
  fileTarget({ segmentBytes: 4096, tailCacheBytes: 0 }),
)

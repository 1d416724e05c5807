/**
 * The object store a node uses: S3 when `s3` is configured, otherwise the
 * embedded local-directory store under `<data_dir>/buckets` (each bucket a
 * subdirectory that must exist, as buckets must on S3).
 */
import { join } from 'node:path'
import type { Config } from '../config/index.js'
import { DirObjectStore, S3ObjectStore, type ObjectStore } from './index.js'

export function localStoreRoot(config: Config): string {
  return join(config.data_dir, 'buckets')
}

export function createObjectStore(config: Config): ObjectStore {
  if (config.s3) {
    return S3ObjectStore.fromConfig({
      endpoint: config.s3.endpoint,
      region: config.s3.region,
      ...(config.s3.credentials ? { credentials: config.s3.credentials } : {}),
    })
  }
  return new DirObjectStore({ root: localStoreRoot(config) })
}

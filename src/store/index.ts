// Object stores: one interface, an S3 and a local-directory implementation,
// and rhio's layout of blobs inside a bucket.
export type {
  BodySource,
  BucketStatus,
  CompletedPart,
  GetOptions,
  GetResult,
  ListOptions,
  ObjectInfo,
  ObjectStore,
  PutBody,
  PutOptions,
  SignalOptions,
} from './object-store.js'
export { StoreErrorCode } from './errors.js'
export { MIN_PART_SIZE, MAX_PART_NUMBER, MAX_KEY_BYTES } from './constants.js'
export { S3ObjectStore, type S3ObjectStoreInit } from './s3-object-store.js'
export {
  createS3Client,
  type S3ClientOptions,
  type S3EndpointConfig,
  type S3Logger,
} from './s3-client.js'
export { DirObjectStore, type DirObjectStoreInit } from './dir-object-store.js'
export { STORE_DIR } from './dir-paths.js'
export {
  META_CONTENT_TYPE,
  META_SUFFIX,
  OUTBOARD_SUFFIX,
  RHIO_PREFIX,
  blobKeys,
  dataKeyOfMeta,
  dataKeyOfOutboard,
  isInternalKey,
  metaKey,
  outboardKey,
  type BlobKeys,
} from './layout.js'
export { decodeBaoMeta, encodeBaoMeta, type BaoMeta } from './meta.js'

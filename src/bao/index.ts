// Public surface of the blob format module (BLAKE3 tree, bao outboards, verified range
// streams, iroh-blobs request encoding). Pure code: only wasm-backend.ts reads a file.
export { type Blake3Backend, MAX_BLOCK_LOG, groupCount, jsBackend } from './backend.js'
export { CHUNK_LEN, blake3Xof, type Blake3XofOptions } from './blake3-core.js'
export {
  BaoDecoder,
  type DecodeEvent,
  type DecodeStreamOptions,
  type DecoderOptions,
  type LeafEvent,
  type ParentEvent,
  type SizeEvent,
  decodeStream,
} from './decode.js'
export {
  type EncodeOptions,
  type EncodeSource,
  type ReadData,
  type ReadOutboard,
  encodeRanges,
  encodeRangePieces,
} from './encode.js'
export {
  BlobHashParseError,
  BlobLocalDataError,
  type BlobLocalReason,
  BlobRequestError,
  BlobVerifyError,
  type BlobVerifyReason,
} from './errors.js'
export {
  type BlobHash,
  HASH_LEN,
  hashEquals,
  hashToBase32,
  hashToHex,
  parseBlobHash,
} from './hash-text.js'
export { Blake3Hasher, type HasherOptions, blake3, blake3Parts } from './hasher.js'
export {
  type ComputeOutboardOptions,
  OutboardBuilder,
  type OutboardOptions,
  type OutboardResult,
  computeOutboard,
  outboardFromGroupCvs,
} from './outboard.js'
export { type ChunkNum, type ChunkRange, ChunkRanges, U64_MAX } from './ranges.js'
export {
  type GetRequest,
  MAX_RANGE_BOUNDARIES,
  MAX_SEQ_ENTRIES,
  RangeSpecSeq,
  type RangeSpecRun,
  decodeGetRequest,
  decodeRangeSpec,
  encodeGetRequest,
  encodeRangeSpec,
  getRequest,
} from './request.js'
export { IROH_BLOCK_LOG, outboardSize } from './tree.js'
export {
  type CreateBackendOptions,
  createBlake3Backend,
  defaultBlake3Backend,
  loadWasmBackend,
} from './wasm-backend.js'

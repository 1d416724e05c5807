/**
 * Every error code rhio reports, as one `as const` registry per area. Each
 * code has a row in docs/ERRORS.md (meaning and fix); a test checks both
 * directions, so a code cannot be added here without documenting it.
 * Codes never change meaning; new ones are added.
 */

/** Configuration (`src/config/`). Exit 2. */
export const ConfigErrorCode = {
  INVALID: 'CONFIG_INVALID',
  NOT_FOUND: 'CONFIG_NOT_FOUND',
  READ: 'CONFIG_READ',
  YAML: 'CONFIG_YAML',
} as const

/** The node's key file (`src/identity/`). Exit 2. */
export const KeyErrorCode = {
  NOT_FOUND: 'KEY_NOT_FOUND',
  INVALID: 'KEY_INVALID',
  INSECURE: 'KEY_INSECURE',
  UNREADABLE: 'KEY_UNREADABLE',
  EXISTS: 'KEY_EXISTS',
  WRITE_FAILED: 'KEY_WRITE_FAILED',
} as const

/** Starting the node and its HTTP server (`src/node/`, `src/http/`). */
export const NodeErrorCode = {
  START_FAILED: 'NODE_START_FAILED',
  HTTP_LISTEN_FAILED: 'HTTP_LISTEN_FAILED',
  P2P_LISTEN_FAILED: 'P2P_LISTEN_FAILED',
} as const

/** JetStream source and sink (`src/nats/`). */
export const NatsErrorCode = {
  CONNECTION_CLOSED: 'NATS_CONNECTION_CLOSED',
  DISCONNECTED: 'NATS_DISCONNECTED',
  CONSUMER_CLOSED: 'NATS_CONSUMER_CLOSED',
  CONSUMER_DELETED: 'NATS_CONSUMER_DELETED',
  CONSUMER_FAILED: 'NATS_CONSUMER_FAILED',
  CONSUMER_GAP: 'NATS_CONSUMER_GAP',
  CONSUMER_IDLE: 'NATS_CONSUMER_IDLE',
  CONSUMER_STALLED: 'NATS_CONSUMER_STALLED',
  HEADER_INVALID: 'NATS_HEADER_INVALID',
  NO_STREAM: 'NATS_NO_STREAM',
  PAYLOAD_TOO_LARGE: 'NATS_PAYLOAD_TOO_LARGE',
  PUBLISH_FAILED: 'NATS_PUBLISH_FAILED',
  PUBLISH_REJECTED: 'NATS_PUBLISH_REJECTED',
  PUBLISH_TIMEOUT: 'NATS_PUBLISH_TIMEOUT',
  REORDERED: 'NATS_REORDERED',
  SINK_CONFIG: 'NATS_SINK_CONFIG',
  SINK_STOPPED: 'NATS_SINK_STOPPED',
  SOURCE_BUSY: 'NATS_SOURCE_BUSY',
  SOURCE_CONFIG: 'NATS_SOURCE_CONFIG',
  SOURCE_STOPPED: 'NATS_SOURCE_STOPPED',
  STREAM_NOT_FOUND: 'NATS_STREAM_NOT_FOUND',
  SUBJECT_INVALID: 'NATS_SUBJECT_INVALID',
  WRONG_STREAM: 'NATS_WRONG_STREAM',
} as const

/** Object stores, S3 and directory alike (`src/store/`). */
export const StoreErrorCode = {
  /** The bucket does not exist. */
  NO_SUCH_BUCKET: 'S3_NO_SUCH_BUCKET',
  /** The object does not exist. */
  NO_SUCH_KEY: 'S3_NO_SUCH_KEY',
  /** The multipart upload id is unknown (completed, aborted or expired). */
  NO_SUCH_UPLOAD: 'S3_NO_SUCH_UPLOAD',
  /** completeMultipart got a missing/mismatched/too small part or parts out of order. */
  INVALID_PART: 'S3_INVALID_PART',
  /** A ranged get started at or beyond the end of the object. */
  INVALID_RANGE: 'S3_INVALID_RANGE',
  /** A streamed body yielded more or fewer bytes than its declared length. */
  BODY_LENGTH: 'S3_BODY_LENGTH',
  /** The key or bucket name cannot be stored by this store. */
  INVALID_KEY: 'S3_INVALID_KEY',
  /** Credentials rejected or not allowed. */
  ACCESS_DENIED: 'S3_ACCESS_DENIED',
  /** Network failure, timeout or server-side (5xx) error after retries. */
  UNAVAILABLE: 'S3_UNAVAILABLE',
  /** Any other store failure. */
  ERROR: 'S3_ERROR',
  /** A `.rhio.json` meta object is not valid BaoMeta JSON. */
  META_INVALID: 'S3_META_INVALID',
} as const

/** The state store: NATS KV or a directory (`src/state/`). */
export const StateErrorCode = {
  BAD_KEY: 'STATE_BAD_KEY',
  READ_FAILED: 'STATE_READ_FAILED',
  WRITE_FAILED: 'STATE_WRITE_FAILED',
  UNAVAILABLE: 'STATE_UNAVAILABLE',
} as const

/** Frame caches under `data_dir/logs` (`src/log/`). */
export const LogErrorCode = {
  ENTRY_TOO_LARGE: 'ENTRY_TOO_LARGE',
  FRAME_STORE_CLOSED: 'FRAME_STORE_CLOSED',
  FRAME_STORE_CORRUPT: 'FRAME_STORE_CORRUPT',
  FRAME_STORE_OPEN_FAILED: 'FRAME_STORE_OPEN_FAILED',
  FRAME_STORE_READ_FAILED: 'FRAME_STORE_READ_FAILED',
  FRAME_STORE_WRITE_FAILED: 'FRAME_STORE_WRITE_FAILED',
} as const

/** Peer input: decoding, framing and the sync protocol (`src/core/`, `src/p2p/`, `src/sync/`). */
export const PeerErrorCode = {
  DECODE_ERROR: 'DECODE_ERROR',
  FRAME_MALFORMED: 'FRAME_MALFORMED',
  FRAME_OVERSIZED: 'FRAME_OVERSIZED',
  FRAME_TIMEOUT: 'FRAME_TIMEOUT',
  STREAM_CLOSED: 'STREAM_CLOSED',
  SYNC_REJECTED: 'SYNC_REJECTED',
  SYNC_REQUEST_TIMEOUT: 'SYNC_REQUEST_TIMEOUT',
} as const

/** BLAKE3/bao formats and blob transfer (`src/bao/`, `src/blobs/`). */
export const BlobErrorCode = {
  BAD_RESPONSE: 'BLOB_BAD_RESPONSE',
  HASH_INVALID: 'BLOB_HASH_INVALID',
  HASH_MISMATCH: 'BLOB_HASH_MISMATCH',
  JOB_INVALID: 'BLOB_JOB_INVALID',
  LOCAL_CORRUPT: 'BLOB_LOCAL_CORRUPT',
  NO_HOLDER: 'BLOB_NO_HOLDER',
  PROVIDER_STOPPED: 'BLOB_PROVIDER_STOPPED',
  REMOTE_ERROR: 'BLOB_REMOTE_ERROR',
  REQUEST_INVALID: 'BLOB_REQUEST_INVALID',
  TRANSFER_CANCELLED: 'BLOB_TRANSFER_CANCELLED',
  TRANSFER_CONFIG: 'BLOB_TRANSFER_CONFIG',
  TRANSFER_STOPPED: 'BLOB_TRANSFER_STOPPED',
  UPLOAD_LOST: 'BLOB_UPLOAD_LOST',
  VERIFY_FAILED: 'BLOB_VERIFY_FAILED',
} as const

/** `rhio client` (`src/cli/client/`). */
export const ClientErrorCode = {
  /** NATS did not answer at `nats.endpoint` (refused, timeout, DNS). */
  NATS_UNREACHABLE: 'CLIENT_NATS_UNREACHABLE',
  /** Any other NATS failure: credentials rejected, permission denied, payload too large. */
  NATS_FAILED: 'CLIENT_NATS_FAILED',
  /** `pub`: no JetStream stream captures the subject (or JetStream is off). */
  NO_STREAM: 'CLIENT_NO_STREAM',
  /** `sub --stream`: the stream does not exist. */
  STREAM_NOT_FOUND: 'CLIENT_STREAM_NOT_FOUND',
  /** `stream add`: the name is taken by a stream with other subjects, or the subjects overlap another stream. */
  STREAM_CONFLICT: 'CLIENT_STREAM_CONFLICT',
  /** `bucket add` on the directory store: a name S3 would refuse. */
  BUCKET_NAME_INVALID: 'CLIENT_BUCKET_NAME_INVALID',
  /** A file to read (`put FILE`, `pub @FILE`) does not exist or cannot be read. */
  FILE_UNREADABLE: 'CLIENT_FILE_UNREADABLE',
  /** `get --out FILE` cannot write the file. */
  FILE_WRITE_FAILED: 'CLIENT_FILE_WRITE_FAILED',
  /** `sub --count N --timeout S`: fewer than N messages arrived in time. */
  TIMEOUT: 'CLIENT_TIMEOUT',
} as const

type Values<T> = T[keyof T]
export type ConfigErrorCode = Values<typeof ConfigErrorCode>
export type KeyErrorCode = Values<typeof KeyErrorCode>
export type NodeErrorCode = Values<typeof NodeErrorCode>
export type NatsErrorCode = Values<typeof NatsErrorCode>
export type StoreErrorCode = Values<typeof StoreErrorCode>
export type StateErrorCode = Values<typeof StateErrorCode>
export type LogErrorCode = Values<typeof LogErrorCode>
export type PeerErrorCode = Values<typeof PeerErrorCode>
export type BlobErrorCode = Values<typeof BlobErrorCode>
export type ClientErrorCode = Values<typeof ClientErrorCode>

/** Every code rhio reports. */
export type ErrorCode =
  | ConfigErrorCode
  | KeyErrorCode
  | NodeErrorCode
  | NatsErrorCode
  | StoreErrorCode
  | StateErrorCode
  | LogErrorCode
  | PeerErrorCode
  | BlobErrorCode
  | ClientErrorCode

/** The registries by area, for docs checks and tools. */
export const ERROR_CODES = {
  config: ConfigErrorCode,
  key: KeyErrorCode,
  node: NodeErrorCode,
  nats: NatsErrorCode,
  store: StoreErrorCode,
  state: StateErrorCode,
  log: LogErrorCode,
  peer: PeerErrorCode,
  blob: BlobErrorCode,
  client: ClientErrorCode,
} as const

/** Every code, sorted. */
export function allErrorCodes(): ErrorCode[] {
  return Object.values(ERROR_CODES)
    .flatMap((r) => Object.values(r) as ErrorCode[])
    .sort()
}

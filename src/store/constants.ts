/** Defaults of the object stores, each with the reason for its value. */

/** S3 rejects multipart parts below 5 MiB except the last one (EntityTooSmall). */
export const MIN_PART_SIZE = 5 * 1024 * 1024

/** S3's limit on part numbers (1..10000). */
export const MAX_PART_NUMBER = 10_000

/** S3's limit on key length, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024

/** Content type of objects written without one (what S3 itself assumes). */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

/**
 * Attempts per S3 request (first try + retries) for transient failures
 * (connection refused/reset, timeouts, 5xx, throttling). Small on purpose: a
 * stopped server must surface as S3_UNAVAILABLE within about a second so the
 * caller's own backoff and /health take over, not after minutes of SDK retries.
 * Streamed bodies are never retried by the SDK (a stream cannot be replayed).
 */
export const S3_MAX_ATTEMPTS = 3

/** Time to establish a TCP connection; loopback or LAN S3 answers in milliseconds. */
export const S3_CONNECT_TIMEOUT_MS = 3_000

/**
 * Socket inactivity limit for any request, including streamed uploads and
 * downloads (not a total deadline, so multi-GiB transfers are fine). Long
 * enough for a server assembling a large multipart object before it answers.
 */
export const S3_SOCKET_TIMEOUT_MS = 60_000

/**
 * Keep-alive sockets per endpoint. Blob replication uploads several parts and
 * serves several range reads at once; 64 leaves room for both without letting
 * one node open unbounded connections to the store.
 */
export const S3_MAX_SOCKETS = 64

/** ListObjectsV2 page size; 1000 is the S3 maximum and default. */
export const S3_LIST_PAGE_SIZE = 1000

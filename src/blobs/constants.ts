/** Defaults of the blob transfer engine, each with the reason for its value. */

const KiB = 1024
const MiB = 1024 * KiB

/**
 * Largest frame on the blobs protocol (tag byte included). Big enough that framing costs
 * nothing measurable, small enough that one frame never holds much more than the 16 KiB
 * verification unit and a cancelled response stops within a few frames.
 */
export const BLOB_FRAME_BYTES = 64 * KiB

/** A request is a hash plus a few ranges; anything near this is not a rhio fetcher. */
export const MAX_REQUEST_BYTES = 4 * KiB

/**
 * Range boundaries a provider accepts per request. rhio's fetcher asks for one range (two
 * boundaries); iroh getters ask for a handful. Each boundary costs a walk of the tree.
 */
export const MAX_REQUEST_BOUNDARIES = 64

/** Time a provider waits for the request frame after the stream opens. */
export const REQUEST_TIMEOUT_MS = 10_000

/**
 * A stream opened ahead for the next part is used only this fresh: well inside the provider's
 * REQUEST_TIMEOUT_MS, so it is never closed under the request.
 */
export const PREDIAL_MAX_AGE_MS = 5_000

/**
 * A blob stream with no traffic either way for this long is dead. Above the S3 socket timeout's
 * typical stalls of a busy store, below anything an operator would call "hung".
 */
export const STREAM_INACTIVITY_MS = 60_000

/**
 * Decoded frames buffered per response before the reader pauses the stream: one S3 upload
 * write's worth (four frames). More bought no speed on the 1 GiB bench and kept buffers alive
 * long enough to reach V8's old generation, where they wait for a full GC (RSS).
 */
export const RESPONSE_HIGH_WATER_BYTES = 256 * KiB

/**
 * Outboard bytes a provider keeps in memory (LRU by bytes, in pages). 16 MiB holds the whole
 * outboard of a 4 GiB blob, or the hot pages of many.
 */
export const OUTBOARD_CACHE_BYTES = 16 * MiB

/** Outboard page read per S3 GET: 1024 pairs, the parents of 16 MiB of data. */
export const OUTBOARD_PAGE_BYTES = 64 * KiB

/**
 * Objects up to this size are fetched into memory and written with one PUT: S3 servers such as
 * s3rver keep the truncated body of an aborted streamed PUT visible, so a PUT is only sent once
 * every byte has been verified. Larger objects go through multipart uploads, whose parts stay
 * invisible until completed.
 */
export const SINGLE_PUT_MAX_BYTES = 8 * MiB

/** Jobs waiting in the queue before `enqueue` waits for room (explicit backpressure). */
export const MAX_QUEUED_TRANSFERS = 4096

/** Finished transfers kept in `status()` for /health. */
export const RECENT_TRANSFERS = 64

/** Retry delays of a transfer that failed (no holder, store down): exponential, capped. */
export const RETRY_MIN_MS = 1_000
export const RETRY_MAX_MS = 60_000

/**
 * How long a transfer avoids a peer after a failed request, by what went wrong: a busy peer is
 * asked again soon; so is one that lacks the blob, because a forwarder announces a blob as soon as
 * it verified the announcement and usually holds the data a moment later (a not-found request is
 * a few bytes); one that sent bad bytes much later (it is also penalised).
 */
export const PEER_COOLDOWN_MS = {
  busy: 2_000,
  'not-found': 3_000,
  error: 5_000,
  corrupt: 5 * 60_000,
} as const

/** Group chaining values per state record: 256 KiB raw, ~342 KiB as base64 (KV limit is 1 MiB). */
export const CVS_PER_RECORD = 8192

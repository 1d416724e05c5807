/**
 * Frames of the blobs protocol (`/rhio/<net>/blobs/1`), one request per stream:
 *
 *   fetcher → provider   one frame: iroh-blobs postcard `Request::Get(GetRequest)`, then close
 *   provider → fetcher   data frames, then close; or an error frame (possibly after data), then close
 *
 *   data  = 0x00 ‖ response bytes (1 .. 65535): consecutive pieces of the iroh-blobs response
 *           (u64 LE size, then parents and leaves in pre-order)
 *   error = 0x01 ‖ code:u8 ‖ message: UTF-8, at most 512 bytes
 *
 * Frames are FramedStream frames (LEB128 length prefix), at most BLOB_FRAME_BYTES long.
 */
import { RhioError } from '../errors/index.js'
import { BLOB_FRAME_BYTES } from './constants.js'

export const FRAME_DATA = 0
export const FRAME_ERROR = 1

/** Response bytes per data frame (the tag takes one byte of the frame). */
export const DATA_PER_FRAME = BLOB_FRAME_BYTES - 1

const MAX_MESSAGE_BYTES = 512

/** Why a provider did not (fully) answer. Stable wire values. */
export const REMOTE_ERROR_CODES = {
  'not-found': 1,
  busy: 2,
  'bad-request': 3,
  unsupported: 4,
  'too-large': 5,
  unavailable: 6,
  internal: 7,
} as const

export type RemoteErrorCode = keyof typeof REMOTE_ERROR_CODES | 'unknown'

const BY_VALUE = new Map<number, RemoteErrorCode>(
  Object.entries(REMOTE_ERROR_CODES).map(([k, v]) => [v, k as RemoteErrorCode]),
)

/** A provider's error frame, as the fetcher sees it. */
export class BlobRemoteError extends RhioError {
  constructor(
    readonly remote: RemoteErrorCode,
    readonly peer: string,
    detail: string,
  ) {
    super('BLOB_REMOTE_ERROR', `peer ${peer.slice(0, 16)} answered ${remote}: ${detail}`)
    this.name = 'BlobRemoteError'
  }
}

/** A provider's answer broke the protocol (bad tag, empty frame, wrong size, extra frames). */
export class BlobBadResponseError extends RhioError {
  constructor(
    readonly peer: string,
    readonly reason: 'malformed' | 'bad-blob-size' | 'oversized',
    detail: string,
  ) {
    super(
      'BLOB_BAD_RESPONSE',
      `peer ${peer.slice(0, 16)} sent a bad response (${reason}): ${detail}`,
    )
    this.name = 'BlobBadResponseError'
  }
}

export function encodeErrorFrame(
  code: keyof typeof REMOTE_ERROR_CODES,
  message: string,
): Uint8Array {
  let text = new TextEncoder().encode(message)
  if (text.length > MAX_MESSAGE_BYTES) text = text.subarray(0, MAX_MESSAGE_BYTES)
  const out = new Uint8Array(2 + text.length)
  out[0] = FRAME_ERROR
  out[1] = REMOTE_ERROR_CODES[code]
  out.set(text, 2)
  return out
}

/** A data frame holding a copy of `bytes` (at most DATA_PER_FRAME). */
export function encodeDataFrame(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0 || bytes.length > DATA_PER_FRAME) {
    throw new RangeError(`a data frame holds 1..${DATA_PER_FRAME} bytes, got ${bytes.length}`)
  }
  const out = new Uint8Array(1 + bytes.length)
  out[0] = FRAME_DATA
  out.set(bytes, 1)
  return out
}

const DATA_TAG = new Uint8Array([FRAME_DATA])

/**
 * A data frame as a list: the tag, then `views` (1..DATA_PER_FRAME bytes in all, not copied).
 * Returns the list and its length, for FramedStream.writeParts.
 */
export function dataFrameParts(views: readonly Uint8Array[]): [Uint8Array[], number] {
  let n = 0
  for (const v of views) n += v.length
  if (n === 0 || n > DATA_PER_FRAME) {
    throw new RangeError(`a data frame holds 1..${DATA_PER_FRAME} bytes, got ${n}`)
  }
  return [[DATA_TAG, ...views], n + 1]
}

export type ResponseFrame =
  { type: 'data'; bytes: Uint8Array } | { type: 'error'; code: RemoteErrorCode; message: string }

/** Parses a provider frame; `undefined` for a frame that is neither (a protocol violation). */
export function decodeResponseFrame(frame: Uint8Array): ResponseFrame | undefined {
  const tag = frame[0]
  if (tag === FRAME_DATA && frame.length > 1) return { type: 'data', bytes: frame.subarray(1) }
  if (tag === FRAME_ERROR && frame.length >= 2) {
    const code = BY_VALUE.get(frame[1]!) ?? 'unknown'
    const message = new TextDecoder().decode(frame.subarray(2, 2 + MAX_MESSAGE_BYTES))
    return { type: 'error', code, message }
  }
  return undefined
}

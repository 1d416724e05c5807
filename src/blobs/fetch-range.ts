/**
 * Fetching side of one request: opens a blobs stream to a peer, asks for the chunk ranges
 * covering bytes [start, end) of a blob, and yields only verified bytes, in order, while
 * collecting the chaining value of every 16 KiB group (so the outboard can be built later
 * without reading the data again). `start` must be a multiple of the group size and `end` one
 * too, or the blob's size.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import {
  BaoDecoder,
  BlobVerifyError,
  type BlobHash,
  ChunkRanges,
  encodeGetRequest,
  getRequest,
} from '../bao/index.js'
import { fromHex } from '../core/codec.js'
import { FramedStream } from '../p2p/framing.js'
import { peerIdFromRhioKey } from '../p2p/host.js'
import { openStream } from '../p2p/streams.js'
import { withDeadline } from '../util/abort.js'
import { BLOB_FRAME_BYTES, RESPONSE_HIGH_WATER_BYTES, STREAM_INACTIVITY_MS } from './constants.js'
import { concatBytes } from '../util/bytes.js'
import { BlobBadResponseError, BlobRemoteError, FRAME_DATA, decodeResponseFrame } from './wire.js'

export const GROUP_BYTES = 16 * 1024
const CHUNK_BYTES = 1024
const DIAL_TIMEOUT_MS = 10_000
/** Verified bytes handed downstream at a time (a multiple of the group size). */
const OUTPUT_BATCH_BYTES = 256 * 1024

export interface RangeFetchInit {
  host: Libp2p
  protocol: string
  /** The peer's 64-hex public key. */
  peer: string
  hash: BlobHash
  /** The blob's size as announced; a response declaring another size is refused. */
  size: number
  start: number
  end: number
  signal: AbortSignal
  /** Called with the length of each verified piece as it is released. */
  onVerified?: (bytes: number) => void
  /** Called once every byte of the range has been received and verified. */
  onReceived?: () => void
  /** A stream to this peer opened ahead of time (see dialBlobs); dialled here otherwise. */
  stream?: Promise<Stream>
}

/** Opens a blobs stream to `peer` (a 64-hex public key). */
export async function dialBlobs(
  host: Libp2p,
  protocol: string,
  peer: string,
  signal: AbortSignal,
): Promise<Stream> {
  const stream = await withDeadline(signal, DIAL_TIMEOUT_MS, (s) =>
    openStream(host, peerIdFromRhioKey(fromHex(peer)), protocol, { signal: s }),
  )
  stream.inactivityTimeout = STREAM_INACTIVITY_MS
  return stream
}

export class RangeFetch {
  readonly #o: RangeFetchInit
  #framed: FramedStream | undefined
  #finished = false
  /** Verified bytes released so far. */
  verified = 0
  /** Chaining values of the range's groups, 32 bytes each, filled as groups verify. */
  readonly cvs: Uint8Array

  constructor(init: RangeFetchInit) {
    const { start, end, size } = init
    if (start % GROUP_BYTES !== 0 || end <= start || end > size) {
      throw new RangeError(`bad range ${start}..${end} of a blob of ${size} bytes`)
    }
    if (end !== size && end % GROUP_BYTES !== 0) {
      throw new RangeError(`range end ${end} is not on a group boundary`)
    }
    this.#o = init
    this.cvs = new Uint8Array(Math.ceil((end - start) / GROUP_BYTES) * 32)
  }

  /**
   * True once every byte of the range was verified and released. (The consumer may stop before
   * the provider's close is seen: an upload can finish as soon as its last byte is sent.)
   */
  get complete(): boolean {
    return this.verified === this.#o.end - this.#o.start
  }

  /** Dials the peer and sends the request. */
  async open(): Promise<void> {
    const { host, protocol, peer, signal } = this.#o
    const stream = await (this.#o.stream ?? dialBlobs(host, protocol, peer, signal))
    this.#framed = new FramedStream(stream, {
      maxFrameBytes: BLOB_FRAME_BYTES,
      highWaterBytes: RESPONSE_HIGH_WATER_BYTES,
    })
    const ranges = ChunkRanges.from(
      this.#o.start / CHUNK_BYTES,
      Math.ceil(this.#o.end / CHUNK_BYTES),
    )
    await this.#framed.write(encodeGetRequest(getRequest(this.#o.hash, ranges)), signal)
    await this.#framed.closeWrite()
  }

  /**
   * The verified bytes of the range, in order. Throws BlobVerifyError (corrupt or truncated),
   * BlobRemoteError (the provider's error frame), BlobBadResponseError, FrameError or a stream
   * error; nothing unverified is ever yielded.
   */
  async *data(): AsyncGenerator<Uint8Array, void, undefined> {
    const framed = this.#framed
    if (framed === undefined) throw new Error('RangeFetch.data() before open()')
    const { hash, size, start, end, signal, peer } = this.#o
    const ranges = ChunkRanges.from(start / CHUNK_BYTES, Math.ceil(end / CHUNK_BYTES))
    const decoder = new BaoDecoder(hash, ranges, { maxSize: Number.MAX_SAFE_INTEGER })
    let next = start
    // verified bytes go out in batches: far fewer socket writes and promises per byte downstream
    let batch = new Uint8Array(0)
    let filled = 0
    try {
      while (!decoder.done) {
        // a frame's pieces go to the decoder as they are: only a node spanning two is joined
        const parts = await framed.readParts(signal)
        if (parts === undefined) {
          decoder.end() // throws 'truncated'
          break
        }
        if (parts[0]?.[0] === FRAME_DATA && (parts[0].length > 1 || parts.length > 1)) {
          decoder.push(parts[0].subarray(1))
          for (let i = 1; i < parts.length; i++) decoder.push(parts[i]!)
        } else {
          const f = decodeResponseFrame(concatBytes(parts))
          if (f === undefined) throw new BlobBadResponseError(peer, 'malformed', 'unknown frame')
          if (f.type === 'error') throw new BlobRemoteError(f.code, peer, f.message)
          decoder.push(f.bytes)
        }
        for (let ev = decoder.next(); ev !== undefined; ev = decoder.next()) {
          if (ev.type === 'size') {
            if (ev.size !== size) {
              const msg = `declared size ${ev.size}, the announcement says ${size}`
              throw new BlobBadResponseError(peer, 'bad-blob-size', msg)
            }
            continue
          }
          if (ev.type !== 'leaf') continue
          if (ev.offset !== next || ev.group === undefined || ev.offset + ev.data.length > end) {
            const msg = `unexpected leaf at ${ev.offset} (+${ev.data.length}), wanted ${next}`
            throw new BlobBadResponseError(peer, 'malformed', msg)
          }
          this.cvs.set(ev.group.cv, ((ev.offset - start) / GROUP_BYTES) * 32)
          if (filled === batch.length) {
            batch = new Uint8Array(Math.min(OUTPUT_BATCH_BYTES, end - next))
            filled = 0
          }
          batch.set(ev.data, filled)
          filled += ev.data.length
          next += ev.data.length
          this.verified += ev.data.length
          this.#o.onVerified?.(ev.data.length)
          if (filled === batch.length) yield batch
        }
      }
      if (next !== end) {
        throw new BlobBadResponseError(
          peer,
          'malformed',
          `response ended at ${next}, wanted ${end}`,
        )
      }
      this.#o.onReceived?.()
      if (decoder.buffered > 0) {
        throw new BlobVerifyError(
          'trailing-bytes',
          decoder.consumed,
          undefined,
          'bytes after the response',
        )
      }
      // the provider closes after the response; anything more is a protocol violation
      if ((await framed.read(signal)) !== undefined) {
        throw new BlobBadResponseError(peer, 'malformed', 'frames after the response')
      }
      this.#finished = true
    } finally {
      if (!this.#finished) framed.abort(new Error('blob fetch ended early'))
    }
  }

  /** Releases the stream (aborts it unless the response completed). */
  close(): void {
    if (!this.#finished) this.#framed?.abort(new Error('blob fetch closed'))
  }
}

/**
 * Serving side of the blobs protocol: answers range requests for complete blobs in the index
 * from the object store (data by ranged GETs of whole spans, outboard from a paged LRU),
 * validating every byte against the blob hash before it leaves (encodeRangePieces); data read
 * while the store reports the ETag the object had when it was hashed is sent without hashing it
 * again (parents are still checked). A location whose data no longer matches its outboard is
 * dropped from the index and reported, so the log side re-imports it; the requester gets an error
 * frame, never bad bytes it knows of. Frames go out as lists of views of the data read (no copy
 * before encryption).
 */
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import {
  BlobLocalDataError,
  type BlobHash,
  type ChunkRanges,
  decodeGetRequest,
  encodeRangePieces,
  hashToBase32,
} from '../bao/index.js'
import { toHex } from '../core/codec.js'
import { RhioError, describeError, hasCode } from '../errors/index.js'
import { AbortGroup, withDeadline } from '../util/abort.js'
import { FrameError, FramedStream } from '../p2p/framing.js'
import { peerPublicKey, protocolId } from '../p2p/host.js'
import { penalizeFrameError, type PenaltyBox } from '../p2p/penalty-box.js'
import { ON_LIMITED } from '../p2p/streams.js'
import { StoreErrorCode, type ObjectStore } from '../store/index.js'
import {
  BLOB_FRAME_BYTES,
  MAX_REQUEST_BOUNDARIES,
  MAX_REQUEST_BYTES,
  REQUEST_TIMEOUT_MS,
  STREAM_INACTIVITY_MS,
} from './constants.js'
import type { BlobMetrics, RequestResult } from './metrics.js'
import { OutboardPages } from './outboard-pages.js'
import type { BlobIndex, BlobLocation } from './types.js'
import type { REMOTE_ERROR_CODES } from './wire.js'
import { DATA_PER_FRAME, dataFrameParts, encodeErrorFrame } from './wire.js'

export interface BlobProviderLimits {
  /** Requests served at once (`limits.max_blob_requests`); more get a "busy" error frame. */
  maxRequests: number
  /** Range boundaries accepted per request. */
  maxRangeBoundaries?: number
  /** Outboard cache size in bytes. */
  outboardCacheBytes?: number
}

/** A location that could not be served: its data changed, or it or its outboard vanished. */
export interface InvalidLocation {
  hash: BlobHash
  location: BlobLocation
  error: RhioError
}

export interface BlobProviderInit {
  host: Libp2p
  penalties: PenaltyBox
  networkId: Uint8Array
  store: ObjectStore
  index: BlobIndex
  limits: BlobProviderLimits
  logger: Logger
  metrics?: BlobMetrics
  /** Called after the location was removed from the index; the log side should re-import it. */
  onInvalidLocation?: (e: InvalidLocation) => void
}

type SendOutcome = RequestResult | 'next-location'

/** An object this node is sending to a peer (for /health `serving` and the status page). */
export interface OutboundStatus {
  peer: string
  bucket: string
  key: string
  size: number
  /** Response bytes sent for this object to this peer (data and proofs). */
  sent: number
  startedAt: number
  lastAt: number
}

/** Objects shown as served: those sent to within this time, at most OUTBOUND_MAX. */
export const OUTBOUND_RECENT_MS = 60_000
export const OUTBOUND_MAX = 64

export class BlobProvider {
  readonly protocol: string
  readonly #o: BlobProviderInit
  readonly #pages: OutboardPages
  #serving = 0
  #started = false
  /** Requests being answered, ended together on stop. */
  #requests = new AbortGroup()
  readonly #open = new Set<Promise<void>>()
  /** Response bytes sent (iroh-blobs bytes, without framing). */
  servedBytes = 0
  /** Recently served objects by peer + bucket + key, oldest first. */
  readonly #outbound = new Map<string, OutboundStatus>()

  constructor(init: BlobProviderInit) {
    this.#o = init
    this.protocol = protocolId(init.networkId, 'blobs')
    const cache = init.limits.outboardCacheBytes
    this.#pages = new OutboardPages(init.store, cache === undefined ? {} : { maxBytes: cache })
  }

  /** Requests being answered right now (request read, response not finished). */
  get serving(): number {
    return this.#serving
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#requests = new AbortGroup()
    const n = this.#o.limits.maxRequests
    await this.#o.host.handle(
      this.protocol,
      (stream, conn) => {
        const p = this.#onStream(stream, conn)
        this.#open.add(p)
        void p.finally(() => this.#open.delete(p))
      },
      // room above the limit so excess requests still get a "busy" answer
      { maxInboundStreams: Math.max(8, 2 * n), maxOutboundStreams: 64, ...ON_LIMITED },
    )
  }

  /** Stops taking requests and ends the ones in flight. */
  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    await this.#o.host.unhandle(this.protocol).catch(() => {})
    this.#requests.abortAll(new RhioError('BLOB_PROVIDER_STOPPED', 'blob provider stopped'))
    await Promise.allSettled([...this.#open])
  }

  async #onStream(stream: Stream, conn: Connection): Promise<void> {
    const pk = peerPublicKey(conn.remotePeer)
    const peer = pk ? toHex(pk) : conn.remotePeer.toString()
    stream.inactivityTimeout = STREAM_INACTIVITY_MS
    const framed = new FramedStream(stream, {
      maxFrameBytes: BLOB_FRAME_BYTES,
      highWaterBytes: BLOB_FRAME_BYTES,
    })
    const request = this.#requests.add()
    const signal = request.signal
    stream.addEventListener('close', () => request.abort(new Error('stream closed')), {
      once: true,
    })
    let result: RequestResult
    try {
      result = await this.#serve(peer, framed, signal)
    } catch (err) {
      result = signal.aborted ? 'cancelled' : 'error'
      if (err instanceof FrameError && err.reason !== 'closed') {
        penalizeFrameError(this.#o.penalties, peer, err)
      } else if (!signal.aborted) {
        this.#o.logger.debug({ peer, err: describeError(err) }, 'blob request failed')
      }
    }
    request.dispose()
    this.#o.metrics?.requests.inc({ result })
    if (result === 'cancelled' || result === 'error') framed.abort(new Error('blob request ended'))
    else await framed.closeWrite()
  }

  async #serve(peer: string, framed: FramedStream, signal: AbortSignal): Promise<RequestResult> {
    const first = await withDeadline(signal, REQUEST_TIMEOUT_MS, (s) => framed.read(s))
    if (first === undefined) return 'bad-request'
    if (first.length > MAX_REQUEST_BYTES) {
      this.#o.penalties.penalize(peer, 'oversized')
      await this.#sendError(framed, 'too-large', `request of ${first.length} bytes`, signal)
      return 'too-large'
    }
    let request: ReturnType<typeof decodeGetRequest>
    try {
      request = decodeGetRequest(first)
    } catch (err) {
      this.#o.penalties.penalize(peer, 'malformed')
      await this.#sendError(framed, 'bad-request', describeError(err), signal)
      return 'bad-request'
    }
    if (!request.ranges.isSingle) {
      await this.#sendError(framed, 'unsupported', 'hash sequences are not served', signal)
      return 'unsupported'
    }
    const ranges = request.ranges.get(0)
    const max = this.#o.limits.maxRangeBoundaries ?? MAX_REQUEST_BOUNDARIES
    if (ranges.boundaries.length > max) {
      const msg = `${ranges.boundaries.length} range boundaries (max ${max})`
      await this.#sendError(framed, 'too-large', msg, signal)
      return 'too-large'
    }
    // iroh sends nothing at all for an empty selection
    if (ranges.isEmpty) return 'ok'
    // the limit counts requests being answered (a stream opened ahead and idle costs nothing)
    if (this.#serving >= this.#o.limits.maxRequests) {
      await this.#sendError(framed, 'busy', 'too many blob requests', signal)
      return 'busy'
    }
    this.#serving++
    try {
      for (const loc of this.#o.index.lookup(request.hash)) {
        const outcome = await this.#send(framed, request.hash, loc, ranges, signal, peer)
        if (outcome !== 'next-location') return outcome
      }
    } finally {
      this.#serving--
    }
    const name = hashToBase32(request.hash)
    await this.#sendError(framed, 'not-found', `no complete blob ${name}`, signal)
    return 'not-found'
  }

  async #send(
    framed: FramedStream,
    hash: BlobHash,
    loc: BlobLocation,
    ranges: ChunkRanges,
    signal: AbortSignal,
    peer: string,
  ): Promise<SendOutcome> {
    const { store, metrics } = this.#o
    let sent = 0
    const out = this.#track(peer, loc)
    // the data is what was hashed while the store reports the ETag it had then
    let trusted = false
    const readData = async function* (
      offset: number,
      length: number,
    ): AsyncGenerator<Uint8Array, void, undefined> {
      trusted = false
      const r = await store.get(loc.bucket, loc.key, {
        start: offset,
        end: offset + length,
        signal,
      })
      trusted = sameEtag(loc.etag, r.info.etag)
      try {
        yield* r.body as AsyncIterable<Uint8Array>
      } finally {
        r.body.destroy()
      }
    }
    const source = {
      hash,
      size: loc.size,
      outboard: this.#pages.reader(hash, loc),
      readData,
      dataTrusted: () => trusted,
    }
    try {
      for await (const piece of encodeRangePieces(source, ranges, {
        signal,
        chunkSize: DATA_PER_FRAME,
      })) {
        const [parts, length] = dataFrameParts(piece)
        await framed.writeParts(parts, length, signal)
        sent += length - 1
        out.sent += length - 1
        out.lastAt = Date.now()
        this.servedBytes += length - 1
        metrics?.bytes.inc({ direction: 'out' }, length - 1)
      }
      return 'ok'
    } catch (err) {
      if (signal.aborted || err instanceof FrameError) throw err
      const invalid =
        err instanceof BlobLocalDataError ||
        hasCode(err, StoreErrorCode.NO_SUCH_KEY) ||
        hasCode(err, StoreErrorCode.INVALID_RANGE)
      if (!invalid) {
        this.#o.logger.warn(
          { bucket: loc.bucket, key: loc.key, err: describeError(err) },
          'cannot read blob to serve it',
        )
        await this.#sendError(framed, 'unavailable', 'store error', signal)
        return 'error'
      }
      this.#invalidate(hash, loc, err as RhioError)
      if (sent === 0) return 'next-location'
      await this.#sendError(framed, 'unavailable', 'local copy changed while sending', signal)
      return 'corrupt'
    }
  }

  /** The record of what this peer is being sent of this object (made, or moved to the end). */
  #track(peer: string, loc: BlobLocation): OutboundStatus {
    const id = `${peer}\u0000${loc.bucket}\u0000${loc.key}`
    const now = Date.now()
    const prev = this.#outbound.get(id)
    this.#outbound.delete(id)
    const fresh = !prev || now - prev.lastAt > OUTBOUND_RECENT_MS
    const out: OutboundStatus = fresh
      ? {
          peer,
          bucket: loc.bucket,
          key: loc.key,
          size: loc.size,
          sent: 0,
          startedAt: now,
          lastAt: now,
        }
      : prev
    this.#outbound.set(id, out)
    for (const k of this.#outbound.keys()) {
      if (this.#outbound.size <= OUTBOUND_MAX) break
      this.#outbound.delete(k)
    }
    return out
  }

  /** Objects sent to peers within OUTBOUND_RECENT_MS, the most recent first. */
  outbound(): OutboundStatus[] {
    const since = Date.now() - OUTBOUND_RECENT_MS
    return [...this.#outbound.values()]
      .filter((o) => o.lastAt >= since)
      .reverse()
      .map((o) => ({ ...o }))
  }

  #invalidate(hash: BlobHash, loc: BlobLocation, error: RhioError): void {
    this.#o.index.remove(hash, loc.bucket, loc.key)
    this.#pages.invalidate(loc.bucket, loc.key)
    this.#o.logger.warn(
      { bucket: loc.bucket, key: loc.key, hash: hashToBase32(hash), err: describeError(error) },
      'blob location no longer matches its hash; removed from the index',
    )
    try {
      this.#o.onInvalidLocation?.({ hash, location: { ...loc }, error })
    } catch (err) {
      this.#o.logger.error({ err: describeError(err) }, 'onInvalidLocation callback failed')
    }
  }

  async #sendError(
    framed: FramedStream,
    code: keyof typeof REMOTE_ERROR_CODES,
    message: string,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      await framed.write(encodeErrorFrame(code, message), signal)
    } catch {
      // the requester is gone; nothing to tell
    }
  }
}

/** True when both ETags are known, meaningful and equal (an empty ETag says nothing). */
function sameEtag(recorded: string | undefined, now: string | undefined): boolean {
  return (
    recorded !== undefined &&
    now !== undefined &&
    recorded !== '""' &&
    recorded !== '' &&
    recorded === now
  )
}

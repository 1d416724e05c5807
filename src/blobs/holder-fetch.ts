/**
 * One range of a transfer from whichever holder works: asks the best holder not cooling down,
 * and on failure classifies it (bad bytes, busy, lacks the blob, broken response, transport),
 * penalises and cools the peer down as fits, and asks the next one. Local store failures end
 * the attempt (they are not the peer's fault).
 */
import { BlobVerifyError } from '../bao/index.js'
import { RhioError, describeError } from '../errors/index.js'
import { FrameError } from '../p2p/framing.js'
import { penalizeFrameError } from '../p2p/penalty-box.js'
import { PEER_COOLDOWN_MS } from './constants.js'
import { BlobNoHolderError } from './errors.js'
import { RangeFetch } from './fetch-range.js'
import type { PeerFailure, Transfer, TransferContext } from './transfer.js'
import { BlobBadResponseError, BlobRemoteError } from './wire.js'

const COOLDOWN: Record<PeerFailure, number> = {
  corrupt: PEER_COOLDOWN_MS.corrupt,
  'bad-response': PEER_COOLDOWN_MS.corrupt,
  busy: PEER_COOLDOWN_MS.busy,
  'not-found': PEER_COOLDOWN_MS['not-found'],
  error: PEER_COOLDOWN_MS.error,
}

/** True for failures of the local object store (S3_* codes), as opposed to the peer's. */
export function isStoreError(err: unknown): boolean {
  return err instanceof RhioError && err.code.startsWith('S3_')
}

/**
 * Runs `consume` on a fetch of bytes [start, end) from successive holders until one succeeds;
 * `consume` must read `f.data()` to the end. Throws BlobNoHolderError when no holder is left.
 * With `preDialNext`, the stream for the next part is opened as soon as this range's bytes are in.
 * Concurrent calls for one transfer spread over its holders (the least busy first).
 */
export async function fetchFromHolders<T>(
  ctx: TransferContext,
  t: Transfer,
  part: number,
  start: number,
  end: number,
  consume: (f: RangeFetch) => Promise<T>,
  opts: { preDialNext?: boolean; signal?: AbortSignal } = {},
): Promise<T> {
  const signal = opts.signal ?? t.abort.signal
  for (;;) {
    signal.throwIfAborted()
    const peer = pickHolder(ctx, t)
    t.peer = peer
    t.active.set(peer, (t.active.get(peer) ?? 0) + 1)
    let verified = 0
    const stream = t.takeStream(peer)
    const f = new RangeFetch({
      ...(stream ? { stream } : {}),
      onReceived: () => {
        if (opts.preDialNext === true) t.preDial(ctx, peer)
      },
      host: ctx.host,
      protocol: ctx.protocol,
      peer,
      hash: t.job.hash,
      size: t.job.size,
      start,
      end,
      signal,
      onVerified: (n) => {
        verified += n
        t.done += n
        ctx.metrics?.bytes.inc({ direction: 'in' }, n)
      },
    })
    const attempt = { localBucket: t.job.localBucket, key: t.job.key, part, peer, start, end }
    try {
      await f.open()
      const out = await consume(f)
      if (!f.complete) throw new Error('the response was not read to its end')
      ctx.onAttempt({ ...attempt, verifiedBytes: f.verified, ok: true })
      return out
    } catch (err) {
      t.done -= verified
      if (signal.aborted || isStoreError(err)) throw err
      const failure = classify(err)
      // a stream opened ahead that broke before any answer: dial again, the peer did no wrong
      if (stream !== undefined && failure === 'error' && f.verified === 0) continue
      t.cooldown.set(peer, Date.now() + COOLDOWN[failure])
      punish(ctx, peer, err, failure)
      const error = describeError(err)
      t.lastError = error
      ctx.logger.info(
        { peer, bucket: t.job.localBucket, key: t.job.key, part, failure, err: error },
        'blob range request failed; trying another holder',
      )
      ctx.onAttempt({ ...attempt, verifiedBytes: f.verified, ok: false, failure, error })
    } finally {
      f.close()
      const n = (t.active.get(peer) ?? 1) - 1
      if (n > 0) t.active.set(peer, n)
      else t.active.delete(peer)
    }
  }
}

/** The holder not cooling down with the fewest requests of this transfer running (first in order on a tie). */
function pickHolder(ctx: TransferContext, t: Transfer): string {
  const now = Date.now()
  const holders = ctx.holders(t.job.author, t.job.remoteBucket)
  let retryAt: number | undefined
  let best: { id: string; load: number } | undefined
  for (const h of holders) {
    const until = t.cooldown.get(h.id) ?? 0
    if (until > now) {
      retryAt = Math.min(retryAt ?? until, until)
      continue
    }
    const load = t.active.get(h.id) ?? 0
    if (best === undefined || load < best.load) best = { id: h.id, load }
  }
  if (best !== undefined) return best.id
  throw new BlobNoHolderError(holders.length, retryAt)
}

function classify(err: unknown): PeerFailure {
  if (err instanceof BlobVerifyError) return err.reason === 'truncated' ? 'error' : 'corrupt'
  if (err instanceof BlobRemoteError) {
    if (err.remote === 'busy') return 'busy'
    if (err.remote === 'not-found' || err.remote === 'unavailable') return 'not-found'
    return 'error'
  }
  if (err instanceof BlobBadResponseError) return 'bad-response'
  if (err instanceof FrameError && err.reason !== 'closed') return 'bad-response'
  return 'error'
}

function punish(ctx: TransferContext, peer: string, err: unknown, failure: PeerFailure): void {
  if (failure === 'corrupt') {
    ctx.metrics?.verifyFailures.inc()
    ctx.penalties.penalize(peer, 'bad-blob-data')
  } else if (err instanceof BlobBadResponseError) {
    // a size that disagrees with the announcement may be the author's mistake: no penalty
    if (err.reason !== 'bad-blob-size') ctx.penalties.penalize(peer, err.reason)
  } else if (err instanceof FrameError && failure === 'bad-response') {
    penalizeFrameError(ctx.penalties, peer, err)
  }
}

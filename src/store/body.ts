import { Readable } from 'node:stream'
import type { BodySource } from './object-store.js'
import { StoreErrorCode, storeError } from './errors.js'

/**
 * Wraps `source` in a Readable that yields exactly `length` bytes, or fails
 * with S3_BODY_LENGTH as soon as it yields more, or ends with fewer. Without
 * this an S3 request whose body ends early waits for the missing bytes until
 * the socket times out. `onError` gets any failure (a wrong length, or the
 * source's own error) before the stream errors, so the caller can abort the
 * request reading it: the SDK pipes bodies with `pipe()`, which does not pass
 * a source's error on to the request.
 */
export function exactLengthBody(
  source: BodySource | Uint8Array,
  length: number,
  onError: (err: unknown) => void = () => {},
): Readable {
  const chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
    source instanceof Uint8Array ? [source] : source
  async function* checked(): AsyncGenerator<Uint8Array> {
    try {
      let seen = 0
      for await (const chunk of chunks) {
        seen += chunk.byteLength
        if (seen > length) throw mismatch(`body yielded more than the declared ${length} bytes`)
        if (chunk.byteLength > 0) yield chunk
      }
      if (seen !== length)
        throw mismatch(`body ended after ${seen} of the declared ${length} bytes`)
    } catch (err) {
      onError(err)
      throw err
    }
  }
  return Readable.from(checked(), { objectMode: false })
}

function mismatch(message: string): Error {
  return storeError(StoreErrorCode.BODY_LENGTH, message)
}

/** A stream that ends at once (the body of an empty range). */
export function emptyBody(): Readable {
  return Readable.from([], { objectMode: false })
}

export function assertLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`length must be a non-negative safe integer, got ${length}`)
  }
}

/** Destroys `body` with the signal's reason when the signal aborts while it is being read. */
export function destroyOnAbort(body: Readable, signal: AbortSignal | undefined): void {
  if (!signal) return
  const onAbort = (): void => {
    body.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)))
  }
  if (signal.aborted) return onAbort()
  signal.addEventListener('abort', onAbort, { once: true })
  body.once('close', () => signal.removeEventListener('abort', onAbort))
}

/**
 * The first `limit` bytes of `body`; the rest is not read (the source is
 * destroyed once the limit is reached, which closes its connection).
 */
export function truncate(body: Readable, limit: number): Readable {
  async function* take(): AsyncGenerator<Uint8Array> {
    let left = limit
    try {
      if (left === 0) return
      for await (const chunk of body as AsyncIterable<Buffer>) {
        const part = chunk.subarray(0, left)
        left -= part.length
        yield part
        if (left === 0) return
      }
    } finally {
      body.destroy()
    }
  }
  return Readable.from(take(), { objectMode: false })
}

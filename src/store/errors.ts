import { RhioError, type StoreErrorCode } from '../errors/index.js'

/** Error codes of the object stores (both implementations); callers branch on these, never on SDK error names. */
export { StoreErrorCode } from '../errors/index.js'

export function storeError(
  code: StoreErrorCode,
  message: string,
  cause?: unknown,
): RhioError<StoreErrorCode> {
  return new RhioError(code, message, cause === undefined ? undefined : { cause })
}

/** Rethrows `signal.reason` if the signal has aborted (the store's abort contract). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason
}

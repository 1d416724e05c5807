/**
 * Every failure rhio reports carries a stable code (one of the registries in
 * codes.ts, each listed with meaning and fix in docs/ERRORS.md) and, where
 * there is one, the underlying cause.
 */
import type { ErrorCode } from './codes.js'

export * from './codes.js'

export class RhioError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'RhioError'
  }
}

/** True when `err` is a RhioError with the given code. */
export function hasCode<C extends ErrorCode>(err: unknown, code: C): err is RhioError<C> {
  return err instanceof RhioError && err.code === code
}

/** True when `err` is a RhioError with one of the given codes. */
export function hasAnyCode<C extends ErrorCode>(
  err: unknown,
  codes: readonly C[],
): err is RhioError<C> {
  return err instanceof RhioError && (codes as readonly ErrorCode[]).includes(err.code)
}

/** A readable one-line description of any thrown value, including causes. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const parts = [err instanceof RhioError ? `${err.code}: ${err.message}` : err.message]
  let cause = err.cause
  for (let i = 0; i < 4 && cause !== undefined; i++) {
    parts.push(cause instanceof Error ? cause.message : String(cause))
    cause = cause instanceof Error ? cause.cause : undefined
  }
  return parts.join(': ')
}

/**
 * Every failure rhio reports carries a stable code (listed with meaning and fix
 * in docs/ERRORS.md) and, where there is one, the underlying cause.
 */
export class RhioError extends Error {
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'RhioError'
  }
}

/** True when `err` is a RhioError with the given code. */
export function hasCode(err: unknown, code: string): err is RhioError {
  return err instanceof RhioError && err.code === code
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

/**
 * Error codes of `rhio client` (docs/ERRORS.md) and its exit codes: 2 for bad
 * input, 3 when NATS or the object store cannot be reached, 1 for the rest.
 */
import { ConfigError } from '../../config/index.js'
import { ClientErrorCode, RhioError, type ErrorCode } from '../../errors/index.js'
import { StoreErrorCode } from '../../store/index.js'
import { EXIT } from '../common/exit-codes.js'

export { ClientErrorCode }

const BAD_INPUT = new Set<ErrorCode>([
  ClientErrorCode.FILE_UNREADABLE,
  ClientErrorCode.BUCKET_NAME_INVALID,
  StoreErrorCode.INVALID_KEY,
])

/** What to do next, printed after the error (the `fix` column of docs/ERRORS.md, shortened). */
const HINTS: Partial<Record<ErrorCode, string>> = {
  [StoreErrorCode.NO_SUCH_BUCKET]: 'create it with `rhio client bucket add NAME`',
  [ClientErrorCode.STREAM_NOT_FOUND]:
    'list streams with `rhio client stream ls`, create one with `rhio client stream add NAME SUBJECT...`',
  [ClientErrorCode.NO_STREAM]: 'create one with `rhio client stream add NAME SUBJECT...`',
}

/** A hint for the error's code (undefined: none). */
export function clientHint(err: unknown): string | undefined {
  return err instanceof RhioError ? HINTS[(err as RhioError).code] : undefined
}
const UNREACHABLE = new Set<ErrorCode>([
  ClientErrorCode.NATS_UNREACHABLE,
  StoreErrorCode.UNAVAILABLE,
])

/** The exit code for an error that ends a client command. */
export function clientExitCode(err: unknown): number {
  if (err instanceof ConfigError) return EXIT.BAD_INPUT
  if (!(err instanceof RhioError)) return EXIT.FAILURE
  if (err.code.startsWith('CONFIG_') || BAD_INPUT.has(err.code)) return EXIT.BAD_INPUT
  if (UNREACHABLE.has(err.code)) return EXIT.UNREACHABLE
  return EXIT.FAILURE
}

export function clientError(
  code: ClientErrorCode | StoreErrorCode,
  message: string,
  cause?: unknown,
): RhioError {
  return new RhioError(code, message, cause === undefined ? undefined : { cause })
}

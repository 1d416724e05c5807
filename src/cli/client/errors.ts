/**
 * Error codes of `rhio client` (docs/ERRORS.md) and its exit codes: 2 for bad
 * input, 3 when NATS or the object store cannot be reached, 1 for the rest.
 */
import { ConfigError } from '../../config/index.js'
import { RhioError } from '../../errors.js'
import { StoreErrorCode } from '../../store/index.js'
import { EXIT } from '../exit-codes.js'

export const ClientErrorCode = {
  /** NATS did not answer at `nats.endpoint` (refused, timeout, DNS). */
  NATS_UNREACHABLE: 'CLIENT_NATS_UNREACHABLE',
  /** Any other NATS failure: credentials rejected, permission denied, payload too large. */
  NATS_FAILED: 'CLIENT_NATS_FAILED',
  /** `pub`: no JetStream stream captures the subject (or JetStream is off). */
  NO_STREAM: 'CLIENT_NO_STREAM',
  /** `sub --stream`: the stream does not exist. */
  STREAM_NOT_FOUND: 'CLIENT_STREAM_NOT_FOUND',
  /** `stream add`: the name is taken by a stream with other subjects, or the subjects overlap another stream. */
  STREAM_CONFLICT: 'CLIENT_STREAM_CONFLICT',
  /** A file to read (`put FILE`, `pub @FILE`) does not exist or cannot be read. */
  FILE_UNREADABLE: 'CLIENT_FILE_UNREADABLE',
  /** `get --out FILE` cannot write the file. */
  FILE_WRITE_FAILED: 'CLIENT_FILE_WRITE_FAILED',
  /** `sub --count N --timeout S`: fewer than N messages arrived in time. */
  TIMEOUT: 'CLIENT_TIMEOUT',
} as const

const BAD_INPUT = new Set<string>([ClientErrorCode.FILE_UNREADABLE, StoreErrorCode.INVALID_KEY])
const UNREACHABLE = new Set<string>([ClientErrorCode.NATS_UNREACHABLE, StoreErrorCode.UNAVAILABLE])

/** The exit code for an error that ends a client command. */
export function clientExitCode(err: unknown): number {
  if (err instanceof ConfigError) return EXIT.BAD_INPUT
  if (!(err instanceof RhioError)) return EXIT.FAILURE
  if (err.code.startsWith('CONFIG_') || BAD_INPUT.has(err.code)) return EXIT.BAD_INPUT
  if (UNREACHABLE.has(err.code)) return EXIT.UNREACHABLE
  return EXIT.FAILURE
}

export function clientError(code: string, message: string, cause?: unknown): RhioError {
  return new RhioError(code, message, cause === undefined ? undefined : { cause })
}

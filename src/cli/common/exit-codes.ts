import { ConfigError } from '../../config/index.js'
import { RhioError } from '../../errors/index.js'

/** Process exit codes (docs/ERRORS.md). */
export const EXIT = {
  /** Clean exit (also: `rhio status` found the node healthy). */
  OK: 0,
  /** Runtime failure: a component failed to start or stop in time, a crash, a forced exit; `rhio status`: unhealthy. */
  FAILURE: 1,
  /** Bad input: configuration, key file, command-line usage. */
  BAD_INPUT: 2,
  /** `rhio status`: the node could not be reached. */
  UNREACHABLE: 3,
} as const

const BAD_INPUT_PREFIXES = ['CONFIG_', 'KEY_']

/** The exit code for an error that ends a command. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ConfigError) return EXIT.BAD_INPUT
  if (err instanceof RhioError && BAD_INPUT_PREFIXES.some((p) => err.code.startsWith(p))) {
    return EXIT.BAD_INPUT
  }
  return EXIT.FAILURE
}

import { ConfigError } from '../../config/index.js'
import { RhioError } from '../../errors/index.js'
import { EXIT } from './exit.js'

export { EXIT } from './exit.js'

const BAD_INPUT_PREFIXES = ['CONFIG_', 'KEY_']

/** The exit code for an error that ends a command. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ConfigError) return EXIT.BAD_INPUT
  if (err instanceof RhioError && BAD_INPUT_PREFIXES.some((p) => err.code.startsWith(p))) {
    return EXIT.BAD_INPUT
  }
  return EXIT.FAILURE
}

import { loadConfig, type LoadedConfig } from '../../config/index.js'
import { describeError } from '../../errors/index.js'
import type { CliIO } from './io.js'

/** The original rhio's flags, as commander hands them over. */
export interface ConfigFlags {
  config?: string
  bindPort?: string
  httpBindPort?: string
  privateKeyPath?: string
  logLevel?: string
  /** `--strict-config`: unknown config keys are errors. */
  strictConfig?: boolean
}

/** Loads the configuration with the flags as the highest-precedence source. */
export function loadFromFlags(flags: ConfigFlags, io: CliIO): LoadedConfig {
  return loadConfig({
    path: flags.config,
    cli: {
      bind_port: flags.bindPort,
      http_bind_port: flags.httpBindPort,
      private_key_path: flags.privateKeyPath,
      log_level: flags.logLevel,
    },
    env: io.env,
    cwd: io.cwd,
    strict: flags.strictConfig,
  })
}

/** Prints an error that ends a command: `rhio: <code>: <message>` on stderr. */
export function printError(io: CliIO, err: unknown): void {
  io.err(`rhio: ${describeError(err)}\n`)
}

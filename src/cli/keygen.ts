/**
 * `rhio keygen [--out FILE]`: creates a node key. Writes the configured
 * `private_key_path` (default `private.key`) or FILE with mode 0600, never
 * overwriting; `--out -` prints the private key hex to stdout instead (e.g. to
 * pipe into a Kubernetes secret) and the public key to stderr.
 */
import { resolve } from 'node:path'
import { NodeIdentity, writeKeyFile } from '../identity/index.js'
import { EXIT, exitCodeFor } from './common/exit-codes.js'
import { loadFromFlags, printError, type ConfigFlags } from './common/flags.js'
import type { CliIO } from './common/io.js'

export interface KeygenFlags extends ConfigFlags {
  out?: string
}

export function keygen(flags: KeygenFlags, io: CliIO): number {
  const identity = NodeIdentity.generate()
  if (flags.out === '-') {
    io.out(`${identity.seedHex()}\n`)
    io.err(`public key: ${identity.publicKeyHex}\n`)
    return EXIT.OK
  }
  try {
    const path =
      flags.out !== undefined
        ? resolve(io.cwd, flags.out)
        : loadFromFlags(flags, io).config.private_key_path
    writeKeyFile(path, identity)
    io.out(`public key: ${identity.publicKeyHex}\nprivate key written to ${path}\n`)
    return EXIT.OK
  } catch (err) {
    printError(io, err)
    return exitCodeFor(err)
  }
}

/**
 * The node identity: one Ed25519 key that is both the p2p identity and the
 * author key signing every replicated item. Key files hold the 32-byte seed as
 * 64 hex characters (the original rhio's format); surrounding whitespace and a
 * trailing newline are tolerated. `PRIVATE_KEY` (or `RHIO_PRIVATE_KEY`, which
 * wins) in the environment overrides the file, as in the original.
 */
import { randomBytes, type KeyObject } from 'node:crypto'
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { RhioError } from '../errors/index.js'
import { privateKeyFromSeed, rawPublicKey, SEED_BYTES, signEd25519 } from './ed25519.js'

export class NodeIdentity {
  /** The raw 32-byte Ed25519 public key (the node id). */
  readonly publicKey: Uint8Array
  readonly publicKeyHex: string
  /** The 32-byte private seed (for libp2p's key type). */
  readonly seed: Uint8Array
  /** Where the key came from, for logs: a file path or `env PRIVATE_KEY`. */
  readonly source: string
  private readonly key: KeyObject

  constructor(seed: Uint8Array, source = 'memory') {
    this.seed = new Uint8Array(seed)
    this.key = privateKeyFromSeed(this.seed)
    this.publicKey = rawPublicKey(this.key)
    this.publicKeyHex = Buffer.from(this.publicKey).toString('hex')
    this.source = source
  }

  /** A fresh random identity. */
  static generate(): NodeIdentity {
    return new NodeIdentity(randomBytes(SEED_BYTES), 'generated')
  }

  /** Ed25519 signature (64 bytes) of `message`. */
  sign(message: Uint8Array): Uint8Array {
    return signEd25519(this.key, message)
  }

  /** The private seed as 64 lowercase hex characters (the key file format). */
  seedHex(): string {
    return Buffer.from(this.seed).toString('hex')
  }

  toJSON(): { publicKey: string } {
    return { publicKey: this.publicKeyHex } // never serialise the seed by accident
  }
}

const HEX64 = /^[0-9a-fA-F]{64}$/

/** Parses key-file text (64 hex chars, whitespace tolerated). Throws KEY_INVALID. */
export function parseKeyHex(text: string, where: string): Uint8Array {
  const trimmed = text.trim()
  if (!HEX64.test(trimmed)) {
    const what =
      trimmed.length === 0
        ? 'is empty'
        : trimmed.length !== 64
          ? `holds ${trimmed.length} characters`
          : 'holds non-hex characters'
    throw new RhioError(
      'KEY_INVALID',
      `private key in ${where} ${what}; it must be 64 hex characters (an Ed25519 seed). ` +
        'Create one with `rhio keygen`.',
    )
  }
  return new Uint8Array(Buffer.from(trimmed, 'hex'))
}

export interface LoadIdentityOptions {
  /** The configured `private_key_path`. */
  path: string
  env?: Readonly<Record<string, string | undefined>>
  /** Told when a key file others can read is used anyway (RHIO_INSECURE_KEY_FILE=1). */
  warn?: (message: string) => void
}

/** Set to 1 to use a key file that group or others may access (not recommended). */
export const INSECURE_KEY_ENV = 'RHIO_INSECURE_KEY_FILE'

/** Loads the node key from the environment or the key file. Throws KEY_* errors. */
export function loadIdentity(opts: LoadIdentityOptions): NodeIdentity {
  const env = opts.env ?? process.env
  for (const name of ['RHIO_PRIVATE_KEY', 'PRIVATE_KEY']) {
    const v = env[name]
    if (v !== undefined && v.trim() !== '') {
      return new NodeIdentity(parseKeyHex(v, `env ${name}`), `env ${name}`)
    }
  }
  let text: string
  try {
    text = readFileSync(opts.path, 'utf8')
    const mode = statSync(opts.path).mode & 0o777
    if ((mode & 0o077) !== 0) {
      const problem =
        `private key file ${opts.path} has mode ${mode.toString(8).padStart(4, '0')}: ` +
        'group or others may access it, and anyone who reads it can act as this node'
      if (env[INSECURE_KEY_ENV] !== '1') {
        throw new RhioError(
          'KEY_INSECURE',
          `${problem}. Run \`chmod 600 ${opts.path}\` (or set ${INSECURE_KEY_ENV}=1 to use it anyway).`,
        )
      }
      opts.warn?.(`${problem}; used because ${INSECURE_KEY_ENV}=1. Run \`chmod 600 ${opts.path}\`.`)
    }
  } catch (err) {
    if (err instanceof RhioError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') {
      throw new RhioError(
        'KEY_NOT_FOUND',
        // no cause: "ENOENT: no such file" would only repeat the message
        `private key file ${opts.path} does not exist; create one with ` +
          `\`rhio keygen --out ${opts.path}\` (or set PRIVATE_KEY to 64 hex characters)`,
      )
    }
    throw new RhioError('KEY_UNREADABLE', `cannot read private key file ${opts.path}`, {
      cause: err,
    })
  }
  return new NodeIdentity(parseKeyHex(text, opts.path), opts.path)
}

/**
 * Writes `identity`'s seed as a key file with mode 0600. Refuses to overwrite
 * an existing file (KEY_EXISTS); creates missing parent directories.
 */
export function writeKeyFile(path: string, identity: NodeIdentity): void {
  try {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, `${identity.seedHex()}\n`, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new RhioError(
        'KEY_EXISTS',
        `${path} already exists; rhio keygen never overwrites a key. ` +
          'Remove it first or choose another path with --out.',
      )
    }
    throw new RhioError('KEY_WRITE_FAILED', `cannot write private key file ${path}`, {
      cause: err,
    })
  }
}

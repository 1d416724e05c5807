/**
 * What every `rhio client` command shares: the configuration (same `-c`
 * lookup as `rhio`), a short-lived NATS connection, the node's object store,
 * Ctrl-C handling, and turning a failure into a message and an exit code.
 */
import { connect, errors, type NatsConnection } from '@nats-io/transport-node'
import { parseNatsEndpoints, type Config } from '../../config/index.js'
import { describeError, RhioError } from '../../errors/index.js'
import { natsAuthenticator } from '../../nats/connection.js'
import { createObjectStore } from '../../store/factory.js'
import type { ObjectStore } from '../../store/index.js'
import { EXIT } from '../common/exit-codes.js'
import { loadFromFlags, printError, type ConfigFlags } from '../common/flags.js'
import type { CliIO } from '../common/io.js'
import { ClientErrorCode, clientError, clientExitCode, clientHint } from './errors.js'

/** A local server answers within milliseconds; 5 s covers a busy one. */
export const CLIENT_CONNECT_TIMEOUT_MS = 5_000

export type ClientFlags = Pick<ConfigFlags, 'config'>

export interface ClientContext {
  config: Config
  io: CliIO
  /** Aborts on SIGINT/SIGTERM (Ctrl-C). */
  signal: AbortSignal
}

/**
 * Runs one client command: loads the config, runs `fn`, prints any error as
 * `rhio: CODE: message` and returns the exit code (0 on success).
 */
export async function runClient(
  flags: ClientFlags,
  io: CliIO,
  fn: (ctx: ClientContext) => Promise<void>,
): Promise<number> {
  const interrupt = interruptSignal()
  try {
    const { config } = loadFromFlags(flags, io)
    await fn({ config, io, signal: interrupt.signal })
    return EXIT.OK
  } catch (err) {
    printError(io, err)
    const hint = clientHint(err)
    if (hint !== undefined && !describeError(err).includes(hint)) io.err(`rhio: ${hint}\n`)
    return clientExitCode(err)
  } finally {
    interrupt.dispose()
  }
}

/** An AbortSignal that aborts on SIGINT or SIGTERM, until disposed. */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController()
  const onSignal = (): void => ac.abort(new Error('interrupted'))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}

/** Connects to the configured NATS server, failing fast when it is not there. */
export async function connectNats(config: Config): Promise<NatsConnection> {
  const auth = natsAuthenticator(config.nats.credentials)
  try {
    return await connect({
      servers: parseNatsEndpoints(config.nats.endpoint),
      name: 'rhio-client',
      timeout: CLIENT_CONNECT_TIMEOUT_MS,
      ...(auth ? { authenticator: auth } : {}),
    })
  } catch (err) {
    throw natsError(err, `cannot connect to NATS at ${config.nats.endpoint}`)
  }
}

/** Runs `fn` with a NATS connection and closes it afterwards (flushing what was sent). */
export async function withNats<T>(
  config: Config,
  fn: (nc: NatsConnection) => Promise<T>,
): Promise<T> {
  const nc = await connectNats(config)
  try {
    return await fn(nc)
  } finally {
    await nc.drain().catch(() => nc.close())
  }
}

/** Runs `fn` with the node's object store (S3 when configured, else the directory store). */
export async function withStore<T>(
  config: Config,
  fn: (store: ObjectStore) => Promise<T>,
): Promise<T> {
  const store = createObjectStore(config)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

/** Maps a NATS client error to a client error code. */
export function natsError(err: unknown, what: string): RhioError {
  if (err instanceof RhioError) return err
  const unreachable =
    err instanceof errors.ConnectionError ||
    err instanceof errors.TimeoutError ||
    (err instanceof Error && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT/.test(err.message))
  if (unreachable) return clientError(ClientErrorCode.NATS_UNREACHABLE, what, err)
  if (err instanceof errors.AuthorizationError) {
    return clientError(ClientErrorCode.NATS_FAILED, `${what}: credentials rejected`, err)
  }
  return clientError(ClientErrorCode.NATS_FAILED, what, err)
}

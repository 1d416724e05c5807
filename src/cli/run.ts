/**
 * `rhio [-c config.yaml]`: runs a node until SIGINT or SIGTERM.
 *
 * Start order: config → logger → identity → node (metrics/health → HTTP →
 * NATS → further components). The first SIGINT/SIGTERM starts a graceful
 * ordered shutdown with a 10 s deadline; a second signal forces exit 1.
 */
import { ConfigError, ownKeyViolations, type LoadedConfig } from '../config/index.js'
import { describeError } from '../errors/index.js'
import { loadIdentity, type NodeIdentity } from '../identity/index.js'
import { chooseLogFormat, LoggerFactory } from '../logging/index.js'
import { RhioNode, SHUTDOWN_DEADLINE_MS } from '../node/index.js'
import { localStoreRoot } from '../store/factory.js'
import { EXIT, exitCodeFor } from './common/exit-codes.js'
import { startProfiler } from './profile.js'
import { loadFromFlags, printError, type ConfigFlags } from './common/flags.js'
import type { CliIO } from './common/io.js'

const SIGNALS = ['SIGINT', 'SIGTERM'] as const

export async function runNode(flags: ConfigFlags, io: CliIO): Promise<number> {
  let loaded: LoadedConfig
  try {
    loaded = loadFromFlags(flags, io)
  } catch (err) {
    printError(io, err)
    return exitCodeFor(err)
  }
  const { config } = loaded

  const logs = new LoggerFactory({
    logLevel: config.log_level,
    format: chooseLogFormat(io.env, io.stdoutIsTTY),
  })
  const log = logs.forComponent('rhio')
  log.info(
    { file: loaded.file ?? '(none: defaults)', overrides: loaded.sources },
    'configuration loaded',
  )
  if (loaded.warnings.length > 0) {
    log.warn(
      {
        ignored: loaded.warnings.map((w) => `${w.path}: ${w.message}`),
        strict: 'run with --strict-config or RHIO_STRICT_CONFIG=1 to refuse them',
      },
      `configuration: ${loaded.warnings.length} key(s) ignored`,
    )
  }

  if (!config.s3 && config.publish.s3_buckets.length + config.subscribe.s3_buckets.length > 0) {
    log.info(
      { root: localStoreRoot(config) },
      'no s3 section: buckets are directories of the embedded store',
    )
  }

  let identity: NodeIdentity
  try {
    identity = loadIdentity({
      path: config.private_key_path,
      env: io.env,
      warn: (message) => log.error(message),
    })
    const violations = ownKeyViolations(config, identity.publicKeyHex)
    if (violations.length > 0) throw new ConfigError(violations, loaded.file)
  } catch (err) {
    // said once, on stderr, as every other problem with the input (config, flags)
    printError(io, err)
    return exitCodeFor(err)
  }
  log.info({ public_key: identity.publicKeyHex, source: identity.source }, 'node identity')

  const profiler = startProfiler(io.env.RHIO_CPU_PROFILE)
  const node = new RhioNode({ config, identity, logs, configWarnings: loaded.warnings })
  const shutdown = new AbortController()
  let signalled: NodeJS.Signals | undefined
  const requested = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      if (signalled) {
        log.warn({ signal: sig }, 'second signal: forcing exit')
        logs.flush()
        process.exit(EXIT.FAILURE)
      }
      signalled = sig
      log.info({ signal: sig, deadline_ms: SHUTDOWN_DEADLINE_MS }, 'shutdown requested')
      shutdown.abort()
      resolve(sig)
    }
    for (const s of SIGNALS) process.on(s, onSignal)
  })

  try {
    await node.start(shutdown.signal)
  } catch (err) {
    log.fatal({ err: describeError(err) }, 'rhio failed to start')
    printError(io, err)
    return EXIT.FAILURE
  }
  const addr = node.http.address()
  if (addr && !shutdown.signal.aborted) {
    log.info(
      {
        status_page: `http://${addr.host}:${addr.port}/`,
        health: `http://${addr.host}:${addr.port}/health`,
        metrics: `http://${addr.host}:${addr.port}/metrics`,
      },
      'endpoints',
    )
  }

  await requested
  const result = await node.stop({ deadlineMs: SHUTDOWN_DEADLINE_MS })
  await profiler
    ?.stop()
    .catch((err: unknown) => log.warn({ err: describeError(err) }, 'cpu profile not written'))
  logs.flush()
  return result.clean ? EXIT.OK : EXIT.FAILURE
}

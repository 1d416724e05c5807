/**
 * The command line: `rhio` (run a node), `rhio keygen`, `rhio status`,
 * `rhio client …` (the demo client).
 * Flags of the original rhio are kept: -c -p -b -k -l -h -V.
 * Each command's module is imported when it runs, so `rhio -V`, `keygen` and
 * `status` do not load libp2p, NATS or the AWS SDK (1.1 s -> ~0.2 s).
 */
import type { Command } from 'commander'
import { CommanderError, Option } from 'commander'
import { RHIO_VERSION } from '../node/version.js'
import { RhioCommand } from './common/command.js'
import { EXIT } from './common/exit.js'
import { addClientCommand } from './client/command.js'
import type { DemoFlags } from './demo/demo.js'
import type { ConfigFlags } from './common/flags.js'
import type { CliIO } from './common/io.js'
import type { KeygenFlags } from './keygen.js'
import type { StatusFlags } from './status.js'

const configOption = (): Option =>
  new Option(
    '-c, --config <PATH>',
    'config.yaml path (default ./config.yaml, then ~/.config/rhio/config.yaml)',
  )

function buildProgram(io: CliIO, setResult: (p: Promise<number> | number) => void): Command {
  const program = new RhioCommand('rhio')
  program
    .description(
      'rhio: peer-to-peer replication of NATS JetStream subjects and S3 buckets between sites',
    )
    .version(RHIO_VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .addOption(configOption())
    .option('-p, --bind-port <PORT>', 'p2p port (bind_port, default 9102)')
    .option(
      '-b, --http-bind-port <PORT>',
      'HTTP port for /health and /metrics (http_bind_port, default 3000)',
    )
    .option(
      '-k, --private-key-path <PATH>',
      'hex Ed25519 key file (private_key_path, default private.key)',
    )
    .option(
      '-l, --log-level <LEVEL>',
      'ERROR|WARN|INFO|DEBUG|TRACE, =LEVEL, or directives like rhio=INFO,libp2p=DEBUG',
    )
    .option(
      '--strict-config',
      'unknown keys in the config are errors, not warnings (also RHIO_STRICT_CONFIG=1)',
    )
    .enablePositionalOptions()
    .showHelpAfterError('(run rhio --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .action((flags: ConfigFlags) =>
      setResult(import('./run.js').then(({ runNode }) => runNode(flags, io))),
    )

  program
    .command('keygen')
    .description('create a node key (mode 0600; never overwrites) and print its public key')
    .option(
      '-o, --out <FILE>',
      "key file to write (default: private_key_path); '-' prints the private key hex to stdout",
    )
    .addOption(configOption())
    .option('-k, --private-key-path <PATH>', 'key file to write when --out is not given')
    .action((_flags: KeygenFlags, cmd: Command) =>
      setResult(
        import('./keygen.js').then(({ keygen }) => keygen(cmd.optsWithGlobals<KeygenFlags>(), io)),
      ),
    )

  program
    .command('status')
    .description(
      'print the health of a running node (peers, lag, transfers, problems); exit 0 healthy, 1 a problem or no connected peer, 3 unreachable',
    )
    .option('--url <URL>', 'base URL of the node (default http://127.0.0.1:<http_bind_port>)')
    .option('--json', 'print the /health body and the problems as JSON')
    .option(
      '--health-only',
      'exit by /health alone (container health checks: a node whose peers are down is not broken)',
    )
    .addOption(configOption())
    .option('-b, --http-bind-port <PORT>', 'HTTP port of the node')
    .action((_flags: StatusFlags, cmd: Command) =>
      setResult(
        import('./status.js').then(({ status }) => status(cmd.optsWithGlobals<StatusFlags>(), io)),
      ),
    )

  addClientCommand(program, io, setResult)

  program
    .command('demo')
    .description('run three local sites (own nats-server, buckets, rhio) replicating to each other')
    .option('--dir <PATH>', 'keep the demo files in this directory (default: a temp dir, removed)')
    .option('--keep', 'do not remove the temp directory at the end')
    .option('--duration <SECONDS>', 'stop by itself after this many seconds')
    .action((flags: DemoFlags) =>
      setResult(import('./demo/demo.js').then(({ demo }) => demo(flags, io))),
    )

  return program
}

/**
 * The original's Helm chart and operator start the container with args
 * `rhio -c …` / `/usr/local/bin/rhio -c …` (its image has no entrypoint);
 * under this image's entrypoint that first argument is the binary's own path
 * and is dropped. `argv` is node's: [node, script, ...args].
 */
export function withoutOwnPath(argv: readonly string[]): string[] {
  const first = argv[2]
  const ownPath = first !== undefined && (first === 'rhio' || /\/rhio$/.test(first))
  return ownPath ? [...argv.slice(0, 2), ...argv.slice(3)] : [...argv]
}

/** Runs the command line; resolves with the process exit code. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const outcome: { result: Promise<number> } = { result: Promise.resolve(EXIT.OK) }
  const program = buildProgram(io, (r) => {
    outcome.result = Promise.resolve(r)
  })
  try {
    await program.parseAsync(withoutOwnPath(argv))
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.BAD_INPUT
    throw err
  }
  return await outcome.result
}

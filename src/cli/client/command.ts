/**
 * `rhio client …`: a small client for the node's local NATS and object store,
 * so the demo and a new user need no other tools (the original shipped one as
 * `rhio-client`). Uses the same configuration lookup as `rhio` (`-c PATH`).
 */
import { InvalidArgumentError, Option, type Command } from 'commander'
import { subjectProblem } from '../../config/subject.js'
import type { CliIO } from '../common/io.js'
import type { ClientContext, ClientFlags } from './context.js'
import type { PubFlags, SubFlags } from './messages.js'
import type { GetFlags, LsFlags, PutFlags } from './objects.js'

// Each subcommand's module (NATS client, AWS SDK) is imported when it runs.
const buckets = () => import('./buckets.js')
const messages = () => import('./messages.js')
const objects = () => import('./objects.js')
const streams = () => import('./streams.js')

type SetResult = (p: Promise<number>) => void

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

function parseHeader(
  value: string,
  previous: Array<[string, string]> = [],
): Array<[string, string]> {
  const eq = value.indexOf('=')
  const name = eq < 0 ? '' : value.slice(0, eq)
  if (!HEADER_NAME.test(name)) {
    throw new InvalidArgumentError(
      'expected NAME=VALUE with a header name of letters, digits or -_.',
    )
  }
  return [...previous, [name, value.slice(eq + 1)]]
}

function subjectArg(wildcards: boolean) {
  return (value: string): string => {
    const problem = subjectProblem(value)
    if (problem) throw new InvalidArgumentError(problem)
    if (!wildcards && value.split('.').some((t) => t === '*' || t === '>')) {
      throw new InvalidArgumentError('a message is published to one subject, without * or >')
    }
    return value
  }
}

function streamNameArg(value: string): string {
  if (value === '' || /[\s.*>/\\]/.test(value)) {
    throw new InvalidArgumentError("a stream name has no whitespace, '.', '*', '>', '/' or '\\'")
  }
  return value
}

function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer')
  return n
}

function positiveNumber(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number')
  return n
}

const configOption = (): Option =>
  new Option('-c, --config <PATH>', 'config.yaml of the node (same lookup as rhio)')

/** Adds a subcommand that runs `fn` with the client context. */
function leaf<F>(
  parent: Command,
  spec: string,
  description: string,
  io: CliIO,
  setResult: SetResult,
  fn: (args: string[], flags: F, ctx: ClientContext) => Promise<void>,
): Command {
  const cmd = parent.command(spec).description(description).addOption(configOption())
  cmd.action((...received: unknown[]) => {
    const command = received[received.length - 1] as Command
    // A variadic argument arrives as one array: flatten it into the list.
    const args = (command.processedArgs as unknown[]).flat() as string[]
    const flags = command.optsWithGlobals<F & ClientFlags>()
    setResult(
      import('./context.js').then(({ runClient }) =>
        runClient(flags, io, (ctx) => fn(args, flags, ctx)),
      ),
    )
  })
  return cmd
}

/** Adds `rhio client` with its subcommands to `program` (inheriting its output and exit settings). */
export function addClientCommand(program: Command, io: CliIO, setResult: SetResult): Command {
  const client = program
    .command('client')
    .description("talk to this node's local NATS and object store (demo and smoke tests)")
    .addOption(configOption())
    .enablePositionalOptions()

  leaf<PubFlags>(
    client,
    'pub',
    'publish a message (DATA "-" reads stdin)',
    io,
    setResult,
    async ([s, d], f, ctx) => (await messages()).pub(s ?? '', d ?? '', f, ctx),
  )
    .argument('<SUBJECT>', 'subject, without wildcards', subjectArg(false))
    .argument('<DATA>', 'payload text, or - for stdin')
    .option('-H, --header <NAME=VALUE>', 'add a header (repeatable)', parseHeader)
    .option('--core', 'plain NATS publish, without waiting for a stream to store it')

  leaf<SubFlags>(
    client,
    'sub',
    'print messages: subject, headers, payload',
    io,
    setResult,
    async ([s], f, ctx) => (await messages()).sub(s ?? '', f, ctx),
  )
    .argument('<SUBJECT>', 'subject; wildcards * and > allowed', subjectArg(true))
    .option('--stream <NAME>', 'read from this JetStream stream', streamNameArg)
    .option('--all', 'from the start of the stream (the stream capturing SUBJECT unless --stream)')
    .option('--json', 'one JSON object per line')
    .option('-n, --count <N>', 'exit after N messages', positiveInt)
    .option(
      '--timeout <SECONDS>',
      'exit after this long (exit 1 if --count was not reached)',
      positiveNumber,
    )

  leaf<PutFlags>(
    client,
    'put',
    'upload a file into a bucket',
    io,
    setResult,
    async ([b, f], flags, ctx) => (await objects()).put(b ?? '', f ?? '', flags, ctx),
  )
    .argument('<BUCKET>')
    .argument('<FILE>')
    .option('--key <KEY>', "object key (default: the file's name)")

  leaf<GetFlags>(
    client,
    'get',
    'download an object (to stdout by default)',
    io,
    setResult,
    async ([b, k], f, ctx) => (await objects()).get(b ?? '', k ?? '', f, ctx),
  )
    .argument('<BUCKET>')
    .argument('<KEY>')
    .option('-o, --out <FILE>', 'write to FILE instead of stdout')

  leaf<LsFlags>(client, 'ls', 'list the objects of a bucket', io, setResult, async ([b], f, ctx) =>
    (await objects()).ls(b ?? '', f, ctx),
  )
    .argument('<BUCKET>')
    .option('--prefix <PREFIX>', 'only keys starting with PREFIX')
    .option('--all', "also rhio's own objects (.rhio/…)")
    .option('--json', 'one JSON object per line')

  const stream = client.command('stream').description('JetStream streams (rhio never creates them)')
  leaf<object>(
    stream,
    'add',
    'create a stream capturing SUBJECTs',
    io,
    setResult,
    async ([n, ...s], _f, ctx) => (await streams()).streamAdd(n ?? '', s, ctx),
  )
    .argument('<NAME>', 'stream name', streamNameArg)
    .argument('<SUBJECT...>', 'subjects; wildcards allowed', (v: string, prev: string[] = []) => [
      ...prev,
      subjectArg(true)(v),
    ])
  leaf<object>(stream, 'ls', 'list streams', io, setResult, async (_a, _f, ctx) =>
    (await streams()).streamList(ctx),
  )

  const bucket = client.command('bucket').description('buckets (rhio never creates them)')
  leaf<object>(
    bucket,
    'add',
    'create a bucket (a directory without s3)',
    io,
    setResult,
    async ([n], _f, ctx) => (await buckets()).bucketAdd(n ?? '', ctx),
  ).argument('<NAME>')
  leaf<object>(bucket, 'ls', 'list buckets', io, setResult, async (_a, _f, ctx) =>
    (await buckets()).bucketList(ctx),
  )

  return client
}

/**
 * `rhio client` against a real nats-server, as a real process (runRhioCli):
 * streams, publish with headers, reading a stream from the start and live,
 * and the exit codes of docs/ERRORS.md.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { stringify } from 'yaml'
import { Child } from '../helpers/child.js'
import { NatsServer } from '../helpers/nats-server.js'
import { RHIO_MAIN, runRhioCli, type CliResult } from '../helpers/rhio.js'
import { tempDir } from '../helpers/tmp.js'

async function writeConfig(dir: string, config: Record<string, unknown>): Promise<string> {
  const path = join(dir, 'config.yaml')
  await writeFile(path, stringify({ data_dir: join(dir, 'data'), ...config }))
  return path
}

/** `rhio client <args> -c <config>`. */
function client(config: string, ...args: string[]): Promise<CliResult> {
  return runRhioCli(['client', ...args, '-c', config])
}

/** Runs rhio with `input` on stdin. */
function runWithStdin(args: string[], input: Buffer): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [RHIO_MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
    proc.once('error', reject)
    proc.once('exit', (code) => resolve({ code, stdout, stderr }))
    proc.stdin.end(input)
  })
}

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

describe('rhio client: NATS', () => {
  it('creates a stream, publishes with headers, reads the stream from the start', async () => {
    await using ns = await NatsServer.start()
    await using dir = await tempDir()
    const cfg = await writeConfig(dir.path, { nats: { endpoint: ns.url } })

    const add = await client(cfg, 'stream', 'add', 'demo', 'demo.>')
    assert.equal(add.code, 0, add.stderr)
    assert.match(add.stdout, /stream demo created \(subjects: demo\.>\)/)
    const again = await client(cfg, 'stream', 'add', 'demo', 'demo.>')
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /stream demo exists/)

    const p1 = await client(
      cfg,
      'pub',
      'demo.a',
      'hello\nworld',
      '-H',
      'X-Id=1',
      '-H',
      'X-Id=2',
      '--header',
      'Trace=a=b',
    )
    assert.equal(p1.code, 0, p1.stderr)
    assert.match(p1.stdout, /published to demo\.a \(11 bytes\): stream demo #1/)
    const p2 = await client(cfg, 'pub', 'demo.b.c', '')
    assert.equal(p2.code, 0, p2.stderr)
    assert.match(p2.stdout, /stream demo #2/)

    const json = await client(cfg, 'sub', 'demo.>', '--all', '--json', '--count', '2')
    assert.equal(json.code, 0, json.stderr)
    const [m1, m2, ...rest] = jsonLines(json.stdout)
    assert.deepEqual(rest, [])
    assert.equal(m1?.subject, 'demo.a')
    assert.deepEqual(m1?.headers, { 'X-Id': ['1', '2'], Trace: ['a=b'] })
    assert.equal(m1?.data, 'hello\nworld')
    assert.equal(m1?.encoding, 'utf8')
    assert.equal(m1?.stream, 'demo')
    assert.equal(m1?.seq, 1)
    assert.ok(!Number.isNaN(Date.parse(String(m1?.time))))
    assert.equal(m2?.subject, 'demo.b.c')
    assert.equal(m2?.data, '')
    assert.deepEqual(m2?.headers, {})

    const text = await client(cfg, 'sub', 'demo.a', '--stream', 'demo', '--all', '-n', '1')
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^demo\.a {2}\(demo #1, \d{4}-\d\d-\d\dT[^)]+\)\n/)
    assert.match(
      text.stdout,
      /\n {2}X-Id: 1\n {2}X-Id: 2\n {2}Trace: a=b\n {2}\| hello\n {2}\| world\n/,
    )

    const ls = await client(cfg, 'stream', 'ls')
    assert.equal(ls.code, 0, ls.stderr)
    assert.match(ls.stdout, /demo\s+demo\.>\s+2\s+\d+/)
  })

  it('prints messages arriving live on a core subscription', async () => {
    await using ns = await NatsServer.start()
    await using dir = await tempDir()
    const cfg = await writeConfig(dir.path, { nats: { endpoint: ns.url } })
    const sub = new Child('rhio client sub', process.execPath, [
      RHIO_MAIN,
      'client',
      'sub',
      'live.*',
      '--json',
      '-n',
      '2',
      '--timeout',
      '20',
      '-c',
      cfg,
    ])
    try {
      await sub.waitForOutput(/listening on live\.\*/, 10_000)
      const a = await client(cfg, 'pub', 'live.one', 'first', '--core', '-H', 'K=v')
      assert.equal(a.code, 0, a.stderr)
      assert.match(a.stdout, /core NATS/)
      const b = await client(cfg, 'pub', 'live.two', 'second', '--core')
      assert.equal(b.code, 0, b.stderr)
      const { code } = await sub.exited
      assert.equal(code, 0, sub.output)
      const lines = jsonLines(
        sub.output
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .join('\n'),
      )
      assert.deepEqual(
        lines.map((l) => [l.subject, l.data, l.headers]),
        [
          ['live.one', 'first', { K: ['v'] }],
          ['live.two', 'second', {}],
        ],
      )
    } finally {
      await sub.kill()
    }
  })

  it('reads only new messages of a stream without --all', async () => {
    await using ns = await NatsServer.start()
    await using dir = await tempDir()
    const cfg = await writeConfig(dir.path, { nats: { endpoint: ns.url } })
    assert.equal((await client(cfg, 'stream', 'add', 'events', 'ev.>')).code, 0)
    assert.equal((await client(cfg, 'pub', 'ev.old', 'before')).code, 0)
    const sub = new Child('rhio client sub', process.execPath, [
      RHIO_MAIN,
      'client',
      'sub',
      'ev.>',
      '--stream',
      'events',
      '--json',
      '-n',
      '1',
      '--timeout',
      '20',
      '-c',
      cfg,
    ])
    try {
      await sub.waitForOutput(/reading ev\.> from stream events \(new messages/, 10_000)
      assert.equal((await client(cfg, 'pub', 'ev.new', 'after')).code, 0)
      const { code } = await sub.exited
      assert.equal(code, 0, sub.output)
      const lines = jsonLines(
        sub.output
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .join('\n'),
      )
      assert.deepEqual(
        lines.map((l) => [l.subject, l.data, l.seq]),
        [['ev.new', 'after', 2]],
      )
    } finally {
      await sub.kill()
    }
  })

  it('Ctrl-C (SIGINT) ends a subscription with exit 0', async () => {
    await using ns = await NatsServer.start()
    await using dir = await tempDir()
    const cfg = await writeConfig(dir.path, { nats: { endpoint: ns.url } })
    const sub = new Child('rhio client sub', process.execPath, [
      RHIO_MAIN,
      'client',
      'sub',
      'x.>',
      '-c',
      cfg,
    ])
    try {
      await sub.waitForOutput(/listening on x\.>/, 10_000)
      sub.proc.kill('SIGINT')
      const { code, signal } = await sub.exited
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, sub.output)
    } finally {
      await sub.kill()
    }
  })

  it('reads a binary payload from stdin and shows it as base64', async () => {
    await using ns = await NatsServer.start()
    await using dir = await tempDir()
    const cfg = await writeConfig(dir.path, { nats: { endpoint: ns.url } })
    assert.equal((await client(cfg, 'stream', 'add', 'bin', 'bin')).code, 0)
    const bytes = Buffer.from([0xff, 0x00, 0x01, 0x80])
    const pub = await runWithStdin(['client', 'pub', 'bin', '-', '-c', cfg], bytes)
    assert.equal(pub.code, 0, pub.stderr)
    assert.match(pub.stdout, /\(4 bytes\): stream bin #1/)
    const json = await client(cfg, 'sub', 'bin', '--all', '--json', '-n', '1')
    const [m] = jsonLines(json.stdout)
    assert.equal(m?.encoding, 'base64')
    assert.deepEqual(Buffer.from(String(m?.data), 'base64'), bytes)
    const text = await client(cfg, 'sub', 'bin', '--all', '-n', '1')
    assert.match(text.stdout, /\n {2}\(4 bytes, base64\) \/wABgA==\n/)
  })

  it('says what is wrong, with the documented exit codes', async () => {
    await using ns = await NatsServer.start()
    await using dir = await tempDir()
    const cfg = await writeConfig(dir.path, { nats: { endpoint: ns.url } })
    assert.equal((await client(cfg, 'stream', 'add', 'one', 'one.>')).code, 0)

    const noStream = await client(cfg, 'pub', 'nowhere', 'x')
    assert.equal(noStream.code, 1)
    assert.match(
      noStream.stderr,
      /CLIENT_NO_STREAM: no JetStream stream captures nowhere: create one with 'rhio client stream add NAME nowhere'/,
    )

    const conflict = await client(cfg, 'stream', 'add', 'one', 'other.>')
    assert.equal(conflict.code, 1)
    assert.match(
      conflict.stderr,
      /CLIENT_STREAM_CONFLICT: stream one exists with other subjects \(one\.>\)/,
    )
    const overlap = await client(cfg, 'stream', 'add', 'two', 'one.x')
    assert.equal(overlap.code, 1)
    assert.match(
      overlap.stderr,
      /CLIENT_STREAM_CONFLICT: subjects one\.x overlap with stream one \(one\.>\)/,
    )

    const missing = await client(cfg, 'sub', 'one.x', '--stream', 'nope', '-n', '1')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /CLIENT_STREAM_NOT_FOUND: no stream named nope/)
    const uncaptured = await client(cfg, 'sub', 'zzz', '--all', '-n', '1')
    assert.equal(uncaptured.code, 1)
    assert.match(uncaptured.stderr, /CLIENT_STREAM_NOT_FOUND: no stream captures zzz/)

    const timeout = await client(cfg, 'sub', 'one.x', '--all', '-n', '1', '--timeout', '0.5')
    assert.equal(timeout.code, 1)
    assert.match(timeout.stderr, /CLIENT_TIMEOUT: received 0 of 1 messages on one\.x within 0\.5 s/)

    for (const args of [
      ['pub', 'one.*', 'x'],
      ['pub', 'one.x', 'x', '-H', 'no-equals'],
      ['pub', 'one..x', 'x'],
      ['sub', 'one.x', '-n', '0'],
      ['stream', 'add', 'a.b', 'x'],
    ]) {
      const r = await client(cfg, ...args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, /error: .* is invalid/)
    }

    await ns.stop()
    const down = await client(cfg, 'pub', 'one.x', 'x')
    assert.equal(down.code, 3, down.stderr)
    assert.match(
      down.stderr,
      /CLIENT_NATS_UNREACHABLE: cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+/,
    )
  })

  it('uses the credentials of the config (and the RHIO_NATS_* environment)', async () => {
    await using ns = await NatsServer.start({
      config: 'authorization { users = [ { user: "rhio", password: "s3cret" } ] }',
    })
    await using dir = await tempDir()
    const good = await writeConfig(dir.path, {
      nats: { endpoint: ns.url, credentials: { username: 'rhio', password: 's3cret' } },
    })
    assert.equal((await client(good, 'stream', 'add', 'auth', 'auth')).code, 0)
    const bad = join(dir.path, 'bad.yaml')
    await writeFile(bad, stringify({ nats: { endpoint: ns.url } }))
    const denied = await client(bad, 'stream', 'ls')
    assert.equal(denied.code, 1, denied.stderr)
    assert.match(
      denied.stderr,
      /CLIENT_NATS_FAILED: cannot connect to NATS at .*: credentials rejected/,
    )
    const fromEnv = await runRhioCli(['client', 'stream', 'ls', '-c', bad], {
      env: { RHIO_NATS_USERNAME: 'rhio', RHIO_NATS_PASSWORD: 's3cret' },
    })
    assert.equal(fromEnv.code, 0, fromEnv.stderr)
    assert.match(fromEnv.stdout, /auth/)
  })
})

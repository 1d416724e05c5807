import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { ClientErrorCode, clientExitCode } from '../../src/cli/client/errors.js'
import { humanBytes, messageJson, messageText, payloadText } from '../../src/cli/client/format.js'
import { subjectsOverlap } from '../../src/cli/client/streams.js'
import type { CliIO } from '../../src/cli/common/io.js'
import { main } from '../../src/cli/program.js'
import { ConfigError } from '../../src/config/index.js'
import { RhioError, type ErrorCode } from '../../src/errors/index.js'

function io(): CliIO & { stdout: string; stderr: string } {
  const r = {
    stdout: '',
    stderr: '',
    env: {},
    cwd: '/nonexistent',
    stdoutIsTTY: false,
    out(t: string) {
      r.stdout += t
    },
    err(t: string) {
      r.stderr += t
    },
  }
  return r
}

describe('rhio client: output formats', () => {
  const msg = {
    subject: 'a.b',
    headers: [
      ['X-Id', ['1', '2']],
      ['Rhio-Author', ['ab']],
    ] as Array<[string, string[]]>,
    data: new TextEncoder().encode('line 1\nline 2'),
    stream: { name: 'S', seq: 7, time: new Date(0) },
  }

  it('readable: subject with stream position, every header value, indented payload', () => {
    assert.equal(
      messageText(msg),
      'a.b  (S #7, 1970-01-01T00:00:00.000Z)\n  X-Id: 1\n  X-Id: 2\n  Rhio-Author: ab\n  | line 1\n  | line 2\n\n',
    )
    assert.equal(
      messageText({ subject: 'x', headers: [], data: new Uint8Array() }),
      'x\n  (empty payload)\n\n',
    )
    assert.equal(
      messageText({ subject: 'x', headers: [], data: new Uint8Array([0, 255]) }),
      'x\n  (2 bytes, base64) AP8=\n\n',
    )
  })

  it('JSON: one line per message, base64 only for binary payloads', () => {
    assert.deepEqual(JSON.parse(messageJson(msg)), {
      subject: 'a.b',
      headers: { 'X-Id': ['1', '2'], 'Rhio-Author': ['ab'] },
      data: 'line 1\nline 2',
      encoding: 'utf8',
      stream: 'S',
      seq: 7,
      time: '1970-01-01T00:00:00.000Z',
    })
    const bin = JSON.parse(messageJson({ subject: 'x', headers: [], data: new Uint8Array([0xc3]) }))
    assert.deepEqual(bin, { subject: 'x', headers: {}, data: 'ww==', encoding: 'base64' })
    assert.ok(messageJson(msg).endsWith('}\n') && !messageJson(msg).slice(0, -1).includes('\n'))
  })

  it('payloadText: UTF-8 without NUL is text', () => {
    assert.equal(payloadText(new TextEncoder().encode('ä€😀')), 'ä€😀')
    assert.equal(payloadText(new Uint8Array([0x61, 0])), undefined)
    assert.equal(payloadText(new Uint8Array([0xff])), undefined)
  })

  it('humanBytes', () => {
    assert.deepEqual([0, 1023, 1024, 1536, 10 * 1024, 5 * 1024 * 1024 + 1].map(humanBytes), [
      '0 B',
      '1023 B',
      '1.0 KiB',
      '1.5 KiB',
      '10 KiB',
      '5.0 MiB',
    ])
  })
})

describe('rhio client: subjects, exit codes, usage', () => {
  it('subjectsOverlap follows NATS wildcard rules', () => {
    const cases: Array<[string, string, boolean]> = [
      ['a.b', 'a.b', true],
      ['a.b', 'a.c', false],
      ['a.*', 'a.b', true],
      ['a.*', 'a.b.c', false],
      ['a.>', 'a.b.c', true],
      ['a.>', 'a', false],
      ['>', 'x', true],
      ['*.b', 'a.*', true],
      ['a.*.c', 'a.b.d', false],
    ]
    for (const [x, y, want] of cases) {
      assert.equal(subjectsOverlap(x, y), want, `${x} vs ${y}`)
      assert.equal(subjectsOverlap(y, x), want, `${y} vs ${x}`)
    }
  })

  it('exit codes: 2 bad input, 3 unreachable, 1 otherwise', () => {
    const e = (code: ErrorCode): RhioError => new RhioError(code, 'x')
    assert.equal(clientExitCode(new ConfigError([{ path: 'a', message: 'b' }], null)), 2)
    assert.equal(clientExitCode(e('CONFIG_NOT_FOUND')), 2)
    assert.equal(clientExitCode(e('CLIENT_FILE_UNREADABLE')), 2)
    assert.equal(clientExitCode(e('S3_INVALID_KEY')), 2)
    assert.equal(clientExitCode(e('CLIENT_NATS_UNREACHABLE')), 3)
    assert.equal(clientExitCode(e('S3_UNAVAILABLE')), 3)
    assert.equal(clientExitCode(e('CLIENT_NO_STREAM')), 1)
    assert.equal(clientExitCode(e('S3_NO_SUCH_BUCKET')), 1)
    assert.equal(clientExitCode(new Error('boom')), 1)
  })

  it('every client error code has a row in docs/ERRORS.md', () => {
    const doc = readFileSync(new URL('../../../docs/ERRORS.md', import.meta.url), 'utf8')
    for (const code of Object.values(ClientErrorCode)) {
      assert.match(doc, new RegExp(`^\\| \`${code}\` +\\|`, 'm'), code)
    }
  })

  it('a missing -c file is a config error (exit 2) before anything is contacted', async () => {
    const r = io()
    const code = await main(['node', 'rhio', 'client', 'ls', 'b', '-c', 'missing.yaml'], r)
    assert.equal(code, 2)
    assert.match(r.stderr, /CONFIG_NOT_FOUND/)
  })

  it('usage errors exit 2 and name the argument', async () => {
    for (const args of [
      ['client', 'pub', 'a.>', 'x'],
      ['client', 'pub', 'a', 'x', '--header', '=v'],
      ['client', 'sub', 'a', '--timeout', '-1'],
      ['client', 'sub', 'a', '--stream', 'x y'],
      ['client', 'stream', 'add', 'S'],
      ['client', 'nope'],
    ]) {
      const r = io()
      assert.equal(await main(['node', 'rhio', ...args], r), 2, args.join(' '))
      assert.match(r.stderr, /error: /, args.join(' '))
    }
  })

  it('rhio --help lists the client', async () => {
    const r = io()
    assert.equal(await main(['node', 'rhio', '--help'], r), 0)
    assert.match(r.stdout, /client \[options\]\s+talk to this node's local NATS and object store/)
  })
})

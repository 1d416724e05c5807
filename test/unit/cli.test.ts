import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { readFile, stat, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { CliIO } from '../../src/cli/common/io.js'
import { main } from '../../src/cli/program.js'
import { editDistance, suggest } from '../../src/cli/common/suggest.js'
import { healthProblems, renderHealth } from '../../src/cli/status.js'
import { loadIdentity, NodeIdentity } from '../../src/identity/index.js'
import { tempDir } from '../helpers/tmp.js'

const PK = 'ab'.repeat(32)

function io(
  cwd: string,
  env: Record<string, string> = {},
): CliIO & { stdout: string; stderr: string } {
  const r = {
    stdout: '',
    stderr: '',
    env,
    cwd,
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

const argv = (...args: string[]): string[] => ['node', 'rhio', ...args]

/** A stand-in /health endpoint answering `status` with `body`. */
async function fakeNode(status: number, body: unknown): Promise<{ url: string } & AsyncDisposable> {
  const server = createServer((_q, res) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
}

const HEALTHY = {
  status: 'Running',
  msg: null,
  streams: {
    published: [
      { stream: 'A', subject: 'a.>', status: 'Active', last_error: null, last_check_time: 0 },
    ],
    subscribed: [
      {
        source: PK,
        stream: 'B',
        subject: 'b.*',
        status: 'Active',
        last_error: null,
        last_check_time: 0,
      },
    ],
  },
  stores: {
    published: [{ bucket: 'out', status: 'New', last_error: null, last_check_time: null }],
    subscribed: [
      {
        source: PK,
        remote_bucket: 'r',
        local_bucket: 'l',
        status: 'New',
        last_error: null,
        last_check_time: null,
      },
    ],
  },
  nats: { status: 'Connected', server: '127.0.0.1:4222', last_error: null, since: 0 },
  node: { public_key: PK, network_id: 'net', version: '0.1.0', started_at: 0 },
}

const BUSY = {
  ...HEALTHY,
  stores: {
    ...HEALTHY.stores,
    subscribed: [{ ...HEALTHY.stores.subscribed[0], status: 'Active' }],
  },
  peers: [
    {
      id: 'cd'.repeat(32),
      connected: true,
      configured: true,
      addresses: ['/ip4/10.0.0.2/tcp/9102'],
      last_seen: 0,
      last_error: null,
    },
    {
      id: 'ef'.repeat(32),
      connected: false,
      configured: true,
      addresses: [],
      last_seen: null,
      last_error: 'dial timeout',
    },
  ],
  sync: [
    { author: PK, kind: 'nats', log: 'n1', lag: 10 },
    { author: PK, kind: 'nats', log: 'n2', lag: 2 },
    { author: PK, kind: 'blobs', log: 'b1', lag: 3 },
  ],
  transfers: [
    {
      local_bucket: 'l',
      key: 'big.bin',
      size: 200 * 1024 * 1024,
      done: 50 * 1024 * 1024,
      state: 'downloading',
      peer: 'cd'.repeat(32),
      last_error: null,
    },
    {
      local_bucket: 'l',
      key: 'bad.bin',
      size: 10,
      done: 0,
      state: 'failed',
      peer: null,
      last_error: 'S3_ACCESS_DENIED: no',
    },
  ],
}

describe('rhio keygen', () => {
  it('writes the configured private_key_path (mode 0600) and prints the public key', async () => {
    await using dir = await tempDir()
    const r = io(dir.path)
    assert.equal(await main(argv('keygen'), r), 0)
    const path = join(dir.path, 'private.key')
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    const id = loadIdentity({ path, env: {} })
    assert.equal(r.stdout, `public key: ${id.publicKeyHex}\nprivate key written to ${path}\n`)
  })

  it('honours -k and the config file, and --out over both', async () => {
    await using dir = await tempDir()
    await writeFile(join(dir.path, 'c.yaml'), 'private_key_path: from-config.key\n')
    assert.equal(await main(argv('keygen', '-c', 'c.yaml'), io(dir.path)), 0)
    await stat(join(dir.path, 'from-config.key'))
    assert.equal(await main(argv('keygen', '-k', 'flag.key'), io(dir.path)), 0)
    await stat(join(dir.path, 'flag.key'))
    assert.equal(
      await main(argv('keygen', '--out', 'sub/out.key', '-c', 'c.yaml'), io(dir.path)),
      0,
    )
    await stat(join(dir.path, 'sub', 'out.key'))
  })

  it('refuses to overwrite (exit 2) and leaves the key alone', async () => {
    await using dir = await tempDir()
    const path = join(dir.path, 'k')
    assert.equal(await main(argv('keygen', '--out', path), io(dir.path)), 0)
    const before = await readFile(path, 'utf8')
    const r = io(dir.path)
    assert.equal(await main(argv('keygen', '--out', path), r), 2)
    assert.match(r.stderr, /KEY_EXISTS: .* already exists; rhio keygen never overwrites a key/)
    assert.equal(await readFile(path, 'utf8'), before)
  })

  it('--out - prints only the private key hex on stdout, the public key on stderr', async () => {
    await using dir = await tempDir()
    const r = io(dir.path)
    assert.equal(await main(argv('keygen', '--out', '-'), r), 0)
    assert.match(r.stdout, /^[0-9a-f]{64}\n$/)
    const id = new NodeIdentity(Buffer.from(r.stdout.trim(), 'hex'))
    assert.equal(r.stderr, `public key: ${id.publicKeyHex}\n`)
  })
})

describe('rhio status', () => {
  it('renders the health as a table', () => {
    const text = renderHealth(HEALTHY, 'http://x:1')
    assert.match(text, /^rhio at http:\/\/x:1 \(version 0\.1\.0\)$/m)
    assert.match(text, /^ {2}status: {6}Running$/m)
    assert.match(text, /^ {2}nats: {8}Connected 127\.0\.0\.1:4222$/m)
    assert.match(text, /^ {2}published +A +a\.> +- +- +Active +1970-01-01 00:00:00Z +-$/m)
    assert.match(text, /^ {2}subscribed +B +b\.\* +abababab… +- +Active/m)
    assert.match(text, /^ {2}subscribed +r -> l +abababab… +- +New +never +-$/m)
  })

  it('shows peers, lag per subscription and transfers with progress (issue 17)', () => {
    const text = renderHealth(BUSY, 'u')
    assert.match(text, /^PEERS \(1 connected, 2 configured\)$/m)
    assert.match(text, /^ {2}cdcdcdcd… +connected +\/ip4\/10\.0\.0\.2\/tcp\/9102 /m)
    assert.match(text, /^ {2}efefefef… +disconnected +- +never +dial timeout$/m)
    assert.match(text, /^ {2}subscribed +B +b\.\* +abababab… +12 +Active/m)
    assert.match(text, /^ {2}subscribed +r -> l +abababab… +3 +Active/m)
    assert.match(text, /^ {2}l\/big\.bin +downloading +25 % \(50 MiB of 200 MiB\) +cdcdcdcd… +-$/m)
    assert.deepEqual(healthProblems(BUSY), [
      'peer efefefef…: dial timeout',
      'transfer l/bad.bin failed: S3_ACCESS_DENIED: no',
    ])
    assert.deepEqual(healthProblems({ ...HEALTHY, peers: [] }), [
      'no connected peer (no node configured under nodes, none connected to this one)',
    ])
  })

  it('a node with a problem exits 1 with one line per problem; --json prints them too', async () => {
    await using dir = await tempDir()
    await using node = await fakeNode(503, {
      ...BUSY,
      status: 'Error',
      msg: "nats: disconnected; published stream 'A' (a.>) is inactive: stream not found",
      peers: [],
    })
    const r = io(dir.path)
    assert.equal(await main(argv('status', '--url', node.url), r), 1)
    const tail = r.stdout.slice(r.stdout.indexOf('\nPROBLEMS\n'))
    assert.equal(
      tail,
      [
        '',
        'PROBLEMS',
        '  nats: disconnected',
        "  published stream 'A' (a.>) is inactive: stream not found",
        '  no connected peer (no node configured under nodes, none connected to this one)',
        '  transfer l/bad.bin failed: S3_ACCESS_DENIED: no',
        '',
      ].join('\n'),
    )
    // --health-only (the image's HEALTHCHECK): a running node without peers passes
    {
      await using lone = await fakeNode(200, { ...HEALTHY, peers: [] })
      const h = io(dir.path)
      assert.equal(await main(argv('status', '--url', lone.url), h), 1)
      assert.match(h.stdout, /PROBLEMS\n {2}no connected peer/)
      assert.equal(await main(argv('status', '--url', lone.url, '--health-only'), io(dir.path)), 0)
    }
    assert.equal(await main(argv('status', '--url', node.url, '--health-only'), io(dir.path)), 1)
    const j = io(dir.path)
    assert.equal(await main(argv('status', '--url', node.url, '--json'), j), 1)
    const parsed = JSON.parse(j.stdout) as { url: string; problems: string[]; health: unknown }
    assert.equal(parsed.url, node.url)
    assert.equal(parsed.problems.length, 4)
    assert.equal((parsed.health as { status: string }).status, 'Error')
  })

  it('renders the original rhio health (no additions) and unexpected bodies without failing', () => {
    const original = {
      status: 'Running',
      msg: null,
      streams: { published: [], subscribed: [] },
      stores: { published: [], subscribed: [] },
    }
    assert.match(renderHealth(original, 'u'), /STREAMS\n {2}\(none configured\)/)
    assert.match(renderHealth('garbage', 'u'), /status: {6}-/)
  })

  it('exit 0 when healthy, 1 when not', async () => {
    await using dir = await tempDir()
    {
      await using node = await fakeNode(200, HEALTHY)
      const r = io(dir.path)
      assert.equal(await main(argv('status', '--url', node.url), r), 0)
      assert.match(r.stdout, /status: {6}Running/)
    }
    {
      await using node = await fakeNode(503, {
        ...HEALTHY,
        status: 'Error',
        msg: 'nats: disconnected',
      })
      const r = io(dir.path)
      assert.equal(await main(argv('status', '--url', `${node.url}/`), r), 1)
      assert.match(r.stdout, /\nPROBLEMS\n {2}nats: disconnected\n$/)
    }
  })

  it('defaults to 127.0.0.1:<http_bind_port> from the config; exit 3 when unreachable', async () => {
    await using dir = await tempDir()
    let port: number
    {
      await using node = await fakeNode(200, HEALTHY)
      port = Number(new URL(node.url).port)
      await writeFile(join(dir.path, 'config.yaml'), `http_bind_port: ${port}\n`)
      assert.equal(await main(argv('status'), io(dir.path)), 0)
      assert.equal(await main(argv('status', '-b', String(port)), io(join(dir.path, '..'))), 0)
    }
    const r = io(dir.path)
    assert.equal(await main(argv('status'), r), 3)
    assert.match(r.stderr, new RegExp(`cannot reach rhio at http://127\\.0\\.0\\.1:${port}/health`))
  })
})

describe('did you mean (issue 17)', () => {
  it('suggests close commands and subcommands, exit 2', async () => {
    await using dir = await tempDir()
    const cases: Array<[string[], RegExp]> = [
      [['stauts'], /unknown command 'stauts' \(did you mean status\?\)/],
      [['keygne'], /unknown command 'keygne' \(did you mean keygen\?\)/],
      [['client', 'publish', 'a', 'b'], /unknown command 'publish' \(did you mean pub\?\)/],
      [['client', 'stram', 'ls'], /unknown command 'stram' \(did you mean stream\?\)/],
      [['client', 'bucket', 'lst'], /unknown command 'lst' \(did you mean ls\?\)/],
    ]
    for (const [args, re] of cases) {
      const r = io(dir.path)
      assert.equal(await main(argv(...args), r), 2, args.join(' '))
      assert.match(r.stderr, re)
    }
    const r = io(dir.path)
    assert.equal(await main(argv('zzzzzz'), r), 2)
    assert.match(r.stderr, /unknown command 'zzzzzz'\n/)
  })

  it('ranks by edit distance and prefixes', () => {
    assert.deepEqual(suggest('stauts', ['status', 'keygen', 'client', 'demo']), ['status'])
    assert.deepEqual(suggest('publish', ['pub', 'sub', 'put']), ['pub'])
    assert.deepEqual(suggest('xyz', ['status', 'pub']), [])
    assert.equal(editDistance('ab', 'ba'), 1)
    assert.equal(editDistance('kitten', 'sitting'), 3)
  })
})

describe('command line', () => {
  it('--help and --version exit 0; bad usage exits 2', async () => {
    await using dir = await tempDir()
    let r = io(dir.path)
    assert.equal(await main(argv('--help'), r), 0)
    assert.match(r.stdout, /-c, --config <PATH>/)
    assert.match(r.stdout, /-p, --bind-port <PORT>/)
    assert.match(r.stdout, /-b, --http-bind-port <PORT>/)
    assert.match(r.stdout, /-k, --private-key-path <PATH>/)
    assert.match(r.stdout, /-l, --log-level <LEVEL>/)
    r = io(dir.path)
    assert.equal(await main(argv('-V'), r), 0)
    assert.match(r.stdout, /^\d+\.\d+\.\d+/)
    r = io(dir.path)
    assert.equal(await main(argv('--no-such-flag'), r), 2)
    assert.match(r.stderr, /unknown option/)
    assert.equal(await main(argv('frobnicate'), io(dir.path)), 2)
  })

  it("a leading 'rhio' or '/usr/local/bin/rhio' (the original's container args) is the binary itself and dropped", async () => {
    await using dir = await tempDir()
    for (const own of ['rhio', '/usr/local/bin/rhio']) {
      const r = io(dir.path)
      assert.equal(await main(argv(own, '-V'), r), 0, r.stderr)
      assert.match(r.stdout, /^\d+\.\d+\.\d+/)
    }
    // only the first argument, and only the name rhio
    for (const args of [
      ['/usr/local/bin/rhio', 'rhio', '-c', 'none.yaml'],
      ['/usr/local/bin/rhio2', '-c', 'none.yaml'],
    ]) {
      const r = io(dir.path)
      assert.equal(await main(argv(...args), r), 2)
      assert.match(r.stderr, /too many arguments|unknown command/, args.join(' '))
    }
  })

  it('a config error when running exits 2 with every violation on stderr (--strict-config: unknown keys too)', async () => {
    await using dir = await tempDir()
    await writeFile(
      join(dir.path, 'config.yaml'),
      'bind_port: x\nnats:\n  endpoint: ""\n  bogus: 1\n',
    )
    const r = io(dir.path)
    assert.equal(await main(argv('--strict-config'), r), 2)
    assert.match(r.stderr, /CONFIG_INVALID: configuration in .*config\.yaml has 3 problems/)
    assert.match(r.stderr, /- bind_port: must be a number \(got 'x'\)/)
    assert.match(r.stderr, /- nats\.endpoint: must name at least one NATS server/)
    assert.match(r.stderr, /- nats\.bogus: unknown key/)
  })
})

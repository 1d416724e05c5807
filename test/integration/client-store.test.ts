/**
 * `rhio client bucket|put|get|ls` as a real process against both object
 * stores a node can have: the embedded directory store and S3 (s3rver).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { stringify } from 'yaml'
import { RHIO_MAIN, runRhioCli, type CliResult } from '../helpers/rhio.js'
import { S3Server } from '../helpers/s3-server.js'
import { tempDir } from '../helpers/tmp.js'

/** S3's smallest part size: a file one byte larger is sent in two parts. */
const PART = 5 * 1024 * 1024

function client(config: string, ...args: string[]): Promise<CliResult> {
  return runRhioCli(['client', ...args, '-c', config], { timeoutMs: 30_000 })
}

/** Runs rhio and keeps stdout as bytes. */
function clientBytes(
  config: string,
  ...args: string[]
): Promise<{ code: number | null; stdout: Buffer }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [RHIO_MAIN, 'client', ...args, '-c', config], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const chunks: Buffer[] = []
    proc.stdout.on('data', (c: Buffer) => chunks.push(c))
    proc.once('error', reject)
    proc.once('exit', (code) => resolve({ code, stdout: Buffer.concat(chunks) }))
  })
}

async function roundTrip(cfg: string, dir: string): Promise<void> {
  const missing = await client(cfg, 'ls', 'photos')
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /S3_NO_SUCH_BUCKET/)

  const add = await client(cfg, 'bucket', 'add', 'photos')
  assert.equal(add.code, 0, add.stderr)
  assert.match(add.stdout, /bucket photos created/)
  assert.match((await client(cfg, 'bucket', 'add', 'photos')).stdout, /bucket photos exists/)
  assert.match((await client(cfg, 'bucket', 'ls')).stdout, /^photos$/m)

  const empty = await client(cfg, 'ls', 'photos')
  assert.equal(empty.code, 0, empty.stderr)
  assert.match(empty.stdout, /no objects in photos/)

  const small = join(dir, 'small.bin')
  const smallData = randomBytes(1025)
  await writeFile(small, smallData)
  const zero = join(dir, 'zero')
  await writeFile(zero, '')
  const big = join(dir, 'big.bin')
  const bigData = randomBytes(PART + 1)
  await writeFile(big, bigData)

  const p1 = await client(cfg, 'put', 'photos', small)
  assert.equal(p1.code, 0, p1.stderr)
  assert.match(p1.stdout, /-> photos\/small\.bin \(1\.0 KiB, etag "[0-9a-f]{32}"\)/)
  assert.equal(p1.stderr, '', 'no warnings (the AWS SDK Node version notice is silenced)')
  assert.equal((await client(cfg, 'put', 'photos', zero, '--key', 'dir/zero')).code, 0)
  const p3 = await client(cfg, 'put', 'photos', big, '--key', 'big')
  assert.equal(p3.code, 0, p3.stderr)

  const ls = await client(cfg, 'ls', 'photos')
  assert.equal(ls.code, 0, ls.stderr)
  const keys = ls.stdout
    .split('\n')
    .slice(1, 4)
    .map((l) => l.trim().split(/\s+/).slice(0, 2))
  assert.deepEqual(keys, [
    ['big', String(PART + 1)],
    ['dir/zero', '0'],
    ['small.bin', '1025'],
  ])
  assert.match(ls.stdout, /3 objects, 5\.0 MiB/)
  const json = await client(cfg, 'ls', 'photos', '--json', '--prefix', 'dir/')
  const entries = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { key: string; size: number })
  assert.deepEqual(
    entries.map((e) => [e.key, e.size]),
    [['dir/zero', 0]],
  )

  const out = join(dir, 'copy.bin')
  const got = await client(cfg, 'get', 'photos', 'big', '--out', out)
  assert.equal(got.code, 0, got.stderr)
  assert.ok((await readFile(out)).equals(bigData), 'multipart object comes back byte-exact')
  const viaStdout = await clientBytes(cfg, 'get', 'photos', 'small.bin')
  assert.equal(viaStdout.code, 0)
  assert.ok(viaStdout.stdout.equals(smallData), 'stdout carries the raw bytes')
  assert.equal((await clientBytes(cfg, 'get', 'photos', 'dir/zero')).stdout.length, 0)

  const noKey = await client(cfg, 'get', 'photos', 'nope')
  assert.equal(noKey.code, 1)
  assert.match(noKey.stderr, /S3_NO_SUCH_KEY/)
  const reserved = await client(cfg, 'put', 'photos', small, '--key', '.rhio/x.rhio.json')
  assert.equal(reserved.code, 2)
  assert.match(reserved.stderr, /S3_INVALID_KEY: key \.rhio\/x\.rhio\.json is reserved/)
  const noFile = await client(cfg, 'put', 'photos', join(dir, 'absent'))
  assert.equal(noFile.code, 2)
  assert.match(noFile.stderr, /CLIENT_FILE_UNREADABLE: cannot read .*absent/)
  const badOut = await client(cfg, 'get', 'photos', 'small.bin', '--out', join(dir, 'no/such/dir'))
  assert.equal(badOut.code, 1)
  assert.match(badOut.stderr, /CLIENT_FILE_WRITE_FAILED/)
}

describe('rhio client: object stores', () => {
  it('directory store under data_dir/buckets: buckets, put, ls, get', async () => {
    await using dir = await tempDir()
    const cfg = join(dir.path, 'config.yaml')
    const dataDir = join(dir.path, 'data')
    await writeFile(cfg, stringify({ data_dir: dataDir, blobs: { part_size_bytes: PART } }))
    assert.match((await client(cfg, 'bucket', 'ls')).stdout, /no buckets/)
    await roundTrip(cfg, dir.path)

    // rhio's own objects are hidden unless asked for.
    await mkdir(join(dataDir, 'buckets', 'photos', '.rhio'), { recursive: true })
    await writeFile(join(dataDir, 'buckets', 'photos', '.rhio', 'small.bin.rhio.json'), '{}')
    assert.doesNotMatch((await client(cfg, 'ls', 'photos')).stdout, /\.rhio/)
    assert.match(
      (await client(cfg, 'ls', 'photos', '--all')).stdout,
      /\.rhio\/small\.bin\.rhio\.json/,
    )
  })

  it('directory store: bucket add refuses names S3 would refuse; a missing bucket suggests bucket add (issue 17)', async () => {
    await using dir = await tempDir()
    const cfg = join(dir.path, 'config.yaml')
    await writeFile(cfg, stringify({ data_dir: join(dir.path, 'data') }))
    for (const [name, why] of [
      ['My_Files', /lowercase letters, digits, dots and hyphens/],
      ['ab', /3 to 63 characters/],
      ['files-', /begin and end with a letter or digit/],
      ['a..b', /two adjacent dots/],
      ['192.168.1.1', /IP address/],
    ] as const) {
      const r = await client(cfg, 'bucket', 'add', name)
      assert.equal(r.code, 2, r.stdout + r.stderr)
      assert.match(r.stderr, /CLIENT_BUCKET_NAME_INVALID/)
      assert.match(r.stderr, why)
    }
    assert.match((await client(cfg, 'bucket', 'ls')).stdout, /no buckets/, 'nothing was created')
    const missing = await client(cfg, 'ls', 'photos')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /S3_NO_SUCH_BUCKET/)
    assert.match(missing.stderr, /\nrhio: create it with `rhio client bucket add NAME`\n$/)
    const ok = await client(cfg, 'bucket', 'add', 'my-files.v2')
    assert.equal(ok.code, 0, ok.stderr)
  })

  it('S3 (s3rver): buckets, put (single and multipart), ls, get; exit 3 when S3 is down', async () => {
    await using s3 = await S3Server.start()
    await using dir = await tempDir()
    const cfg = join(dir.path, 'config.yaml')
    await writeFile(
      cfg,
      stringify({
        data_dir: join(dir.path, 'data'),
        s3: s3.config,
        blobs: { part_size_bytes: PART },
      }),
    )
    await roundTrip(cfg, dir.path)

    await s3.stop()
    const down = await client(cfg, 'ls', 'photos')
    assert.equal(down.code, 3, down.stderr)
    assert.match(down.stderr, /S3_UNAVAILABLE/)
  })
})

/**
 * examples/two-sites: the walkthrough of examples/README.md, step by step,
 * with the example configs as shipped except for what must change on a test
 * machine (free ports instead of the fixed ones, temp directories).
 */
import assert from 'node:assert/strict'
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parse, stringify } from 'yaml'
import { NatsServer } from '../helpers/nats-server.js'
import { runRhioCli, startRhio } from '../helpers/rhio.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

/** examples/two-sites, seen from dist/test/e2e. */
const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '../../../examples/two-sites')

type Config = Record<string, unknown> & { nodes: Array<{ endpoints: string[] }> }

async function exampleConfig(site: 'a' | 'b', dir: string, natsUrl: string): Promise<Config> {
  const config = parse(await readFile(join(EXAMPLE, `site-${site}.yaml`), 'utf8')) as Config
  const key = join(dir, `site-${site}.key`)
  await copyFile(join(EXAMPLE, String(config.private_key_path)), key)
  await chmod(key, 0o600) // as the walkthrough says: git does not keep the mode
  return {
    ...config,
    private_key_path: key,
    data_dir: join(dir, String(config.data_dir)),
    nats: { endpoint: natsUrl },
    bind_port: 0,
    http_bind_port: 0,
  }
}

describe('examples/two-sites (issue 17)', () => {
  it('the walkthrough replicates a message and a file from A to B', async () => {
    await using dir = await tempDir()
    await using natsA = await NatsServer.start()
    await using natsB = await NatsServer.start()
    const a = await exampleConfig('a', dir.path, natsA.url)
    const b = await exampleConfig('b', dir.path, natsB.url)
    const fileA = join(dir.path, 'site-a.yaml')
    const fileB = join(dir.path, 'site-b.yaml')
    await writeFile(fileA, stringify(a))
    await writeFile(fileB, stringify(b))
    const cli = async (...args: string[]): Promise<string> => {
      const r = await runRhioCli(args, { cwd: dir.path, timeoutMs: 45_000 })
      assert.equal(r.code, 0, `rhio ${args.join(' ')}:\n${r.stdout}${r.stderr}`)
      return r.stdout
    }
    // 2. streams and buckets
    await cli('client', '-c', fileA, 'stream', 'add', 'demo', 'demo.>')
    await cli('client', '-c', fileB, 'stream', 'add', 'demo', 'demo.>')
    await cli('client', '-c', fileA, 'bucket', 'add', 'files-a')
    await cli('client', '-c', fileB, 'bucket', 'add', 'files-from-a')
    // 3. the nodes (B learns A's free port; A's entry for B stays unreachable, B dials)
    await using nodeA = await startRhio({ name: 'site-a', config: a })
    b.nodes = [{ ...b.nodes[0], endpoints: [`127.0.0.1:${await nodeA.p2pPort()}`] }]
    await writeFile(fileB, stringify(b))
    await using nodeB = await startRhio({ name: 'site-b', config: b })
    // 4. publish at A, receive at B
    await cli('client', '-c', fileA, 'pub', 'demo.a.hello', 'hi from A')
    const got = await cli(
      'client',
      '-c',
      fileB,
      'sub',
      'demo.a.>',
      '--all',
      '--count',
      '1',
      '--timeout',
      '30',
    )
    assert.match(got, /demo\.a\.hello/)
    assert.match(got, /hi from A/)
    const note = join(dir.path, 'note.txt')
    await writeFile(note, 'a file from A\n')
    await cli('client', '-c', fileA, 'put', 'files-a', note)
    const file = await waitFor(
      async () => {
        const r = await runRhioCli(['client', '-c', fileB, 'get', 'files-from-a', 'note.txt'])
        return r.code === 0 ? r.stdout : undefined
      },
      { timeout: 30_000, interval: 250, message: `note.txt at B:\n${nodeB.tail()}` },
    )
    assert.equal(file, 'a file from A\n')
    // 5. B is healthy and connected to A
    const status = await waitFor(
      async () => {
        const r = await runRhioCli(['status', '-c', fileB, '--url', nodeB.url])
        return r.code === 0 ? r.stdout : undefined
      },
      { timeout: 15_000, message: 'rhio status at B exits 0' },
    )
    assert.match(status, /PEERS \(1 connected, 1 configured\)/)
  })
})

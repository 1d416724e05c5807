/**
 * bench/log.ts — signed-log replication between two processes over real
 * libp2p TCP on loopback: the author signs (one Ed25519 signature per batch),
 * sends, the subscriber verifies (Merkle proof + signature) and delivers.
 * Compared with the raw libp2p stream ceiling measured in the same run: the
 * same number of equally sized length-prefixed frames through one stream.
 *
 *   node dist/bench/log.js [--entries N] [--payload BYTES] [--no-record]
 *
 * Appends a section to bench/RESULTS.md unless --no-record.
 */
import { execSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Uint8ArrayList } from 'uint8arraylist'
import { natsLogId } from '../src/core/selector.js'
import { FramedStream } from '../src/p2p/framing.js'
import { protocolId } from '../src/p2p/host.js'
import { CollectingConsumer, startTestNode, TEST_NETWORK } from '../test/helpers/p2p.js'
import { testKey } from '../test/helpers/keys.js'

const args = process.argv.slice(2)
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : def
}
const N = Math.ceil(arg('entries', 200_000) / 512) * 512
const PAYLOAD = arg('payload', 256)
const LOG = natsLogId('bench.>', 'B', 1)

async function receiver(authorHex: string): Promise<void> {
  const node = await startTestNode({})
  let bytes = 0
  let frames = 0
  await node.node.host.handle(protocolId(TEST_NETWORK, 'raw-bench'), (stream) => {
    const f = new FramedStream(stream, { maxFrameBytes: 1 << 20 })
    void (async () => {
      for (;;) {
        const fr = await f.read()
        if (!fr) break
        bytes += fr.length
        if (++frames === N) process.stdout.write(`RAW_DONE ${Date.now()}\n`)
      }
    })()
  })
  const c = new CountingConsumer()
  await node.node.subscribe(
    { author: Buffer.from(authorHex, 'hex'), kind: 'nats', filters: ['bench.>'] },
    c,
  )
  process.stdout.write(`READY ${JSON.stringify(node.asStatic())}\n`)
  c.onDone = () => process.stdout.write(`LOG_DONE ${Date.now()}\n`)
  process.stdin.on('data', () => process.exit(0))
  void bytes
}

class CountingConsumer extends CollectingConsumer {
  count = 0
  onDone: (() => void) | undefined
  override async deliver(d: Parameters<CollectingConsumer['deliver']>[0]): Promise<void> {
    this.count += d.entries.length
    d.ack()
    if (this.count >= N) this.onDone?.()
  }
}

async function main(): Promise<void> {
  const key = testKey()
  const child = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), 'receiver', key.publicKeyHex, ...args],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  let out = ''
  const waitLine = (prefix: string): Promise<string> =>
    new Promise((resolve) => {
      const check = (): void => {
        const line = out.split('\n').find((l) => l.startsWith(prefix))
        if (line) {
          child.stdout.off('data', onData)
          resolve(line.slice(prefix.length + 1))
        }
      }
      const onData = (d: Buffer): void => {
        out += d.toString()
        check()
      }
      child.stdout.on('data', onData)
      check()
    })
  const peer = JSON.parse(await waitLine('READY')) as { publicKey: string; endpoints: string[] }
  const author = await startTestNode({ key })
  // raw ceiling: the same number of frames of the size of one encoded entry + overhead
  const entryBytes = PAYLOAD + 60
  const { peerIdFromRhioKey } = await import('../src/p2p/host.js')
  const { multiaddr } = await import('@multiformats/multiaddr')
  await author.node.host.dial(
    multiaddr(
      `${peer.endpoints[0]}/p2p/${peerIdFromRhioKey(Buffer.from(peer.publicKey, 'hex')).toString()}`,
    ),
  )
  const stream = await author.node.host.dialProtocol(
    peerIdFromRhioKey(Buffer.from(peer.publicKey, 'hex')),
    protocolId(TEST_NETWORK, 'raw-bench'),
  )
  // Many length-prefixed frames per write, as the sync stream does per batch.
  const frame = randomBytes(entryBytes)
  const prefix = Uint8Array.of((entryBytes & 0x7f) | 0x80, entryBytes >> 7)
  const perWrite = 512
  const chunk = new Uint8ArrayList()
  for (let i = 0; i < perWrite; i++) chunk.append(prefix, frame)
  const chunkBytes = chunk.subarray()
  const rawDone = waitLine('RAW_DONE')
  const t0 = Date.now()
  for (let i = 0; i < N; i += perWrite) {
    if (!stream.send(chunkBytes)) await stream.onDrain()
  }
  const rawMs = Number(await rawDone) - t0

  const log = await author.node.publish({ logId: LOG, kind: 'nats' }, ['bench.>'])
  const payload = randomBytes(PAYLOAD)
  const logDone = waitLine('LOG_DONE')
  const t1 = Date.now()
  for (let i = 1; i <= N; i++) {
    if (
      !log.append({
        seq: i,
        body: { kind: 'nats', subject: `bench.${i % 16}`, headers: [['X-I', String(i)]], payload },
      })
    )
      await log.drained()
  }
  const logMs = Number(await logDone) - t1
  child.stdin.write('x')
  await author.node.stop()

  const raw = (N / rawMs) * 1000
  const rate = (N / logMs) * 1000
  const rows = [
    ['raw libp2p stream, same frames', `${Math.round(raw)} frames/s`, '1.00x'],
    [
      'signed log: sign, send, verify, deliver',
      `${Math.round(rate)} entries/s`,
      `${(rate / raw).toFixed(2)}x`,
    ],
  ]
  let commit = 'unknown'
  try {
    commit = execSync('git rev-parse --short HEAD').toString().trim()
  } catch {
    // not a git checkout
  }
  const table = [
    '| what | rate | vs raw |',
    '|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
  const section = `\n## log — ${new Date().toISOString()}\n\nmachine: ${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; commit ${commit}; ${N} entries of ${PAYLOAD} B payload, two processes, TCP loopback\n\n${table}\n`
  console.log(section)
  if (!args.includes('--no-record'))
    appendFileSync(new URL('../../bench/RESULTS.md', import.meta.url), section)
}

if (process.argv[2] === 'receiver') void receiver(process.argv[3]!)
else void main()

/**
 * `rhio demo`: a local network of three sites on this machine, each with its
 * own nats-server, its own bucket directory and its own rhio process:
 *
 *   A publishes subject demo.> (stream events) and bucket outbox
 *   B subscribes to A (events, inbox) and knows only A
 *   C subscribes to A (events, inbox) and knows only B: it gets A's data via B
 *
 * It creates the streams and buckets, publishes a message every 2 s and a file
 * every 10 s at A, prints what arrives at B and C, and prints the status page
 * URLs. Ctrl-C stops everything it started and removes its directory.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { stringify } from 'yaml'
import { NodeIdentity, writeKeyFile } from '../../identity/index.js'
import { DirObjectStore } from '../../store/index.js'
import type { CliIO } from '../common/io.js'
import { DemoProcess, findNatsServer } from './processes.js'
import { pause } from '../../util/abort.js'

export interface DemoFlags {
  dir?: string
  keep?: boolean
  /** Stop by itself after this many seconds (tests). */
  duration?: string
}

interface Site {
  name: string
  dir: string
  identity: NodeIdentity
  nats: DemoProcess
  natsUrl: string
  nc?: NatsConnection
  rhio?: DemoProcess
  httpPort?: number
  p2pPort?: number
}

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url))

export async function demo(flags: DemoFlags, io: CliIO): Promise<number> {
  const natsBin = findNatsServer(io.env)
  if (!natsBin) {
    io.err(
      'rhio demo: nats-server not found; install it (apt-get install -y nats-server) or set NATS_SERVER_BIN\n',
    )
    return 2
  }
  const root = flags.dir ? resolve(io.cwd, flags.dir) : await mkdtemp(join(tmpdir(), 'rhio-demo-'))
  await mkdir(root, { recursive: true })
  const sites: Site[] = []
  const stop = new AbortController()
  const onSignal = (): void => stop.abort()
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const say = (s: string): void => io.out(`${s}\n`)
  let code = 0
  try {
    say(`rhio demo: three sites in ${root}`)
    for (const name of ['a', 'b', 'c']) {
      const dir = join(root, name)
      await mkdir(join(dir, 'data', 'buckets'), { recursive: true })
      const nats = new DemoProcess(
        `nats-${name}`,
        natsBin,
        ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', join(dir, 'nats')],
        join(dir, 'nats.log'),
      )
      const m = await nats.waitFor(/Listening for client connections on [^\s]*:(\d+)/)
      await nats.waitFor(/Server is ready/)
      const site: Site = {
        name,
        dir,
        identity: NodeIdentity.generate(),
        nats,
        natsUrl: `nats://127.0.0.1:${m[1]}`,
      }
      sites.push(site)
      site.nc = await connect({ servers: site.natsUrl })
      const jsm = await jetstreamManager(site.nc)
      await jsm.streams.add({ name: 'events', subjects: ['demo.>'] })
      await mkdir(join(dir, 'data', 'buckets', name === 'a' ? 'outbox' : 'inbox'), {
        recursive: true,
      })
      writeKeyFile(join(dir, 'private.key'), site.identity)
    }
    const [a, b, c] = sites as [Site, Site, Site]
    await startRhio(
      a,
      {
        publish: {
          nats_subjects: [{ subject: 'demo.>', stream: 'events' }],
          s3_buckets: ['outbox'],
        },
      },
      [],
    )
    await startRhio(b, subscribeTo(a), [a])
    await startRhio(c, subscribeTo(a), [b])
    say('')
    for (const s of sites)
      say(
        `  site ${s.name.toUpperCase()}  status page http://127.0.0.1:${s.httpPort}/   node ${s.identity.publicKeyHex.slice(0, 16)}…`,
      )
    say('')
    say('A publishes demo.greetings every 2 s and a file into bucket outbox every 10 s;')
    say(
      'B and C subscribe to A (C only knows B, so it gets everything via B). Ctrl-C stops the demo.',
    )
    say('')

    for (const s of [b, c]) {
      const sub = s.nc!.subscribe('demo.>')
      void (async () => {
        for await (const m of sub) {
          if (!m.headers?.get('X-Rhio-PublicKey')) continue
          say(
            `  ${s.name.toUpperCase()} received ${m.subject}: ${new TextDecoder().decode(m.data)}`,
          )
        }
      })()
    }
    const seenFiles = new Map<string, Set<string>>([
      ['b', new Set()],
      ['c', new Set()],
    ])
    const outbox = new DirObjectStore({ root: join(a.dir, 'data', 'buckets') })
    const js = jetstream(a.nc!)
    const started = Date.now()
    const limitMs = flags.duration ? Number(flags.duration) * 1000 : Infinity
    for (let i = 1; !stop.signal.aborted && Date.now() - started < limitMs; i++) {
      await js.publish('demo.greetings', new TextEncoder().encode(`hello #${i} from A`))
      if (i % 5 === 1) {
        const key = `hello-${i}.txt`
        await outbox.put(
          'outbox',
          key,
          new TextEncoder().encode(`file ${i} written at site A at ${new Date().toISOString()}\n`),
        )
        say(`  A put outbox/${key}`)
      }
      for (const s of [b, c]) {
        const files = await readdir(join(s.dir, 'data', 'buckets', 'inbox')).catch(
          () => [] as string[],
        )
        for (const f of files) {
          if (f.startsWith('.') || seenFiles.get(s.name)!.has(f)) continue
          seenFiles.get(s.name)!.add(f)
          say(`  ${s.name.toUpperCase()} received file inbox/${f}`)
        }
      }
      await pause(2000, stop.signal)
    }
  } catch (err) {
    io.err(`rhio demo: ${(err as Error).message}\n`)
    code = 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    say('stopping the demo…')
    for (const s of [...sites].reverse()) await s.rhio?.stop()
    for (const s of sites) await s.nc?.close().catch(() => {})
    for (const s of sites) await s.nats.stop()
    if (!flags.keep && !flags.dir) await rm(root, { recursive: true, force: true })
    say(
      flags.keep || flags.dir
        ? `demo stopped; files kept in ${root}`
        : 'demo stopped; everything it started is gone',
    )
  }
  return code

  function subscribeTo(author: Site): Record<string, unknown> {
    return {
      subscribe: {
        nats_subjects: [
          { subject: 'demo.>', stream: 'events', public_key: author.identity.publicKeyHex },
        ],
        s3_buckets: [
          {
            remote_bucket: 'outbox',
            local_bucket: 'inbox',
            public_key: author.identity.publicKeyHex,
          },
        ],
      },
    }
  }

  async function startRhio(
    site: Site,
    extra: Record<string, unknown>,
    peers: Site[],
  ): Promise<void> {
    const config = {
      bind_host: '127.0.0.1',
      bind_port: 0,
      http_bind_host: '127.0.0.1',
      http_bind_port: 0,
      private_key_path: join(site.dir, 'private.key'),
      data_dir: join(site.dir, 'data'),
      network_id: 'rhio-demo',
      nats: { endpoint: site.natsUrl },
      state: { backend: 'nats' },
      protocol: { poll_interval_seconds: 1, resync_interval_seconds: 5 },
      discovery: { query_interval_seconds: 1 },
      nodes: peers.map((p) => ({
        public_key: p.identity.publicKeyHex,
        endpoints: [`127.0.0.1:${p.p2pPort}`],
      })),
      log_level: 'INFO',
      ...extra,
    }
    // No `s3` section: buckets are directories under data_dir/buckets.
    const path = join(site.dir, 'config.yaml')
    await writeFile(path, stringify(config))
    const env = { ...process.env, RHIO_LOG_FORMAT: 'json' }
    site.rhio = new DemoProcess(
      `rhio-${site.name}`,
      process.execPath,
      [MAIN, '-c', path],
      join(site.dir, 'rhio.log'),
      env,
    )
    const http = await site.rhio.waitFor(
      /"msg":"http listening"[^\n]*"port":(\d+)|"port":(\d+)[^\n]*"msg":"http listening"/,
    )
    site.httpPort = Number(http[1] ?? http[2])
    const p2p = await site.rhio.waitFor(/[^\n]*"msg":"p2p listening"[^\n]*/)
    const port = /\/tcp\/(\d+)/.exec(p2p[0])
    site.p2pPort = Number(port?.[1])
  }
}

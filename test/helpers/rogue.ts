/**
 * A misbehaving peer for tests: a real libp2p host that speaks rhio's hello
 * and sync protocols but answers with whatever the test scripts.
 */
import { randomBytes } from 'node:crypto'
import type { Libp2p, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { FramedStream } from '../../src/p2p/framing.js'
import { createHost, protocolId } from '../../src/p2p/host.js'
import { encodeHello, type Selector } from '../../src/sync/wire.js'
import { testKey, type TestKey } from './keys.js'
import { TEST_NETWORK } from './p2p.js'

/** What the rogue does with one inbound sync session. */
export type RogueScript = (out: { raw: Stream; framed: FramedStream }) => Promise<void>

export class Rogue implements AsyncDisposable {
  sessions = 0
  private constructor(
    readonly host: Libp2p,
    readonly key: TestKey,
    private readonly scripts: RogueScript[],
  ) {}

  static async start(opts: {
    holds: Selector[]
    scripts: RogueScript[]
    networkId?: Uint8Array
    /** Its identity (default: a fresh one). */
    key?: TestKey
  }): Promise<Rogue> {
    const key = opts.key ?? testKey(randomBytes(32))
    const networkId = opts.networkId ?? TEST_NETWORK
    const host = await createHost({
      seed: key.seed,
      networkId,
      transport: 'tcp',
      listen: ['/ip4/127.0.0.1/tcp/0'],
      maxConnections: 64,
    })
    const rogue = new Rogue(host, key, opts.scripts)
    await host.start()
    const hello = encodeHello({ version: 1, holds: opts.holds, wants: [] })
    await host.handle(protocolId(networkId, 'hello'), (stream) => {
      // read and ignore the peer's hello
      stream.addEventListener('message', () => {})
    })
    host.addEventListener('peer:connect', (evt) => {
      void (async () => {
        try {
          const s = await host.dialProtocol(evt.detail, protocolId(networkId, 'hello'))
          await new FramedStream(s, { maxFrameBytes: 1 << 20 }).write(hello)
        } catch {
          // the victim may have banned us
        }
      })()
    })
    await host.handle(
      protocolId(networkId, 'sync'),
      async (stream) => {
        const framed = new FramedStream(stream, { maxFrameBytes: 64 << 20 })
        const i = rogue.sessions++
        const script = rogue.scripts[Math.min(i, rogue.scripts.length - 1)]!
        try {
          await framed.read() // the request
          await script({ raw: stream, framed })
        } catch {
          // the victim hangs up on us; that is the point
        }
      },
      { maxInboundStreams: 64 },
    )
    return rogue
  }

  /** Connects to a victim (it then says hello, as on any connection). */
  async dial(victim: { addresses(): string[] }): Promise<void> {
    // libp2p accepts at most 5 connections a second from one address: retry a refused dial
    for (let attempt = 0; ; attempt++) {
      try {
        await this.host.dial(multiaddr(victim.addresses()[0]!))
        return
      } catch (err) {
        if (attempt >= 10) throw err
        await new Promise((r) => setTimeout(r, 250))
      }
    }
  }

  asStatic(): { publicKey: string; endpoints: string[] } {
    return {
      publicKey: this.key.publicKeyHex,
      endpoints: this.host.getMultiaddrs().map((a) => a.toString().replace(/\/p2p\/.*$/, '')),
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.host.stop()
  }
}

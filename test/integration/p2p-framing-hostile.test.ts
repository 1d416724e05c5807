/**
 * FramedStream over real libp2p streams: a clean end after a burst the
 * reader paused on loses nothing (it used to end on 'remoteCloseWrite', which
 * fires before held-back data is delivered), and hostile endings fail with
 * typed, counted reasons.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Libp2p, Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { FrameError, FramedStream } from '../../src/p2p/framing.js'
import { createHost } from '../../src/p2p/host.js'
import { testKey } from '../helpers/keys.js'
import { TEST_NETWORK } from '../helpers/p2p.js'
import { frame, sleep } from '../helpers/raw-peer.js'

let a: Libp2p
let b: Libp2p
/** What b does with the next stream a opens. */
let script: (s: Stream) => Promise<void> = async () => {}

before(async () => {
  const hosts = ([a, b] = (await Promise.all(
    [0, 1].map(async () => {
      const key = testKey()
      const host = await createHost({
        seed: key.seed,
        networkId: TEST_NETWORK,
        transport: 'tcp',
        listen: ['/ip4/127.0.0.1/tcp/0'],
        maxConnections: 8,
      })
      await host.start()
      return host
    }),
  )) as [Libp2p, Libp2p])
  await hosts[1].handle('/frames/1', (s) => void script(s))
})
after(async () => {
  await a.stop()
  await b.stop()
})

async function open(
  opts: { highWaterBytes?: number; frameTimeoutMs?: number } = {},
): Promise<FramedStream> {
  const s = await a.dialProtocol(b.getMultiaddrs()[0]!, '/frames/1')
  return new FramedStream(s, { maxFrameBytes: 64 * 1024, ...opts })
}

test(
  'a burst followed by a clean close arrives complete, even while the reader is paused',
  { timeout: 10_000 },
  async () => {
    const frames = Array.from({ length: 400 }, (_, i) => new Uint8Array(2_000).fill(i & 0xff))
    // resolves once the writer is held back by our paused reader (or has sent everything)
    let writerWaits!: () => void
    const waiting = new Promise<void>((resolve) => (writerWaits = resolve))
    script = async (s) => {
      for (const f of frames) {
        if (!s.send(new Uint8ArrayList(frame(f)))) {
          writerWaits()
          await s.onDrain()
        }
      }
      writerWaits()
      await s.close()
    }
    const reader = await open({ highWaterBytes: 8 * 1024 })
    await waiting
    const got: Uint8Array[] = []
    for (let f = await reader.read(); f !== undefined; f = await reader.read()) got.push(f)
    assert.equal(got.length, frames.length)
    assert.ok(got.every((f, i) => f.length === 2_000 && f[0] === (i & 0xff)))
  },
)

test(
  'ending inside a frame is FRAME_MALFORMED (truncated); a clean end between frames is not',
  { timeout: 10_000 },
  async () => {
    script = async (s) => {
      s.send(new Uint8ArrayList(frame(Uint8Array.of(1, 2, 3)), Uint8Array.of(10, 1, 2)))
      await s.close()
    }
    const r = await open()
    assert.deepEqual([...((await r.read()) ?? [])], [1, 2, 3])
    await assert.rejects(
      r.read(),
      (e: unknown) => e instanceof FrameError && e.reason === 'truncated',
    )

    script = async (s) => {
      s.send(new Uint8ArrayList(frame(Uint8Array.of(4))))
      await s.close()
    }
    const clean = await open()
    assert.deepEqual([...((await clean.read()) ?? [])], [4])
    assert.equal(await clean.read(), undefined)
  },
)

test(
  'a frame dripping in slower than frameTimeoutMs is FRAME_TIMEOUT (slow)',
  { timeout: 10_000 },
  async () => {
    script = async (s) => {
      for (const byte of frame(new Uint8Array(20))) {
        if (s.writeStatus !== 'writable') return
        s.send(new Uint8ArrayList(Uint8Array.of(byte)))
        await sleep(100)
      }
    }
    const t0 = Date.now()
    const r = await open({ frameTimeoutMs: 400 })
    await assert.rejects(
      r.read(),
      (e: unknown) => e instanceof FrameError && e.code === 'FRAME_TIMEOUT' && e.reason === 'slow',
    )
    assert.ok(Date.now() - t0 < 2_000)
  },
)

test(
  'a length prefix above the limit is FRAME_OVERSIZED at once',
  { timeout: 10_000 },
  async () => {
    script = async (s) => {
      s.send(new Uint8ArrayList(Uint8Array.of(0x80, 0x80, 0x80, 0x01)))
    }
    const r = await open()
    await assert.rejects(
      r.read(),
      (e: unknown) => e instanceof FrameError && e.reason === 'oversized',
    )
  },
)

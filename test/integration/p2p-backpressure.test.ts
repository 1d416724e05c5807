/**
 * Read backpressure over a real libp2p stream: a reader slower than the
 * writer must get every frame, the writer must be held back, and the stream
 * must not be aborted. Regression: pausing from inside libp2p's resume()
 * (which dispatches buffered data synchronously, then tells Yamux to resume)
 * left the stream "paused" while Yamux kept granting window; the read buffer
 * overflowed and libp2p aborted the stream, and reconnect backoff turned that
 * into catch-up stalls of tens of seconds.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FramedStream } from '../../src/p2p/framing.js'
import { protocolId } from '../../src/p2p/host.js'
import { startTestNode, TEST_NETWORK } from '../helpers/p2p.js'

const FRAME = 60 * 1024
const FRAMES = 700 // ~41 MiB, far beyond every window and buffer

test('a slow reader holds a fast writer back without losing or aborting anything', async () => {
  await using a = await startTestNode()
  await using b = await startTestNode()
  const proto = protocolId(TEST_NETWORK, 'bp-test')
  let maxReadBuffer = 0
  let received = 0
  let aborted: unknown
  const done = new Promise<void>((resolve, reject) => {
    void b.node.host.handle(proto, (stream) => {
      const f = new FramedStream(stream, { maxFrameBytes: 1 << 20 })
      stream.addEventListener('close', (e) => {
        if (e.error) aborted = e.error
      })
      void (async () => {
        try {
          for (;;) {
            const fr = await f.read()
            if (!fr) break
            assert.equal(fr.length, FRAME)
            assert.equal(fr[0], received % 251)
            received++
            maxReadBuffer = Math.max(maxReadBuffer, stream.readBufferLength)
            if (received % 8 === 0) await new Promise((r) => setTimeout(r, 5)) // slow consumer
          }
          resolve()
        } catch (err) {
          reject(err as Error)
        }
      })()
    })
  })
  await a.node.host.dial(b.node.host.getMultiaddrs()[0]!)
  const stream = await a.node.host.dialProtocol(b.node.host.peerId, proto)
  const w = new FramedStream(stream, { maxFrameBytes: 1 << 20 })
  let blocked = 0
  for (let i = 0; i < FRAMES; i++) {
    const t = performance.now()
    await w.write(new Uint8Array(FRAME).fill(i % 251))
    if (performance.now() - t > 2) blocked++
  }
  await w.closeWrite()
  await done
  assert.equal(aborted, undefined, 'stream not aborted')
  assert.equal(received, FRAMES, 'every frame arrived, in order')
  assert.ok(blocked > 0, 'the writer was held back')
  assert.ok(maxReadBuffer <= 8 * 1024 * 1024, `read buffer stayed bounded (max ${maxReadBuffer})`)
})

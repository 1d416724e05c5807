import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FramedStream } from '../../src/p2p/framing.js'
import { startTestNode } from '../helpers/p2p.js'
import { waitFor } from '../helpers/wait.js'

test('a paused reader still gets every frame sent before the remote closed its side', async () => {
  await using a = await startTestNode()
  await using b = await startTestNode({ staticNodes: [a.asStatic()] })
  await waitFor(() => b.node.peers.get(a.key.publicKeyHex)?.connected)
  const frame = new Uint8Array(64 * 1024).fill(1)
  const frames = 64
  let sent!: () => void
  const allSent = new Promise<void>((r) => (sent = r))
  await a.node.host.handle('/test/framing/1', async (stream) => {
    const f = new FramedStream(stream, { maxFrameBytes: 1 << 17 })
    await f.read()
    for (let i = 0; i < frames; i++) await f.write(frame)
    await f.closeWrite()
    sent()
  })
  const stream = await b.node.host.dialProtocol(a.node.host.peerId, '/test/framing/1')
  // a small high-water mark: the reader pauses the stream often, and at the end the remote's
  // close arrives while the last frames still sit in the paused stream's buffer
  const f = new FramedStream(stream, { maxFrameBytes: 1 << 17, highWaterBytes: 128 * 1024 })
  await f.write(Uint8Array.of(1))
  await f.closeWrite()
  let got = 0
  let first = true
  for (let r = await f.read(); r !== undefined; r = await f.read()) {
    if (first) {
      first = false
      await Promise.race([allSent, new Promise((res) => setTimeout(res, 500))])
    }
    got += r.length
    await new Promise((res) => setTimeout(res, 1))
  }
  assert.equal(got, frames * frame.length)
})

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { type AddressInfo, Socket, createServer } from 'node:net'
import { describe, it } from 'node:test'
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { Uint8ArrayList } from 'uint8arraylist'
import { coalesceSocketWrites } from '../../src/p2p/socket-writes.js'
import { silentComponentLog } from '../helpers/logs.js'

const log = silentComponentLog as unknown as ConstructorParameters<
  typeof AbstractMultiaddrConnection
>[0]['log']

/** Like @libp2p/tcp's connection: every buffer of a list goes to socket.write on its own. */
class SocketConnection extends AbstractMultiaddrConnection {
  constructor(readonly socket: Socket) {
    super({ log, direction: 'outbound', remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/1') })
  }

  sendData(data: Uint8ArrayList): { sentBytes: number; canSendMore: boolean } {
    let sentBytes = 0
    let canSendMore = true
    for (const buf of data) {
      sentBytes += buf.byteLength
      canSendMore = this.socket.write(buf)
      if (!canSendMore) break
    }
    return { sentBytes, canSendMore }
  }

  sendReset(): void {
    this.socket.destroy()
  }

  async sendClose(): Promise<void> {
    this.socket.end()
  }

  sendPause(): void {}
  sendResume(): void {}
}

/** A connection over a real loopback socket; counts write and writev calls on the socket. */
async function connection(): Promise<{
  conn: SocketConnection
  calls: { write: number; writev: number }
  received: () => Promise<Buffer>
  close: () => void
}> {
  const chunks: Buffer[] = []
  let ended: () => void = () => {}
  const done = new Promise<void>((resolve) => (ended = resolve))
  const server = createServer((s) => {
    s.on('data', (c: Buffer) => chunks.push(c))
    s.on('end', () => ended())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const socket = new Socket()
  socket.connect((server.address() as AddressInfo).port, '127.0.0.1')
  await once(socket, 'connect')
  const calls = { write: 0, writev: 0 }
  const s = socket as unknown as {
    _write: (...a: unknown[]) => void
    _writev: (...a: unknown[]) => void
  }
  const write = s._write.bind(socket)
  const writev = s._writev.bind(socket)
  s._write = (...a) => {
    calls.write++
    write(...a)
  }
  s._writev = (...a) => {
    calls.writev++
    writev(...a)
  }
  return {
    conn: new SocketConnection(socket),
    calls,
    received: async () => {
      socket.end()
      await done
      return Buffer.concat(chunks)
    },
    close: () => {
      socket.destroy()
      server.close()
    },
  }
}

describe('TCP writes: one writev per send', () => {
  it('a large list leaves in one writev, in order; a small one keeps the per-buffer path', async () => {
    coalesceSocketWrites()
    const { conn, calls, received, close } = await connection()
    try {
      const small = [Uint8Array.of(1, 2), Uint8Array.of(3, 4, 5)]
      conn.send(new Uint8ArrayList(...small))
      assert.deepEqual(calls, { write: 2, writev: 0 }, 'a small send keeps the per-buffer path')
      // like noise-encrypted muxer frames: length, ciphertext, tag, many times over
      const pieces: Uint8Array[] = []
      for (let i = 0; i < 40; i++) {
        pieces.push(Uint8Array.of(0xff, 0xef), new Uint8Array(30_000).fill(i), new Uint8Array(16))
      }
      const expected = Buffer.concat(pieces)
      conn.send(new Uint8ArrayList(...pieces))
      assert.deepEqual(calls, { write: 2, writev: 1 }, 'one writev for 120 buffers')
      await conn.onDrain()
      const got = await received()
      assert.equal(got.length, 5 + expected.length)
      assert.deepEqual([...got.subarray(0, 5)], [1, 2, 3, 4, 5])
      assert.ok(got.subarray(5).equals(expected), 'byte-exact, in order')
    } finally {
      close()
    }
  })
})

/**
 * One writev per send on a TCP connection, instead of one write(2) per buffer.
 *
 * A libp2p connection sends lists: after noise, every muxer frame becomes a 2-byte length, the
 * ciphertext of each piece of the frame and a 16-byte tag. @libp2p/tcp 11 hands each buffer of
 * such a list to `socket.write` on its own and stops at the first one over the socket's
 * high-water mark (16 KiB) until 'drain': every buffer became a system call, every large one a
 * round trip through the event loop. In a profile of a node sending a blob, socket writes were
 * its largest single cost. Here the whole list is written corked and leaves as one writev;
 * backpressure is unchanged in effect (the socket's buffer above its high-water mark still
 * means "wait for drain"; what was accepted is counted as sent).
 *
 * The TCP connection class is not exported, so the first send of a connection whose `socket`
 * is a net.Socket replaces `sendData` on that connection's prototype. Applied once, by
 * createHost.
 */
import { Socket } from 'node:net'
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

interface SendResult {
  sentBytes: number
  canSendMore: boolean
}

interface SocketConnection {
  socket?: unknown
  sendData(data: Uint8ArrayList): SendResult
  processSendQueue(): boolean
}

let applied = false

/** Patches TCP connections to write each outgoing list at once (idempotent). */
export function coalesceSocketWrites(): void {
  if (applied) return
  applied = true
  const proto = AbstractMultiaddrConnection.prototype as unknown as SocketConnection
  const sendQueue = proto.processSendQueue
  const patched = new WeakSet<object>()
  proto.processSendQueue = function processSendQueue(this: SocketConnection): boolean {
    if (this.socket instanceof Socket) {
      const own = Object.getPrototypeOf(this) as SocketConnection
      if (!patched.has(own)) {
        patched.add(own)
        own.sendData = corked(own.sendData)
      }
    }
    return sendQueue.call(this)
  }
}

/** `original` (the class's own sendData) for small sends; one corked writev for larger ones. */
function corked(original: SocketConnection['sendData']): SocketConnection['sendData'] {
  return function sendCorked(this: SocketConnection, data: Uint8ArrayList): SendResult {
    const socket = this.socket as Socket
    // small sends (control traffic) keep the library's own path and timing
    if (data.byteLength < socket.writableHighWaterMark) return original.call(this, data)
    socket.cork()
    for (const buf of data) socket.write(buf)
    socket.uncork()
    return {
      sentBytes: data.byteLength,
      canSendMore: socket.writableLength < socket.writableHighWaterMark,
    }
  }
}

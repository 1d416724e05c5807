/**
 * Length-prefixed frames over a libp2p stream, with backpressure both ways.
 *
 * Each frame is an unsigned LEB128 length followed by that many bytes. A frame
 * longer than `maxFrameBytes` aborts the stream (the peer is misbehaving). On
 * the read side, decoded frames queue up to `highWaterBytes` (1 MiB); above it the
 * stream is paused (yamux stops granting window, so the sender stalls) and it
 * resumes once the consumer has caught up. On the write side, `write` waits for
 * `drain` when the muxer's buffer is full. libp2p's own async iterator has no
 * read backpressure, which is why this exists.
 */
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { RhioError } from '../errors.js'

export class FrameError extends RhioError {
  constructor(
    code: 'FRAME_OVERSIZED' | 'FRAME_MALFORMED' | 'STREAM_CLOSED',
    message: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
    this.name = 'FrameError'
  }
}

export interface FramedStreamOptions {
  maxFrameBytes: number
  /** Pause reading while this many decoded bytes wait for the consumer. */
  highWaterBytes?: number
}

/** Varint length prefix for `n`. */
function lengthPrefix(n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}

export class FramedStream {
  readonly stream: Stream
  private readonly maxFrame: number
  private readonly highWater: number
  private readonly buffer = new Uint8ArrayList()
  private readonly queue: Uint8Array[] = []
  private queuedBytes = 0
  private waiter: (() => void) | undefined
  private ended = false
  private error: Error | undefined
  private paused = false
  /** Bytes received (framing included), for accounting. */
  bytesIn = 0
  bytesOut = 0

  constructor(stream: Stream, opts: FramedStreamOptions) {
    this.stream = stream
    this.maxFrame = opts.maxFrameBytes
    // A partly received frame is not counted, so a small mark never blocks a large frame.
    this.highWater = opts.highWaterBytes ?? 1024 * 1024
    // A paused yamux stream can still receive up to one full window (16 MiB).
    // A paused stream can still receive up to one full Yamux window (4 MiB, host.ts).
    stream.maxReadBufferLength = 8 * 1024 * 1024 + 2 * opts.maxFrameBytes
    stream.addEventListener('message', (evt) => this.onData(evt.data))
    // 'end', not 'remoteCloseWrite' nor a clean 'close': those fire while a paused stream still
    // buffers data the remote sent before closing, which would be lost.
    stream.addEventListener('end', () => this.finish())
    stream.addEventListener('close', (evt) => {
      if (evt.error !== undefined || stream.readableEnded) this.finish(evt.error)
    })
  }

  private onData(data: Uint8Array | Uint8ArrayList): void {
    if (this.ended) return
    this.bytesIn += data.byteLength
    this.buffer.append(data)
    try {
      this.decode()
    } catch (err) {
      this.fail(err as Error)
      return
    }
    if (
      !this.paused &&
      this.queuedBytes > this.highWater &&
      this.stream.readStatus === 'readable'
    ) {
      this.paused = true
      this.stream.pause()
    }
    this.wake()
  }

  private decode(): void {
    for (;;) {
      // read varint length
      let len = 0
      let scale = 1
      let i = 0
      let complete = false
      for (; i < Math.min(this.buffer.byteLength, 8); i++) {
        const b = this.buffer.get(i)
        len += (b & 0x7f) * scale
        scale *= 0x80
        if ((b & 0x80) === 0) {
          complete = true
          i++
          break
        }
      }
      if (!complete) {
        if (this.buffer.byteLength >= 8) {
          throw new FrameError('FRAME_MALFORMED', 'invalid frame length prefix', 'malformed')
        }
        return
      }
      if (len > this.maxFrame) {
        throw new FrameError(
          'FRAME_OVERSIZED',
          `frame of ${len} bytes exceeds the limit of ${this.maxFrame}`,
          'oversized',
        )
      }
      if (this.buffer.byteLength < i + len) return
      const frame = this.buffer.subarray(i, i + len)
      this.buffer.consume(i + len)
      this.queue.push(frame)
      this.queuedBytes += frame.length
    }
  }

  private fail(err: Error): void {
    this.error = err
    this.ended = true
    this.stream.abort(err)
    this.wake()
  }

  private finish(err?: Error): void {
    if (err && !this.error) this.error = err
    this.ended = true
    this.wake()
  }

  private wake(): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }

  /** Next frame, or undefined when the remote closed cleanly. Throws on error. */
  async read(signal?: AbortSignal): Promise<Uint8Array | undefined> {
    for (;;) {
      const f = this.queue.shift()
      if (f) {
        this.queuedBytes -= f.length
        if (this.paused && this.queuedBytes < this.highWater / 2) {
          this.paused = false
          if (this.stream.readStatus === 'paused') this.stream.resume()
        }
        return f
      }
      if (this.error) throw this.error
      if (this.ended) return undefined
      signal?.throwIfAborted()
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve()
        this.waiter = () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
        signal?.addEventListener('abort', onAbort, { once: true })
      })
    }
  }

  /** Sends one frame, waiting while the muxer's buffer is full. */
  async write(frame: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (frame.length > this.maxFrame) {
      throw new FrameError(
        'FRAME_OVERSIZED',
        `refusing to send a frame of ${frame.length} bytes (limit ${this.maxFrame})`,
        'oversized',
      )
    }
    if (this.stream.writeStatus !== 'writable') {
      throw new FrameError('STREAM_CLOSED', `stream is ${this.stream.writeStatus}`, 'closed')
    }
    const prefix = lengthPrefix(frame.length)
    this.bytesOut += prefix.length + frame.length
    const ok = this.stream.send(new Uint8ArrayList(prefix, frame))
    if (!ok) await this.stream.onDrain(signal ? { signal } : {})
  }

  /** Half-close: no more writes from this side. */
  async closeWrite(): Promise<void> {
    try {
      await this.stream.close()
    } catch {
      // already closed or reset
    }
  }

  abort(err: Error): void {
    this.ended = true
    this.error ??= err
    this.stream.abort(err)
    this.wake()
  }
}

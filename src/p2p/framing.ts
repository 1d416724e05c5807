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
 *
 * Hostile input: a length prefix above the limit, an invalid prefix, a clean
 * end of stream inside a frame (`truncated`) and, with `frameTimeoutMs`, a
 * frame that trickles in more slowly than that (`slow`, against slow-drip
 * peers holding buffers) each fail the stream with a FrameError whose
 * `reason` the caller counts.
 */
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { RhioError } from '../errors/index.js'
import { WaitQueue } from '../util/wait-queue.js'

/** Decoded frames queued for the consumer above which the stream pauses (default of `highWaterBytes`). */
export const DEFAULT_HIGH_WATER_BYTES = 1024 * 1024

export class FrameError extends RhioError {
  constructor(
    code: 'FRAME_OVERSIZED' | 'FRAME_MALFORMED' | 'FRAME_TIMEOUT' | 'STREAM_CLOSED',
    message: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
    this.name = 'FrameError'
  }
}

export interface FramedStreamOptions {
  /** Largest frame accepted from the peer. */
  maxFrameBytes: number
  /** Largest frame this side sends (default: maxFrameBytes). */
  maxWriteBytes?: number
  /** Pause reading while this many decoded bytes wait for the consumer. */
  highWaterBytes?: number
  /**
   * Once a frame's first byte has arrived, the whole frame must arrive within
   * this many ms, or the stream fails (`slow`). Unset: no deadline (the
   * caller bounds waits with its own signals).
   */
  frameTimeoutMs?: number
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
  private readonly maxWrite: number
  private readonly highWater: number
  private readonly buffer = new Uint8ArrayList()
  /** Decoded frames, as views of the bytes received (joined only when read whole). */
  private readonly queue: Uint8ArrayList[] = []
  private queuedBytes = 0
  /** read() waiting for a frame or the end. */
  private readonly readers = new WaitQueue<null>()
  private ended = false
  private error: Error | undefined
  private paused = false
  private readonly frameTimeoutMs: number | undefined
  private frameTimer: NodeJS.Timeout | undefined
  /** Bytes received (framing included), for accounting. */
  bytesIn = 0
  bytesOut = 0

  constructor(stream: Stream, opts: FramedStreamOptions) {
    this.stream = stream
    this.maxFrame = opts.maxFrameBytes
    this.maxWrite = opts.maxWriteBytes ?? opts.maxFrameBytes
    // A partly received frame is not counted, so a small mark never blocks a large frame.
    this.highWater = opts.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES
    this.frameTimeoutMs = opts.frameTimeoutMs
    // A paused stream can still receive up to one full Yamux window (at most 8 MiB, host.ts).
    stream.maxReadBufferLength = 8 * 1024 * 1024 + 2 * opts.maxFrameBytes
    stream.addEventListener('message', (evt) => this.onData(evt.data))
    // 'end', not 'remoteCloseWrite' nor a clean 'close': those fire while a paused stream still
    // buffers data the remote sent before closing, which would be lost.
    stream.addEventListener('end', () => this.onRemoteEnd())
    stream.addEventListener('close', (evt) => {
      if (evt.error !== undefined) this.finish(evt.error)
      else if (stream.readableEnded) this.onRemoteEnd()
    })
    // The peer may have written and closed before we listened: protocol
    // negotiation reads ahead, 'end' fires then, and the bytes read ahead are
    // handed back once a 'message' listener exists (in a microtask queued by
    // the listener above). Check for the end after those bytes.
    if (stream.readableEnded) queueMicrotask(() => this.onRemoteEnd())
  }

  /** Everything the peer sent has been delivered: a clean end unless it stopped inside a frame. */
  private onRemoteEnd(): void {
    if (this.ended) return
    // a reset or abort also ends the stream, before its 'close' event, which
    // carries the cause: finish there (and here only as a fallback)
    if (this.stream.status === 'reset' || this.stream.status === 'aborted') {
      const status = this.stream.status
      setImmediate(() => this.finish(new FrameError('STREAM_CLOSED', `stream ${status}`, 'closed')))
      return
    }
    if (this.buffer.byteLength > 0) {
      this.fail(
        new FrameError(
          'FRAME_MALFORMED',
          `stream ended inside a frame (${this.buffer.byteLength} bytes of it received)`,
          'truncated',
        ),
      )
      return
    }
    this.finish()
  }

  /** Arms the frame deadline while a partial frame is buffered, disarms it otherwise. */
  private watchPartialFrame(): void {
    if (this.frameTimeoutMs === undefined) return
    if (this.buffer.byteLength === 0 || this.ended) {
      clearTimeout(this.frameTimer)
      this.frameTimer = undefined
      return
    }
    this.frameTimer ??= setTimeout(() => {
      this.frameTimer = undefined
      if (this.ended || this.buffer.byteLength === 0) return
      this.fail(
        new FrameError(
          'FRAME_TIMEOUT',
          `frame not complete within ${this.frameTimeoutMs} ms (${this.buffer.byteLength} bytes received)`,
          'slow',
        ),
      )
    }, this.frameTimeoutMs)
  }

  private onData(data: Uint8Array | Uint8ArrayList): void {
    if (this.ended) return
    this.bytesIn += data.byteLength
    this.buffer.append(data)
    const before = this.queue.length
    try {
      this.decode()
    } catch (err) {
      this.fail(err as Error)
      return
    }
    // a completed frame restarts the clock for the next one
    if (this.queue.length > before) {
      clearTimeout(this.frameTimer)
      this.frameTimer = undefined
    }
    this.watchPartialFrame()
    if (!this.paused && this.queuedBytes > this.highWater) {
      this.paused = true
      // Not from inside this event: libp2p's resume() dispatches buffered data
      // synchronously and then tells the muxer to resume, which would undo a
      // pause made here (readStatus 'paused' while Yamux keeps granting window,
      // until the read buffer overflows and libp2p aborts the stream).
      queueMicrotask(() => {
        if (this.paused && this.stream.readStatus === 'readable') this.stream.pause()
      })
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
      const frame = this.buffer.sublist(i, i + len)
      this.buffer.consume(i + len)
      this.queue.push(frame)
      this.queuedBytes += frame.byteLength
    }
  }

  private fail(err: Error): void {
    this.error = err
    this.ended = true
    this.watchPartialFrame()
    this.stream.abort(err)
    this.wake()
  }

  private finish(err?: Error): void {
    if (err && !this.error) this.error = err
    this.ended = true
    this.watchPartialFrame()
    this.wake()
  }

  private wake(): void {
    this.readers.releaseWhere()
  }

  /** Next frame, or undefined when the remote closed cleanly. Throws on error. */
  async read(signal?: AbortSignal): Promise<Uint8Array | undefined> {
    return (await this.next(signal))?.subarray()
  }

  /**
   * Next frame as the pieces it arrived in (views, not joined: a large frame usually spans
   * several decrypted messages), or undefined when the remote closed cleanly. Throws on error.
   */
  async readParts(signal?: AbortSignal): Promise<Uint8Array[] | undefined> {
    const f = await this.next(signal)
    return f === undefined ? undefined : [...f]
  }

  private async next(signal?: AbortSignal): Promise<Uint8ArrayList | undefined> {
    for (;;) {
      const f = this.queue.shift()
      if (f) {
        this.queuedBytes -= f.byteLength
        if (this.paused && this.queuedBytes < this.highWater / 2) {
          this.paused = false
          if (this.stream.readStatus === 'paused') this.stream.resume()
        }
        return f
      }
      if (this.error) throw this.error
      if (this.ended) return undefined
      signal?.throwIfAborted()
      await this.readers.wait(null, signal)
    }
  }

  /** Sends one frame, waiting while the muxer's buffer is full. */
  async write(frame: Uint8Array, signal?: AbortSignal): Promise<void> {
    await this.writeParts([frame], frame.length, signal)
  }

  /**
   * Sends one frame made of `parts` (`length` bytes in all) without joining them: the muxer and
   * the encryption take the list as it is. The parts must not change afterwards.
   */
  async writeParts(parts: Uint8Array[], length: number, signal?: AbortSignal): Promise<void> {
    if (length > this.maxWrite) {
      throw new FrameError(
        'FRAME_OVERSIZED',
        `refusing to send a frame of ${length} bytes (limit ${this.maxWrite})`,
        'oversized',
      )
    }
    if (this.stream.writeStatus !== 'writable') {
      throw new FrameError('STREAM_CLOSED', `stream is ${this.stream.writeStatus}`, 'closed')
    }
    const prefix = lengthPrefix(length)
    this.bytesOut += prefix.length + length
    const ok = this.stream.send(new Uint8ArrayList(prefix, ...parts))
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
    this.watchPartialFrame()
    this.error ??= err
    this.stream.abort(err)
    this.wake()
  }
}

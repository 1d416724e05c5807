/**
 * Minimal binary codec for rhio's signed bytes and wire frames: unsigned
 * LEB128 varints, fixed-width little-endian integers and length-prefixed byte
 * strings. Explicit and canonical: one value has exactly one encoding, and the
 * reader rejects non-minimal varints, truncation and trailing bytes.
 */
import { RhioError } from '../errors/index.js'

export class DecodeError extends RhioError {
  constructor(message: string) {
    super('DECODE_ERROR', message)
    this.name = 'DecodeError'
  }
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

export class Writer {
  private buf: Uint8Array
  private view: DataView
  length = 0

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial)
    this.view = new DataView(this.buf.buffer)
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.length + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  u8(v: number): this {
    this.reserve(1)
    this.buf[this.length++] = v
    return this
  }

  u32(v: number): this {
    this.reserve(4)
    this.view.setUint32(this.length, v, true)
    this.length += 4
    return this
  }

  /** A non-negative safe integer (< 2^53) as u64 little-endian. */
  u64(v: number): this {
    this.reserve(8)
    this.view.setBigUint64(this.length, BigInt(v), true)
    this.length += 8
    return this
  }

  /** Unsigned LEB128 of a safe integer. */
  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint out of range: ${v}`)
    this.reserve(8)
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.buf[this.length++] = v
    return this
  }

  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length)
    this.buf.set(bytes, this.length)
    this.length += bytes.length
    return this
  }

  /** Varint length + bytes. */
  bytes(bytes: Uint8Array): this {
    return this.varint(bytes.length).raw(bytes)
  }

  /** Varint length + UTF-8. */
  string(s: string): this {
    // ASCII (subjects, header names, keys) needs no encoder: one byte per char.
    const n = s.length
    let ascii = true
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false
        break
      }
    }
    if (!ascii) return this.bytes(textEncoder.encode(s))
    this.varint(n)
    this.reserve(n)
    const b = this.buf
    let o = this.length
    for (let i = 0; i < n; i++) b[o++] = s.charCodeAt(i)
    this.length = o
    return this
  }

  /** The written bytes; no copy when the initial size was exact. */
  finish(): Uint8Array {
    return this.length === this.buf.length ? this.buf : this.buf.slice(0, this.length)
  }
}

export class Reader {
  private pos = 0
  private readonly view: DataView

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  get remaining(): number {
    return this.buf.length - this.pos
  }

  get offset(): number {
    return this.pos
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new DecodeError(`truncated input: need ${n} bytes at offset ${this.pos}`)
    }
  }

  u8(): number {
    this.need(1)
    return this.buf[this.pos++]!
  }

  u32(): number {
    this.need(4)
    const v = this.view.getUint32(this.pos, true)
    this.pos += 4
    return v
  }

  u64(): number {
    this.need(8)
    const v = this.view.getBigUint64(this.pos, true)
    this.pos += 8
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`u64 too large: ${v}`)
    return Number(v)
  }

  varint(): number {
    let result = 0
    let scale = 1
    for (let i = 0; ; i++) {
      if (i >= 8) throw new DecodeError('varint too long')
      const b = this.u8()
      result += (b & 0x7f) * scale
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw new DecodeError('non-minimal varint')
        break
      }
      scale *= 0x80
    }
    if (!Number.isSafeInteger(result)) throw new DecodeError('varint out of range')
    return result
  }

  raw(n: number): Uint8Array {
    this.need(n)
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  bytes(max = Number.MAX_SAFE_INTEGER): Uint8Array {
    const n = this.varint()
    if (n > max) throw new DecodeError(`byte string of ${n} bytes exceeds limit ${max}`)
    return this.raw(n)
  }

  string(max = 65_535): string {
    const b = this.bytes(max)
    try {
      return textDecoder.decode(b)
    } catch {
      throw new DecodeError('invalid UTF-8')
    }
  }

  end(): void {
    if (this.pos !== this.buf.length) {
      throw new DecodeError(`${this.buf.length - this.pos} trailing bytes`)
    }
  }
}

export { concatBytes } from '../util/bytes.js'

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new DecodeError('invalid hex')
  return new Uint8Array(Buffer.from(s, 'hex'))
}

/**
 * NATS message headers as an ordered list of `[name, value]` lines, read from
 * and written to the wire without going through nats.js's `MsgHdrs` map.
 *
 * Why: nats.js decodes headers into a `Map<name, values[]>`, which groups
 * repeated names (`A: 1`, `B: 2`, `A: 3` comes back as `A: [1, 3]`, `B: [2]`)
 * and trims values. rhio signs and replicates user headers, so it reads the raw
 * header block of each message and writes a header block it encoded itself.
 *
 * What "byte-exact" means here (checked by test/integration/nats-headers.test.ts):
 * for every header line `Name:<sp>value` of a stored message, the copy written by
 * the sink has the same line, same case, same value bytes, in the same position
 * relative to the other user lines — including interleaved repeated names and
 * leading/trailing spaces inside the value. Not preserved:
 * - the status line: stored messages start `NATS/1.0`; a code/description after
 *   it (which no normal publisher sends) is reported by `parseHeaderBlock` but
 *   the sink always writes plain `NATS/1.0`;
 * - a line written without the single space after the colon (`Name:value`) comes
 *   back as `Name: value`; every NATS client library writes the space;
 * - lines without a colon are dropped (counted in `malformed`);
 * - bytes that are not valid UTF-8 become U+FFFD (flagged as `lossy`);
 * - JetStream publish-control headers (`Nats-Msg-Id`, `Nats-Expected-*`, …) are
 *   replaced by the sink's own (see `isJetStreamControlHeader`).
 */
import { Buffer, isAscii, isUtf8 } from 'node:buffer'
import type { Match, Msg, MsgHdrs } from '@nats-io/transport-node'
import { RhioError } from '../errors/index.js'

/** Header lines in wire order. Names keep their case; repeated names repeat. */
export type HeaderList = Array<[name: string, value: string]>

export interface ParsedHeaderBlock {
  headers: HeaderList
  /** Status code from the `NATS/1.0 <code> <description>` line; 0 when absent. */
  code: number
  description: string
  /** Lines that had no colon and were dropped. */
  malformed: number
  /** True when the block was not valid UTF-8 and replacement characters were used. */
  lossy: boolean
}

const STATUS_LINE = 'NATS/1.0'
const CRLF = '\r\n'
const looseUtf8 = new TextDecoder('utf-8')
const utf8 = new TextEncoder()

/** Decodes a header block: ASCII and valid UTF-8 exactly, anything else with U+FFFD. */
function decodeBlock(block: Uint8Array): { text: string; lossy: boolean } {
  const buf = Buffer.from(block.buffer, block.byteOffset, block.byteLength)
  if (isAscii(buf)) return { text: buf.toString('latin1'), lossy: false }
  if (isUtf8(buf)) return { text: buf.toString('utf8'), lossy: false }
  return { text: looseUtf8.decode(block), lossy: true }
}

/** Parses a raw NATS header block (`NATS/1.0\r\nName: value\r\n…\r\n\r\n`). */
export function parseHeaderBlock(block: Uint8Array): ParsedHeaderBlock {
  const { text, lossy } = decodeBlock(block)
  let eol = text.indexOf(CRLF)
  const first = eol < 0 ? text : text.slice(0, eol)
  let code = 0
  let description = ''
  if (first !== STATUS_LINE && first.startsWith(STATUS_LINE)) {
    const m = /^\s*(\d{3})\s*(.*)$/.exec(first.slice(STATUS_LINE.length))
    if (m) {
      code = Number(m[1])
      description = (m[2] ?? '').trim()
    }
  }
  const headers: HeaderList = []
  let malformed = 0
  while (eol >= 0) {
    const start = eol + 2
    eol = text.indexOf(CRLF, start)
    const line = eol < 0 ? text.slice(start) : text.slice(start, eol)
    if (line === '') continue
    const colon = line.indexOf(':')
    if (colon <= 0) {
      malformed++
      continue
    }
    // Exactly one space after the colon belongs to the syntax, the rest to the value.
    const v = line.charCodeAt(colon + 1) === 0x20 ? colon + 2 : colon + 1
    headers.push([line.slice(0, colon), line.slice(v)])
  }
  return { headers, code, description, malformed, lossy }
}

/** Throws NATS_HEADER_INVALID unless `name` is a valid header name (RFC 822 field name). */
export function validateHeaderName(name: string): void {
  if (name.length === 0) throw new RhioError('NATS_HEADER_INVALID', 'empty header name')
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c < 33 || c > 126 || c === 58) {
      throw new RhioError(
        'NATS_HEADER_INVALID',
        `invalid character in header name ${JSON.stringify(name)}`,
      )
    }
  }
}

/** Throws NATS_HEADER_INVALID when `value` contains CR or LF. */
export function validateHeaderValue(name: string, value: string): void {
  if (/[\r\n]/.test(value)) {
    throw new RhioError('NATS_HEADER_INVALID', `header ${name} has a CR or LF in its value`)
  }
}

/** Encodes header lines as a NATS header block. Throws NATS_HEADER_INVALID. */
export function encodeHeaderBlock(headers: HeaderList): Uint8Array {
  return utf8.encode(`${STATUS_LINE}${CRLF}${headerLines(headers)}${CRLF}`)
}

/**
 * The lines of a header block (`Name: value\r\n` each), validated. Callers that
 * send many messages with the same lines build them once and put them into
 * `headerBlock` around per-message lines.
 */
export function headerLines(headers: HeaderList): string {
  let s = ''
  for (const [name, value] of headers) {
    validateHeaderName(name)
    validateHeaderValue(name, value)
    s += `${name}: ${value}${CRLF}`
  }
  return s
}

/** A complete header block from already validated lines. */
export function headerBlock(lines: string): Uint8Array {
  return utf8.encode(`${STATUS_LINE}${CRLF}${lines}${CRLF}`)
}

/**
 * `block` (a header block from headerBlock) with one more `Name: value\r\n`
 * line of printable ASCII at its end.
 */
export function appendHeaderLine(block: Uint8Array, line: string): Uint8Array {
  const out = new Uint8Array(block.length + line.length)
  const head = block.length - CRLF.length
  out.set(block.subarray(0, head))
  utf8.encodeInto(line, out.subarray(head))
  out[out.length - 2] = 13
  out[out.length - 1] = 10
  return out
}

/**
 * A header block that is already encoded, as nats.js publishes it (it only
 * calls `encode()`); the other MsgHdrs methods read it back when asked.
 */
export class EncodedHeaders implements MsgHdrs, Iterable<[string, string[]]> {
  private parsed: WireHeaders | undefined

  constructor(private readonly block: Uint8Array) {}

  private get wire(): WireHeaders {
    this.parsed ??= new WireHeaders(parseHeaderBlock(this.block).headers)
    return this.parsed
  }

  get hasError(): boolean {
    return false
  }
  get status(): string {
    return ''
  }
  get code(): number {
    return 0
  }
  get description(): string {
    return ''
  }
  encode(): Uint8Array {
    return this.block
  }
  get(k: string, match?: Match): string {
    return this.wire.get(k, match)
  }
  last(k: string, match?: Match): string {
    return this.wire.last(k, match)
  }
  has(k: string, match?: Match): boolean {
    return this.wire.has(k, match)
  }
  keys(): string[] {
    return this.wire.keys()
  }
  values(k: string, match?: Match): string[] {
    return this.wire.values(k, match)
  }
  set(): void {
    throw new RhioError('NATS_HEADER_INVALID', 'an encoded header block cannot be changed')
  }
  append(): void {
    throw new RhioError('NATS_HEADER_INVALID', 'an encoded header block cannot be changed')
  }
  delete(): void {
    throw new RhioError('NATS_HEADER_INVALID', 'an encoded header block cannot be changed')
  }
  [Symbol.iterator](): IterableIterator<[string, string[]]> {
    return this.wire[Symbol.iterator]()
  }
}

/**
 * The raw header block of a received message, or undefined when it has none.
 * nats.js keeps the received bytes in `MsgImpl._rdata` with the header length in
 * `_msg.hdr` (declared in its .d.ts, not part of the `Msg` interface). When that
 * shape is missing (a future nats.js), the decoded headers are re-encoded
 * instead, which loses interleaving and value whitespace; the header tests fail
 * loudly in that case.
 */
export function rawHeaderBlock(msg: Msg): Uint8Array | undefined {
  const impl = msg as Partial<{ _rdata: unknown; _msg: { hdr?: unknown } }>
  const hdr = impl._msg?.hdr
  if (impl._rdata instanceof Uint8Array && typeof hdr === 'number') {
    return hdr > 0 ? impl._rdata.subarray(0, hdr) : undefined
  }
  const h = msg.headers
  if (h === undefined) return undefined
  const list: HeaderList = []
  for (const [name, values] of h) for (const v of values) list.push([name, v])
  return encodeHeaderBlock(list)
}

/** The user headers of a received message in wire order (empty when it has none). */
export function messageHeaders(msg: Msg): ParsedHeaderBlock {
  const block = rawHeaderBlock(msg)
  if (block === undefined)
    return { headers: [], code: 0, description: '', malformed: 0, lossy: false }
  return parseHeaderBlock(block)
}

/**
 * True when the message carries rhio provenance (it was written by a rhio sink),
 * i.e. a header named X-Rhio-PublicKey or X-Rhio-Signature in any case. The
 * publishing side skips such messages so replicated data is never re-published
 * as its own (loop prevention, as in the original rhio).
 */
export function hasRhioProvenance(headers: HeaderList): boolean {
  for (const [name] of headers) {
    const n = name.toLowerCase()
    if (n === 'x-rhio-publickey' || n === 'x-rhio-signature') return true
  }
  return false
}

/**
 * True for headers that change how JetStream stores a published message
 * (deduplication, optimistic concurrency, rollups, TTLs, batches, schedules,
 * counters). A replicated message must not carry the origin site's values into
 * the local stream, e.g. `Nats-Expected-Last-Sequence: 5` would be rejected
 * forever and `Nats-Rollup: sub` would purge the local subject. The sink drops
 * these from user headers and sets its own `Nats-Msg-Id` (and optionally
 * `Nats-Expected-Stream`).
 */
export function isJetStreamControlHeader(name: string): boolean {
  const n = name.toLowerCase()
  return (
    n === 'nats-msg-id' ||
    n.startsWith('nats-expected-') ||
    n === 'nats-rollup' ||
    n === 'nats-ttl' ||
    n.startsWith('nats-batch-') ||
    n.startsWith('nats-schedule') ||
    n === 'nats-incr' ||
    n === 'nats-required-api-level'
  )
}

/**
 * A header block prepared once and sent as-is by nats.js. nats.js publishes
 * whatever `headers.encode()` returns (see `ProtocolHandler.publish`), so this
 * class implements `MsgHdrs` over an ordered line list and encodes it itself.
 * `set()` (used by `js.publish` for `msgID`/`expect` options) replaces every line
 * of that name, case-insensitively, and appends the new line.
 */
export class WireHeaders implements MsgHdrs, Iterable<[string, string[]]> {
  private readonly lines: HeaderList
  private encoded: Uint8Array | undefined

  constructor(lines: HeaderList = []) {
    for (const [name, value] of lines) {
      validateHeaderName(name)
      validateHeaderValue(name, value)
    }
    this.lines = lines.map(([n, v]) => [n, v])
  }

  get hasError(): boolean {
    return false
  }
  get status(): string {
    return ''
  }
  get code(): number {
    return 0
  }
  get description(): string {
    return ''
  }

  /** The lines in order (a copy). */
  list(): HeaderList {
    return this.lines.map(([n, v]) => [n, v])
  }

  encode(): Uint8Array {
    // the lines were validated on the way in (constructor, append)
    this.encoded ??= utf8.encode(
      `${STATUS_LINE}${CRLF}${this.lines.map(([n, v]) => `${n}: ${v}${CRLF}`).join('')}${CRLF}`,
    )
    return this.encoded
  }

  get(k: string, _match?: Match): string {
    return this.values(k)[0] ?? ''
  }
  last(k: string, _match?: Match): string {
    return this.values(k).at(-1) ?? ''
  }
  has(k: string, _match?: Match): boolean {
    return this.values(k).length > 0
  }
  keys(): string[] {
    return [...new Set(this.lines.map(([n]) => n))]
  }
  values(k: string, _match?: Match): string[] {
    const key = k.toLowerCase()
    return this.lines.filter(([n]) => n.toLowerCase() === key).map(([, v]) => v)
  }
  set(k: string, v: string, match?: Match): void {
    this.delete(k, match)
    this.append(k, v, match)
  }
  append(k: string, v: string, _match?: Match): void {
    validateHeaderName(k)
    validateHeaderValue(k, v)
    this.lines.push([k, v])
    this.encoded = undefined
  }
  delete(k: string, _match?: Match): void {
    const key = k.toLowerCase()
    for (let i = this.lines.length - 1; i >= 0; i--) {
      if ((this.lines[i] as [string, string])[0].toLowerCase() === key) this.lines.splice(i, 1)
    }
    this.encoded = undefined
  }
  *[Symbol.iterator](): IterableIterator<[string, string[]]> {
    for (const k of this.keys()) yield [k, this.values(k)]
  }
}

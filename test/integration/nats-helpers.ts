/**
 * Shared pieces of the NATS integration tests. Reading back uses nats.js's own
 * ordered consumer (not JetStreamSource), so sink tests do not depend on the
 * source under test; raw header bytes come from `rawHeaderBlock`.
 */
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node'
import { rawHeaderBlock, parseHeaderBlock, type HeaderList } from '../../src/nats/headers.js'
import type { NatsServer } from '../helpers/nats-server.js'

export interface Stored {
  seq: number
  subject: string
  /** Raw header block as stored, or undefined. */
  raw: Uint8Array | undefined
  headers: HeaderList
  payload: Uint8Array
}

/** A connection that keeps reconnecting quickly (servers are restarted in tests). */
export async function connectTo(ns: NatsServer): Promise<NatsConnection & AsyncDisposable> {
  const nc = await connect({ servers: ns.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
  return Object.assign(nc, {
    async [Symbol.asyncDispose]() {
      if (!nc.isClosed()) await nc.close()
    },
  })
}

export async function manager(nc: NatsConnection): Promise<JetStreamManager> {
  return jetstreamManager(nc)
}

/** Every message of `stream` (optionally filtered), in stream order. */
export async function readAll(
  nc: NatsConnection,
  stream: string,
  filter?: string,
): Promise<Stored[]> {
  const jsm = await jetstreamManager(nc)
  const info = await jsm.streams.info(stream)
  const out: Stored[] = []
  if (info.state.messages === 0) return out
  const js = jetstream(nc)
  const c = await js.consumers.get(stream, filter ? { filter_subjects: filter } : {})
  const it = await c.consume({ max_messages: 500 })
  for await (const m of it) {
    const raw = rawHeaderBlock((m as unknown as { msg: Parameters<typeof rawHeaderBlock>[0] }).msg)
    out.push({
      seq: m.seq,
      subject: m.subject,
      raw,
      headers: raw ? parseHeaderBlock(raw).headers : [],
      payload: m.data,
    })
    if (m.info.pending === 0) break
  }
  await it.close()
  return out
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A payload of `size` bytes whose content encodes `tag`, so mix-ups are visible. */
export function payloadFor(tag: number, size: number): Uint8Array {
  const p = new Uint8Array(size)
  for (let i = 0; i < size; i++) p[i] = (tag * 31 + i) & 0xff
  return p
}

export function equalBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  )
}

/** A MsgHdrs stand-in that publishes an exact header block (for source tests). */
export function rawHeaders(block: string): MsgHdrs {
  const bytes = new TextEncoder().encode(block)
  return {
    encode: () => bytes,
    code: 0,
    description: '',
    hasError: false,
    status: '',
    get: () => '',
    set: () => undefined,
    append: () => undefined,
    has: () => false,
    keys: () => [],
    values: () => [],
    delete: () => undefined,
    last: () => '',
    [Symbol.iterator]: function* () {},
  } as MsgHdrs
}

/**
 * A hostile peer for stream-level tests: a real libp2p host that opens raw
 * streams on rhio's protocols and writes whatever bytes a test chooses, in
 * whatever pieces, at whatever pace, then half-closes, resets or walks away.
 * When the victim bans it, `connect` starts over with a fresh identity (as a
 * real attacker would).
 */
import { randomBytes } from 'node:crypto'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { Uint8ArrayList } from 'uint8arraylist'
import { FramedStream } from '../../src/p2p/framing.js'
import { createHost, protocolId } from '../../src/p2p/host.js'
import { encodeHello, type Selector } from '../../src/sync/wire.js'
import { testKey, type TestKey } from './keys.js'
import { TEST_NETWORK } from './p2p.js'

export type ProtocolName = 'hello' | 'sync' | 'blobs'

/** How a raw stream is written. */
export interface StreamPlan {
  /** The bytes, in the pieces they are sent in. */
  pieces: Uint8Array[]
  /** Pause before each piece after the first, in ms (slow drip). */
  delayMs: number
  /** After the last piece: half-close, reset, or leave the stream open. */
  end: 'close' | 'reset' | 'open'
}

export interface RawPeerOptions {
  networkId?: Uint8Array
  /** What the peer says it holds in its hello (so it looks like a rhio node). */
  holds?: Selector[]
  /** Send a valid hello on connecting (default true). */
  hello?: boolean
}

export class RawPeer implements AsyncDisposable {
  host!: Libp2p
  key!: TestKey
  /** Identities used so far (each ban costs one). */
  identities = 0
  private readonly networkId: Uint8Array

  private constructor(private readonly o: RawPeerOptions) {
    this.networkId = o.networkId ?? TEST_NETWORK
  }

  static async start(o: RawPeerOptions = {}): Promise<RawPeer> {
    const peer = new RawPeer(o)
    await peer.fresh()
    return peer
  }

  get id(): string {
    return this.key.publicKeyHex
  }

  /** A new identity and host (after a ban). */
  async fresh(): Promise<void> {
    await this.host?.stop()
    this.key = testKey(randomBytes(32))
    this.identities++
    this.host = await createHost({
      seed: this.key.seed,
      networkId: this.networkId,
      transport: 'tcp',
      listen: ['/ip4/127.0.0.1/tcp/0'],
      maxConnections: 64,
    })
    await this.host.start()
    // accept the victim's hello stream (refusing it would make the victim hang up)
    await this.host.handle(protocolId(this.networkId, 'hello'), (stream) => {
      stream.addEventListener('message', () => {})
    })
  }

  /**
   * Connects to `victim` and sends a valid hello unless told not to. A refused
   * dial is retried (libp2p refuses more than 5 connections a second from one
   * host), then retried as a fresh identity (the victim may have banned us).
   */
  async connect(victim: { peerId: PeerId; addresses: string[] }): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.host.getConnections(victim.peerId).length > 0) return
        const addr = multiaddr(victim.addresses[0]!)
        await this.host.dial(addr, { signal: AbortSignal.timeout(5_000) })
        if (this.o.hello ?? true) {
          const s = await this.host.dialProtocol(
            victim.peerId,
            protocolId(this.networkId, 'hello'),
            {
              signal: AbortSignal.timeout(5_000),
            },
          )
          s.inactivityTimeout = Number.POSITIVE_INFINITY
          const framed = new FramedStream(s, { maxFrameBytes: 1 << 20 })
          await framed.write(encodeHello({ version: 1, holds: this.o.holds ?? [], wants: [] }))
        }
        return
      } catch (err) {
        if (attempt >= 6) throw err
        await sleep(250)
        if (attempt % 2 === 1) await this.fresh() // banned: come back as someone else
      }
    }
  }

  /** Opens a raw stream on `name` and writes it according to `plan`. Never throws. */
  async send(victim: PeerId, name: ProtocolName, plan: StreamPlan): Promise<Stream | undefined> {
    let stream: Stream
    try {
      stream = await this.host.dialProtocol(victim, protocolId(this.networkId, name), {
        signal: AbortSignal.timeout(5_000),
      })
    } catch (err) {
      // The victim hung up (a ban) but our side may still list the connection
      // as open with its muxer closed: drop it so `connect` dials again.
      if (err instanceof Error && err.name === 'ConnectionClosedError') {
        for (const c of this.host.getConnections(victim)) c.abort(err)
      }
      return undefined // refused (banned, too many streams): the victim's choice
    }
    stream.inactivityTimeout = Number.POSITIVE_INFINITY
    stream.addEventListener('message', () => {}) // read and drop the victim's answers
    try {
      for (const [i, piece] of plan.pieces.entries()) {
        if (i > 0 && plan.delayMs > 0) await sleep(plan.delayMs)
        if (stream.writeStatus !== 'writable') break
        if (piece.length === 0) continue
        if (!stream.send(new Uint8ArrayList(piece))) {
          await stream.onDrain({ signal: AbortSignal.timeout(2_000) })
        }
      }
      if (plan.end === 'close') await stream.close({ signal: AbortSignal.timeout(2_000) })
      else if (plan.end === 'reset') stream.abort(new Error('rogue reset'))
    } catch {
      // the victim reset the stream: fine
    }
    return stream
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.host.stop()
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Unsigned LEB128, as the framing uses for lengths. */
export function varint(n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}

/** `body` as one frame (length prefix + bytes). */
export function frame(body: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat([varint(body.length), body]))
}

/** rhio_p2p_rejected_total{reason} of a test node. */
export async function rejected(
  node: { registry: { getSingleMetricAsString(name: string): Promise<string> } },
  reason: string,
): Promise<number> {
  const text = await node.registry.getSingleMetricAsString('rhio_p2p_rejected_total')
  const m = new RegExp(`reason="${reason}"} (\\d+)`).exec(text)
  return m ? Number(m[1]) : 0
}

/**
 * The hello protocol: as soon as two nodes connect, each opens a stream to
 * the other and says what it holds and what it wants (selectors); it sends a
 * new hello on that stream whenever that changes. Sync sessions and blob
 * transfers pick their peers from what the hellos say.
 *
 * Every rhio node says hello at once: a connection that stays silent for
 * `helloTimeoutMs` is closed (it holds a connection slot for nothing). A peer
 * that does not speak this network id's protocols is disconnected.
 */
import type { Libp2p, Stream, Connection } from '@libp2p/interface'
import type { Logger } from 'pino'
import { toHex } from '../core/codec.js'
import { describeError } from '../errors/index.js'
import { FramedStream } from '../p2p/framing.js'
import { peerPublicKey, protocolId } from '../p2p/host.js'
import { penalizeFrameError, type PenaltyBox } from '../p2p/penalty-box.js'
import type { PeerTable, PeerView } from '../p2p/peer-table.js'
import { ON_LIMITED, openStream } from '../p2p/streams.js'
import { Listeners } from '../util/listeners.js'
import { withDeadline } from '../util/abort.js'
import { decodeHello, encodeHello, PROTOCOL_VERSION, type Hello } from './wire.js'

/** Hello streams per connection and direction. */
export const HELLO_STREAMS = 2
/**
 * Hellos a peer may send in a burst, and how fast that allowance refills: a node says
 * hello on connecting and when its subscriptions change (a burst at start); more is
 * a flood — ignored and penalised (`flood`), since each hello makes this node
 * reconsider its sessions.
 */
export const HELLO_BURST = 64
export const HELLO_REFILL_MS = 500
/** How long a peer that does not speak this network's hello is given to announce what it speaks. */
export const IDENTIFY_WAIT_MS = 2_000
/** Opening the hello stream to a connected peer. */
const OPEN_TIMEOUT_MS = 10_000

export interface HelloServiceComponents {
  host: Libp2p
  peers: PeerTable
  penalties: PenaltyBox
  logger: Logger
}

export interface HelloServiceInit {
  networkId: Uint8Array
  /** Largest hello frame accepted. */
  maxFrameBytes: number
  /**
   * A connected peer must send its first hello within this many ms, and each
   * hello frame, once begun, must complete within it (default 10 s).
   */
  helloTimeoutMs?: number
}

/** A connected peer and what it last said. */
export interface PeerHello {
  peer: PeerView
  hello: Hello
}

interface Conversation {
  /** The stream this node says hello on. */
  out?: FramedStream
  /** What the peer last said. */
  hello?: Hello
  timer?: NodeJS.Timeout
  /** Hellos the peer may still send now (refilled over time), and when that was computed. */
  allowance: number
  allowanceAt: number
}

export class HelloService {
  private readonly proto: string
  private local: Hello = { version: PROTOCOL_VERSION, holds: [], wants: [] }
  private readonly conversations = new Map<string, Conversation>()
  /** Streams being read (aborted on stop, so no read waits on a shared signal). */
  private readonly inbound = new Set<FramedStream>()
  private readonly hellos = new Listeners<PeerHello>()
  private readonly gone = new Listeners<PeerView>()
  private readonly abort = new AbortController()
  private readonly unsubscribe: Array<() => void> = []
  private sendScheduled = false
  private started = false

  constructor(
    private readonly components: HelloServiceComponents,
    private readonly init: HelloServiceInit,
  ) {
    this.proto = protocolId(init.networkId, 'hello')
  }

  private get timeoutMs(): number {
    return this.init.helloTimeoutMs ?? 10_000
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    const { host, peers } = this.components
    await host.handle(this.proto, (stream, connection) => this.onStream(stream, connection), {
      // one hello stream per direction is all a peer needs (two while one is replaced)
      maxInboundStreams: HELLO_STREAMS,
      maxOutboundStreams: HELLO_STREAMS,
      ...ON_LIMITED,
    })
    this.unsubscribe.push(
      peers.onConnect((p) => this.onConnect(p)),
      peers.onDisconnect((p) => this.onDisconnect(p)),
    )
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const u of this.unsubscribe.splice(0)) u()
    this.abort.abort()
    for (const c of this.conversations.values()) clearTimeout(c.timer)
    for (const f of this.inbound) f.abort(new Error('hello service stopped'))
    await this.components.host.unhandle(this.proto).catch(() => {})
  }

  /** What the peer last said, while it is connected. */
  get(id: string): Hello | undefined {
    return this.conversations.get(id)?.hello
  }

  /** Connected peers that said hello, with what they said. */
  list(): PeerHello[] {
    const out: PeerHello[] = []
    for (const [id, c] of this.conversations) {
      if (!c.hello) continue
      const peer = this.components.peers.get(id)
      if (peer?.connected) out.push({ peer, hello: c.hello })
    }
    return out
  }

  /** Called on every hello received (also repeated ones). */
  onHello(fn: (e: PeerHello) => void): () => void {
    return this.hellos.add(fn)
  }

  /** Called when a peer that had said hello disconnects. */
  onGone(fn: (peer: PeerView) => void): () => void {
    return this.gone.add(fn)
  }

  /**
   * Replaces what this node says and tells every connected peer (once per turn
   * of the event loop: a node subscribing to many authors at start sends one hello).
   */
  setLocal(h: Hello): void {
    this.local = h
    if (this.sendScheduled) return
    this.sendScheduled = true
    setImmediate(() => {
      this.sendScheduled = false
      for (const [id, c] of this.conversations) if (c.out) void this.send(id, c.out)
    })
  }

  private conversation(id: string): Conversation {
    let c = this.conversations.get(id)
    if (!c) this.conversations.set(id, (c = { allowance: HELLO_BURST, allowanceAt: Date.now() }))
    return c
  }

  /** Takes one hello from the peer's allowance; false when it has none left. */
  private allow(c: Conversation): boolean {
    const now = Date.now()
    c.allowance = Math.min(HELLO_BURST, c.allowance + (now - c.allowanceAt) / HELLO_REFILL_MS)
    c.allowanceAt = now
    if (c.allowance < 1) return false
    c.allowance--
    return true
  }

  private onConnect(p: PeerView): void {
    const c = this.conversation(p.id)
    clearTimeout(c.timer)
    const since = p.connectedSince
    c.timer = setTimeout(() => {
      const now = this.components.peers.get(p.id)
      if (!this.started || !now?.connected || c.hello || now.connectedSince !== since) return
      this.components.penalties.penalize(p.id, 'timeout')
      this.components.logger.info(
        { peer: p.id },
        'no hello from the peer in time; closing the connection',
      )
      this.components.peers.hangUp(p.id)
    }, this.timeoutMs)
    void this.open(p)
  }

  private onDisconnect(p: PeerView): void {
    const c = this.conversations.get(p.id)
    if (!c) return
    clearTimeout(c.timer)
    this.conversations.delete(p.id)
    if (c.hello !== undefined) this.gone.emit(p)
  }

  private async open(p: PeerView): Promise<void> {
    const { host, peers, logger } = this.components
    try {
      const stream = await withDeadline(this.abort.signal, OPEN_TIMEOUT_MS, (signal) =>
        openStream(host, p.peerId, this.proto, { signal }),
      )
      stream.inactivityTimeout = Number.POSITIVE_INFINITY
      const out = new FramedStream(stream, {
        maxFrameBytes: this.init.maxFrameBytes,
        highWaterBytes: this.init.maxFrameBytes,
        frameTimeoutMs: this.timeoutMs,
      })
      const c = this.conversations.get(p.id)
      if (!c) {
        out.abort(new Error('peer disconnected'))
        return
      }
      c.out = out
      void this.refuseInput(p.id, out)
      await this.send(p.id, out)
    } catch (err) {
      if (this.abort.signal.aborted) return
      const msg = describeError(err)
      if (/protocol selection failed|not supported|UnsupportedProtocol/i.test(msg)) {
        await this.refuse(p)
      } else {
        peers.setError(p.id, msg)
        logger.debug({ peer: p.id, err: msg }, 'hello stream failed')
      }
    }
  }

  /**
   * The peer does not speak this network's hello: says why (from the
   * protocols it announced through identify, waited for briefly so that both
   * sides learn them before either hangs up), logs it once, closes the
   * connection and leaves the peer alone a while (PeerTable.mismatch).
   */
  private async refuse(p: PeerView): Promise<void> {
    const { peers, logger } = this.components
    const protocols = await this.announcedProtocols(p)
    const { reason, certain } = mismatchReason(p.id, protocols, this.proto)
    // A peer that is still starting announces no rhio protocol yet: that is said only if it lasts.
    if (peers.mismatch(p.id, reason) === (certain ? 1 : 2)) {
      logger.warn(
        { peer: p.id, protocols: protocols.filter((x) => x.startsWith('/rhio/')) },
        reason,
      )
    } else {
      logger.debug({ peer: p.id }, reason)
    }
    peers.hangUp(p.id)
  }

  /** What the peer announced through identify (waits up to IDENTIFY_WAIT_MS for it). */
  private async announcedProtocols(p: PeerView): Promise<string[]> {
    const { host } = this.components
    const known = async (): Promise<string[]> =>
      (await host.peerStore.get(p.peerId).catch(() => undefined))?.protocols ?? []
    const now = await known()
    if (now.length > 0) return now
    return await new Promise<string[]>((resolve) => {
      const done = (list: string[]): void => {
        clearTimeout(timer)
        host.removeEventListener('peer:identify', onIdentify)
        resolve(list)
      }
      const onIdentify = (
        e: CustomEvent<{ peerId: PeerView['peerId']; protocols: string[] }>,
      ): void => {
        if (e.detail.peerId.equals(p.peerId)) done(e.detail.protocols)
      }
      const timer = setTimeout(() => void known().then(done), IDENTIFY_WAIT_MS)
      host.addEventListener('peer:identify', onIdentify)
    })
  }

  /** Our hello stream only sends: anything the peer writes to it is bad input. */
  private async refuseInput(peer: string, out: FramedStream): Promise<void> {
    try {
      const frame = await out.read()
      if (frame === undefined) return
      this.components.penalties.penalize(peer, 'malformed')
      out.abort(new Error('unexpected data on the hello stream'))
    } catch (err) {
      penalizeFrameError(this.components.penalties, peer, err)
    }
  }

  private async send(peer: string, out: FramedStream): Promise<void> {
    try {
      await out.write(encodeHello(this.local))
    } catch (err) {
      this.components.logger.debug({ peer, err: describeError(err) }, 'hello send failed')
    }
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const pk = peerPublicKey(connection.remotePeer)
    if (!pk) {
      stream.abort(new Error('not an Ed25519 peer'))
      return
    }
    const id = toHex(pk)
    stream.inactivityTimeout = Number.POSITIVE_INFINITY
    const framed = new FramedStream(stream, {
      maxFrameBytes: this.init.maxFrameBytes,
      highWaterBytes: this.init.maxFrameBytes,
      frameTimeoutMs: this.timeoutMs,
    })
    this.inbound.add(framed)
    try {
      for (;;) {
        const frame = await framed.read()
        if (!frame) {
          // the peer closed its side: close ours too, so the stream goes away
          await framed.closeWrite()
          return
        }
        let hello: Hello
        try {
          hello = decodeHello(frame)
        } catch (err) {
          this.components.penalties.penalize(id, 'malformed')
          throw err
        }
        if (!this.received(id, hello)) {
          // a flood: stop reading this stream (the peer may open another, within
          // HELLO_STREAMS, and is banned after a few)
          framed.abort(new Error('hello flood'))
          return
        }
      }
    } catch (err) {
      penalizeFrameError(this.components.penalties, id, err)
      if (!this.abort.signal.aborted)
        this.components.logger.debug({ peer: id, err: describeError(err) }, 'hello stream ended')
      framed.abort(err as Error)
    } finally {
      this.inbound.delete(framed)
    }
  }

  /** Takes a hello; false when the peer has used up its allowance (a flood). */
  private received(id: string, hello: Hello): boolean {
    const peer = this.components.peers.get(id)
    if (!peer?.connected) return true
    const c = this.conversation(id)
    if (!this.allow(c)) {
      this.components.penalties.penalize(id, 'flood')
      return false
    }
    if (hello.version !== PROTOCOL_VERSION) {
      // A node of another protocol version: what its selectors mean may differ, so
      // nothing is started with it. Not bad input: it is told nothing and not penalised.
      const msg = `peer speaks hello version ${hello.version}; this node speaks ${PROTOCOL_VERSION}`
      if (peer.lastError !== msg) this.components.logger.warn({ peer: id }, msg)
      this.components.peers.setError(id, msg)
      return true
    }
    // the first hello of this connection: the peer works with this node
    if (c.hello === undefined) this.components.peers.working(id)
    else this.components.peers.touch(id)
    c.hello = hello
    this.hellos.emit({ peer: { ...peer, lastSeen: Date.now() }, hello })
    return true
  }
}

export type { Hello }

/**
 * Why a connected peer does not answer this node's hello protocol, from the
 * protocols it announced: another network id (its hello has another hash;
 * `certain`), or no rhio protocol of this network (another rhio version, or a
 * node still starting).
 */
export function mismatchReason(
  peer: string,
  protocols: readonly string[],
  ours: string,
): { reason: string; certain: boolean } {
  const who = `peer ${peer.slice(0, 8)}…`
  const hello = protocols.find((x) => /^\/rhio\/[0-9a-f]+\/hello\//.test(x) && x !== ours)
  if (hello) {
    const theirs = hello.split('/')[2] ?? ''
    const mine = ours.split('/')[2] ?? ''
    return {
      reason: `${who} uses another network id (its network hash ${theirs}, this node's ${mine}): set the same network_id on both sites`,
      certain: true,
    }
  }
  return {
    reason: `${who} does not speak this network's protocols (another rhio version, or not a rhio node)`,
    certain: false,
  }
}

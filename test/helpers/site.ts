/**
 * A simulated site for end-to-end tests: its own nats-server (JetStream) with
 * streams, a NATS client for the test, and rhio processes pointed at it.
 */
import {
  headers as natsHeaders,
  type ConnectionOptions,
  type NatsConnection,
} from '@nats-io/transport-node'
import { connect } from '@nats-io/transport-node'
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream'
import { WireHeaders, type HeaderList } from '../../src/nats/headers.js'
import { JetStreamSource, type SourceMessage } from '../../src/nats/source.js'
import { NatsServer } from './nats-server.js'
import { startRhio, type RhioProcess, type StartRhioOptions } from './rhio.js'

export interface StreamSpec {
  name: string
  subjects: string[]
}

export interface SiteOptions {
  /** nats-server `max_payload` (headers + payload) in bytes. Default 1 MiB. */
  maxPayload?: number
  /** Extra nats-server configuration (e.g. an `authorization { … }` block). */
  natsConfig?: string
  /** Options for the test's own client connection (e.g. credentials). */
  connect?: Partial<ConnectionOptions>
  /** Run NATS and rhio inside this network namespace, NATS listening on `host`. */
  netns?: { name: string; host: string }
}

/** A message to publish with headers written exactly as given (order, case, repeats). */
export interface OutMessage {
  subject: string
  payload: Uint8Array
  headers: HeaderList
}

/** Every message currently in a stream (optionally filtered), in stream order. */
export async function readStream(
  nc: NatsConnection,
  stream: string,
  filterSubject = '>',
): Promise<SourceMessage[]> {
  const info = await (await jetstreamManager(nc, { checkAPI: false })).streams.info(stream)
  if (info.state.messages === 0) return []
  const src = new JetStreamSource(
    { nc },
    { stream, filterSubject, mode: 'catchup', catchupIdleMs: 500 },
  )
  src.start()
  const out: SourceMessage[] = []
  try {
    for (;;) {
      const batch = await src.read({ max: 5000 })
      if (!batch) break
      out.push(...batch)
    }
  } finally {
    await src.stop()
  }
  return out
}

export class Site implements AsyncDisposable {
  private readonly nodes: RhioProcess[] = []
  private constructor(
    readonly name: string,
    readonly nats: NatsServer,
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    private readonly netns?: string,
  ) {}

  static async start(
    name: string,
    streams: StreamSpec[] = [],
    opts: SiteOptions = {},
  ): Promise<Site> {
    const nats = await NatsServer.start({
      name: `nats-${name}`,
      config: [`max_payload: ${opts.maxPayload ?? 1048576}`, opts.natsConfig ?? ''].join('\n'),
      ...(opts.netns ? { netns: opts.netns.name, host: opts.netns.host } : {}),
    })
    const nc = await connect({
      servers: nats.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      ...opts.connect,
    })
    const jsm = await jetstreamManager(nc)
    for (const s of streams) await jsm.streams.add({ name: s.name, subjects: s.subjects })
    return new Site(name, nats, nc, jetstream(nc), jsm, opts.netns?.name)
  }

  /** Publishes into JetStream and waits for the ack. */
  async publish(
    subject: string,
    payload: Uint8Array | string,
    headers: Array<[string, string]> = [],
  ): Promise<number> {
    const h = natsHeaders()
    for (const [k, v] of headers) h.append(k, v)
    const ack = await this.js.publish(
      subject,
      typeof payload === 'string' ? new TextEncoder().encode(payload) : payload,
      headers.length ? { headers: h } : {},
    )
    return ack.seq
  }

  /**
   * Publishes many messages into JetStream with up to `pending` acks
   * outstanding, in order, headers written byte for byte. Returns the stream
   * sequences in the same order.
   */
  async publishMany(msgs: Iterable<OutMessage>, pending = 256): Promise<number[]> {
    const seqs: number[] = []
    const inflight = new Set<Promise<void>>()
    let i = 0
    for (const m of msgs) {
      const at = i++
      const p: Promise<void> = this.js
        .publish(
          m.subject,
          m.payload,
          m.headers.length ? { headers: new WireHeaders(m.headers) } : {},
        )
        .then((ack) => {
          seqs[at] = ack.seq
        })
        .finally(() => inflight.delete(p))
      inflight.add(p)
      if (inflight.size >= pending) await Promise.race(inflight)
    }
    await Promise.all(inflight)
    return seqs
  }

  /** Every message currently in a stream (optionally filtered), in stream order. */
  read(stream: string, filterSubject = '>'): Promise<SourceMessage[]> {
    return readStream(this.nc, stream, filterSubject)
  }

  async count(stream: string): Promise<number> {
    return (await this.jsm.streams.info(stream)).state.messages
  }

  /** Starts a rhio process using this site's NATS. */
  async rhio(opts: StartRhioOptions = {}): Promise<RhioProcess> {
    const node = await startRhio({
      name: `rhio-${this.name}`,
      ...(this.netns !== undefined ? { netns: this.netns } : {}),
      ...opts,
      config: { nats: { endpoint: this.nats.url }, log_level: 'INFO', ...opts.config },
    })
    this.nodes.push(node)
    return node
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const n of this.nodes) await n[Symbol.asyncDispose]().catch(() => {})
    await this.nc.close().catch(() => {})
    await this.nats[Symbol.asyncDispose]()
  }
}

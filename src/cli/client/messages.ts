/**
 * `rhio client pub` and `rhio client sub`: publish to and read from the
 * node's local NATS, as rhio itself sees it.
 */
import { readFileSync } from 'node:fs'
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream'
import { headers as natsHeaders, type Msg, type MsgHdrs } from '@nats-io/transport-node'
import { describeError } from '../../errors/index.js'
import type { ClientContext } from './context.js'
import { natsError, withNats } from './context.js'
import { ClientErrorCode, clientError } from './errors.js'
import { messageJson, messageText, type ShownMessage } from './format.js'
import { writeOut } from './output.js'

export interface PubFlags {
  /** `K=V` pairs, in order; a name may repeat. */
  header?: Array<[string, string]>
  /** Plain NATS publish without a JetStream acknowledgement. */
  core?: boolean
}

/** DATA as given, or stdin for `-`. */
function payload(data: string): Uint8Array {
  if (data !== '-') return new TextEncoder().encode(data)
  try {
    return new Uint8Array(readFileSync(0))
  } catch (err) {
    throw clientError(ClientErrorCode.FILE_UNREADABLE, 'cannot read the payload from stdin', err)
  }
}

export async function pub(
  subject: string,
  data: string,
  flags: PubFlags,
  ctx: ClientContext,
): Promise<void> {
  const body = payload(data)
  const hdrs = buildHeaders(flags.header ?? [])
  await withNats(ctx.config, async (nc) => {
    if (flags.core) {
      try {
        nc.publish(subject, body, hdrs ? { headers: hdrs } : {})
        await nc.flush()
      } catch (err) {
        throw natsError(err, `cannot publish to ${subject}`)
      }
      ctx.io.out(
        `published to ${subject} (${body.length} bytes, core NATS: no stream acknowledged it)\n`,
      )
      return
    }
    let ack
    try {
      ack = await jetstream(nc).publish(subject, body, hdrs ? { headers: hdrs } : {})
    } catch (err) {
      if (/no responders|jetstream is not enabled/i.test(describeError(err))) {
        throw clientError(
          ClientErrorCode.NO_STREAM,
          `no JetStream stream captures ${subject}: create one with ` +
            `'rhio client stream add NAME ${subject}', or publish with --core`,
        )
      }
      throw natsError(err, `cannot publish to ${subject}`)
    }
    const dup = ack.duplicate ? ', duplicate: already stored' : ''
    ctx.io.out(
      `published to ${subject} (${body.length} bytes): stream ${ack.stream} #${ack.seq}${dup}\n`,
    )
  })
}

function buildHeaders(pairs: ReadonlyArray<[string, string]>): MsgHdrs | undefined {
  if (pairs.length === 0) return undefined
  const h = natsHeaders()
  for (const [k, v] of pairs) h.append(k, v)
  return h
}

export interface SubFlags {
  /** Read from this JetStream stream (default: the stream capturing SUBJECT, with --all). */
  stream?: string
  /** From the start of the stream instead of new messages only. */
  all?: boolean
  json?: boolean
  /** Exit after this many messages. */
  count?: number
  /** Exit after this many seconds (an error when `count` was not reached). */
  timeout?: number
}

/** Prints messages on SUBJECT until Ctrl-C, `--count` or `--timeout`. */
export async function sub(subject: string, flags: SubFlags, ctx: ClientContext): Promise<void> {
  await withNats(ctx.config, async (nc) => {
    const stop = new AbortController()
    const onAbort = (): void => stop.abort()
    ctx.signal.addEventListener('abort', onAbort, { once: true })
    let timedOut = false
    const timer =
      flags.timeout === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true
            stop.abort()
          }, flags.timeout * 1000)
    let seen = 0
    const show = async (m: ShownMessage): Promise<boolean> => {
      await writeOut(ctx.io, flags.json ? messageJson(m) : messageText(m))
      seen++
      return flags.count !== undefined && seen >= flags.count
    }
    try {
      if (flags.stream !== undefined || flags.all) {
        await readStream(nc, subject, flags, ctx, stop.signal, show)
      } else {
        await readLive(nc, subject, ctx, stop.signal, show)
      }
    } finally {
      clearTimeout(timer)
      ctx.signal.removeEventListener('abort', onAbort)
    }
    if (timedOut && flags.count !== undefined && seen < flags.count) {
      throw clientError(
        ClientErrorCode.TIMEOUT,
        `received ${seen} of ${flags.count} messages on ${subject} within ${flags.timeout} s`,
      )
    }
  })
}

type Show = (m: ShownMessage) => Promise<boolean>
type Nc = Parameters<Parameters<typeof withNats>[1]>[0]

async function readLive(
  nc: Nc,
  subject: string,
  ctx: ClientContext,
  signal: AbortSignal,
  show: Show,
): Promise<void> {
  let subscription
  try {
    subscription = nc.subscribe(subject)
    await nc.flush() // the server has the subscription before we say so
  } catch (err) {
    throw natsError(err, `cannot subscribe to ${subject}`)
  }
  const s = subscription
  const onAbort = (): void => s.unsubscribe()
  if (signal.aborted) onAbort()
  signal.addEventListener('abort', onAbort, { once: true })
  ctx.io.err(`listening on ${subject} (core NATS, new messages; Ctrl-C to stop)\n`)
  try {
    for await (const m of s) {
      if (await show(fromMsg(m))) break
    }
  } finally {
    signal.removeEventListener('abort', onAbort)
    s.unsubscribe()
  }
}

async function readStream(
  nc: Nc,
  subject: string,
  flags: SubFlags,
  ctx: ClientContext,
  signal: AbortSignal,
  show: Show,
): Promise<void> {
  const jsm = await jetstreamManager(nc).catch((err: unknown) => {
    throw natsError(err, 'JetStream is not available')
  })
  let stream = flags.stream
  if (stream === undefined) {
    try {
      stream = await jsm.streams.find(subject)
    } catch (err) {
      throw clientError(ClientErrorCode.STREAM_NOT_FOUND, `no stream captures ${subject}`, err)
    }
  }
  let consumer
  try {
    consumer = await jetstream(nc).consumers.get(stream, {
      filter_subjects: subject,
      deliver_policy: flags.all ? 'all' : 'new',
    })
  } catch (err) {
    if (/stream not found/i.test(describeError(err))) {
      throw clientError(ClientErrorCode.STREAM_NOT_FOUND, `no stream named ${stream}`, err)
    }
    throw natsError(err, `cannot read stream ${stream}`)
  }
  const messages = await consumer.consume()
  const onAbort = (): void => void messages.stop()
  if (signal.aborted) onAbort()
  signal.addEventListener('abort', onAbort, { once: true })
  const from = flags.all ? 'from the start' : 'new messages'
  ctx.io.err(`reading ${subject} from stream ${stream} (${from}; Ctrl-C to stop)\n`)
  try {
    for await (const m of messages) {
      if (await show(fromJsMsg(m, stream))) break
    }
  } finally {
    signal.removeEventListener('abort', onAbort)
    await messages.close().catch(() => undefined)
  }
}

function headerList(h: MsgHdrs | undefined): Array<[string, string[]]> {
  return h ? [...h].map(([k, v]) => [k, [...v]]) : []
}

function fromMsg(m: Msg): ShownMessage {
  return { subject: m.subject, headers: headerList(m.headers), data: m.data }
}

function fromJsMsg(m: JsMsg, stream: string): ShownMessage {
  return {
    subject: m.subject,
    headers: headerList(m.headers),
    data: m.data,
    stream: { name: stream, seq: m.seq, time: new Date(Number(m.info.timestampNanos / 1_000_000)) },
  }
}

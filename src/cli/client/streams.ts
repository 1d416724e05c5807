/**
 * `rhio client stream add NAME SUBJECT...` and `rhio client stream ls`.
 * rhio itself never creates streams; the demo and a new user need one.
 */
import { jetstreamManager, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream'
import { describeError } from '../../errors/index.js'
import { table } from '../common/table.js'
import type { ClientContext } from './context.js'
import { natsError, withNats } from './context.js'
import { ClientErrorCode, clientError } from './errors.js'

/** True when some subject matches both NATS subject patterns. */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split('.')
  const y = b.split('.')
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const s = x[i]
    const t = y[i]
    if (s === '>' || t === '>') return s !== undefined && t !== undefined
    if (s === undefined || t === undefined) return false
    if (s !== t && s !== '*' && t !== '*') return false
  }
  return true
}

async function manager(
  ctx: ClientContext,
  nc: Parameters<typeof jetstreamManager>[0],
): Promise<JetStreamManager> {
  try {
    return await jetstreamManager(nc)
  } catch (err) {
    throw natsError(err, `JetStream is not available at ${ctx.config.nats.endpoint}`)
  }
}

async function existing(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name)
  } catch (err) {
    if (/stream not found/i.test(describeError(err))) return undefined
    throw natsError(err, `cannot look up stream ${name}`)
  }
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n')

export async function streamAdd(
  name: string,
  subjects: string[],
  ctx: ClientContext,
): Promise<void> {
  await withNats(ctx.config, async (nc) => {
    const jsm = await manager(ctx, nc)
    const found = await existing(jsm, name)
    if (found) {
      const have = found.config.subjects ?? []
      if (sameSet(have, subjects)) {
        ctx.io.out(`stream ${name} exists (subjects: ${have.join(', ')})\n`)
        return
      }
      throw clientError(
        ClientErrorCode.STREAM_CONFLICT,
        `stream ${name} exists with other subjects (${have.join(', ') || 'none'}); ` +
          'rhio client never changes an existing stream',
      )
    }
    try {
      await jsm.streams.add({ name, subjects })
    } catch (err) {
      if (/overlap/i.test(describeError(err))) {
        const others = await overlapping(jsm, subjects)
        throw clientError(
          ClientErrorCode.STREAM_CONFLICT,
          `subjects ${subjects.join(', ')} overlap with ${others || 'an existing stream'}`,
          err,
        )
      }
      throw natsError(err, `cannot create stream ${name}`)
    }
    ctx.io.out(`stream ${name} created (subjects: ${subjects.join(', ')})\n`)
  })
}

/** `stream S (a.>)` for every stream whose subjects overlap `subjects`. */
async function overlapping(jsm: JetStreamManager, subjects: string[]): Promise<string> {
  const hits: string[] = []
  try {
    for await (const s of jsm.streams.list()) {
      const clash = (s.config.subjects ?? []).filter((t) =>
        subjects.some((u) => subjectsOverlap(t, u)),
      )
      if (clash.length > 0) hits.push(`stream ${s.config.name} (${clash.join(', ')})`)
    }
  } catch {
    // only for the message
  }
  return hits.join(', ')
}

export async function streamList(ctx: ClientContext): Promise<void> {
  await withNats(ctx.config, async (nc) => {
    const jsm = await manager(ctx, nc)
    const rows: string[][] = []
    try {
      for await (const s of jsm.streams.list()) {
        rows.push([
          s.config.name,
          (s.config.subjects ?? []).join(', '),
          String(s.state.messages),
          String(s.state.bytes),
        ])
      }
    } catch (err) {
      throw natsError(err, 'cannot list streams')
    }
    rows.sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''))
    ctx.io.out(
      rows.length === 0
        ? '(no streams)\n'
        : `${table(['STREAM', 'SUBJECTS', 'MESSAGES', 'BYTES'], rows)}\n`,
    )
  })
}

/**
 * The holder's side of a sync session: stream every matching log from the
 * requester's heights (catch-up), then keep the session open and push new
 * batches as they are stored (live). Filters are applied per entry, and a
 * filtered batch travels as a subset with a multiproof. Progress messages
 * assert coverage where nothing matched and double as heartbeats.
 */
import { subsetBatch } from '../core/batch.js'
import { equalBytes } from '../core/codec.js'
import { decodeEntry } from '../core/entry.js'
import type { FrameStore } from '../log/frame-store.js'
import { filterContains } from '../core/subject.js'
import { parseLogId, selectorMatchesEntry } from '../core/selector.js'
import type { LogRegistry } from '../log/registry.js'
import type { Selector, SyncMessage } from './wire.js'
import { linkSignals, pause, withDeadline } from '../util/abort.js'

export interface ServeOptions {
  registry: LogRegistry
  selector: Selector
  known: ReadonlyMap<string, number>
  send: (m: SyncMessage) => Promise<void>
  signal: AbortSignal
  heartbeatMs: number
  maxEntryBytes: number
}

/** Serves until the signal aborts or sending fails. Returns false if refused. */
export async function serve(o: ServeOptions): Promise<boolean> {
  const { registry, selector } = o
  if (!registry.covers(selector)) {
    await o.send({
      type: 'reject',
      code: 'not-holder',
      message: 'this node does not hold all of the requested data',
    })
    return false
  }
  const running = new Map<string, Promise<void>>()
  const stop = linkSignals(o.signal)
  const signal = stop.signal
  let failure: unknown
  const start = (store: FrameStore): void => {
    if (running.has(store.info.logId) || !equalBytes(store.info.author, selector.author)) return
    if (!registry.matching(selector).includes(store)) return
    // A failed send (the stream closed) ends the whole session.
    running.set(
      store.info.logId,
      serveLog({ ...o, signal }, store).catch((err: unknown) => {
        failure ??= err
        stop.abort()
      }),
    )
  }
  const unsubscribe = registry.onNewLog(start)
  try {
    for (const store of registry.matching(selector)) start(store)
    // Each log sends its own heartbeats; with no log yet, the session pings.
    while (!signal.aborted) {
      await pause(o.heartbeatMs, signal)
      if (running.size === 0 && !signal.aborted) await o.send({ type: 'ping' })
    }
  } finally {
    unsubscribe()
    stop.abort()
    stop.dispose()
    await Promise.allSettled(running.values())
  }
  if (failure !== undefined && !o.signal.aborted) throw failure
  return true
}

async function serveLog(o: ServeOptions, store: FrameStore): Promise<void> {
  const logId = store.info.logId
  const knownHeight = o.known.get(logId) ?? 0
  if (knownHeight + 1 < store.low) {
    // The history the requester needs is no longer here.
    await o.send({ type: 'unavailable', logId, low: store.low })
    return
  }
  await o.send({ type: 'log', logId, low: store.low, head: store.head })
  let next = knownHeight + 1
  let covered = knownHeight
  let lastSend = Date.now()
  // When the requester wants the whole log, entries need no decoding to filter.
  const scope = parseLogId(logId)
  const wholeLog =
    scope?.kind === 'blobs' ||
    (scope?.kind === 'nats' && o.selector.filters.some((f) => filterContains(f, scope.subject)))
  try {
    while (!o.signal.aborted) {
      // Every batch ending at or below this head is already stored, so the
      // read below sees it; anything above it is read on the next round.
      const headBefore = store.head
      for await (const sb of store.read(next)) {
        if (o.signal.aborted) return
        const h = sb.batch.header
        let keep: number[]
        // A whole-log requester gets whole batches (it checks that) and skips what it has.
        if (wholeLog) {
          keep = sb.batch.items.map((_, i) => i)
        } else {
          keep = []
          sb.batch.items.forEach((it, i) => {
            const e = decodeEntry(it.bytes, o.maxEntryBytes)
            if (e.seq >= next && selectorMatchesEntry(o.selector, e)) keep.push(i)
          })
        }
        next = h.lastSeq + 1
        // Sent even when nothing in it matches: the header alone is the author's
        // signed statement of what [first, last] covers, so the requester's
        // height only ever moves on signed data.
        await o.send({ type: 'batch', batch: subsetBatch(sb.batch, sb.leaves, keep) })
        covered = h.lastSeq
        lastSend = Date.now()
      }
      // coverage asserted by the source without entries (advance)
      if (headBefore >= next) next = headBefore + 1
      if (covered < next - 1 || Date.now() - lastSend >= o.heartbeatMs) {
        covered = next - 1
        await o.send({ type: 'progress', logId, through: covered, head: store.head })
        lastSend = Date.now()
      }
      await withDeadline(o.signal, o.heartbeatMs, (wait) => store.waitForHead(next - 1, wait))
    }
  } catch (err) {
    if (!o.signal.aborted) throw err
  }
}

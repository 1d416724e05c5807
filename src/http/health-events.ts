/**
 * GET /events: the /health JSON as Server-Sent Events, for the status page.
 *
 * One shared timer (running only while someone listens) compares the
 * snapshot with the last one sent every `checkIntervalMs` and pushes it to
 * every listener when it changed, and at least every `pushIntervalMs` (a
 * heartbeat that also keeps "last seen 5 s ago" fresh). Comparing snapshots
 * rather than hooking setters also catches components that update their
 * section objects in place.
 *
 * Backpressure: a listener whose socket is full gets no further writes until
 * 'drain'; meanwhile only the newest frame is kept for it (older snapshots are
 * worthless), so memory per listener is one frame. At most `maxClients`
 * listeners; more get 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { HealthModel } from '../component/index.js'

/** Fast enough that a progress bar moves smoothly, cheap enough to ignore (one snapshot per tick). */
export const EVENTS_CHECK_INTERVAL_MS = 250
/** The page shows relative times in seconds; a push a second keeps them honest. */
export const EVENTS_PUSH_INTERVAL_MS = 1_000
/** A status page is for people; 32 open tabs is plenty and bounds the work per tick. */
export const EVENTS_MAX_CLIENTS = 32
/** Streams one client address may hold, so one client cannot lock everyone else out. */
export const EVENTS_MAX_PER_ADDRESS = 4
/** How long the browser waits before reconnecting after the stream broke. */
export const EVENTS_RETRY_MS = 2_000

export interface HealthEventsInit {
  health: HealthModel
  checkIntervalMs?: number
  pushIntervalMs?: number
  maxClients?: number
  maxPerAddress?: number
  clock?: () => number
}

interface Listener {
  res: ServerResponse
  address: string
  blocked: boolean
  /** The newest frame not yet written because the socket was full. */
  pending: string | undefined
}

export class HealthEvents {
  private readonly listeners = new Set<Listener>()
  private readonly clock: () => number
  private timer: NodeJS.Timeout | undefined
  private last: { json: string; at: number } | undefined

  constructor(private readonly init: HealthEventsInit) {
    this.clock = init.clock ?? Date.now
  }

  /** Number of open event streams. */
  get listenerCount(): number {
    return this.listeners.size
  }

  /** The GET /events handler. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const address = req.socket.remoteAddress ?? ''
    let fromAddress = 0
    for (const l of this.listeners) if (l.address === address) fromAddress++
    if (fromAddress >= (this.init.maxPerAddress ?? EVENTS_MAX_PER_ADDRESS)) {
      res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '10' })
      res.end('too many event streams from this address\n')
      return
    }
    if (this.listeners.size >= (this.init.maxClients ?? EVENTS_MAX_CLIENTS)) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' })
      res.end('too many event streams\n')
      return
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Reverse proxies (nginx ingress) must not buffer the stream.
      'x-accel-buffering': 'no',
    })
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    res.socket?.setNoDelay(true)
    const listener: Listener = { res, address, blocked: false, pending: undefined }
    this.listeners.add(listener)
    res.once('close', () => this.remove(listener))
    const json = JSON.stringify(this.init.health.snapshot())
    this.write(listener, `retry: ${EVENTS_RETRY_MS}\n\n${frame(json)}`)
    this.timer ??= setInterval(
      () => this.tick(),
      this.init.checkIntervalMs ?? EVENTS_CHECK_INTERVAL_MS,
    )
    this.timer.unref()
  }

  /** Ends every event stream and stops the timer. Idempotent. */
  close(): void {
    for (const l of [...this.listeners]) {
      this.remove(l)
      l.res.end()
    }
  }

  private remove(l: Listener): void {
    this.listeners.delete(l)
    if (this.listeners.size === 0 && this.timer) {
      clearInterval(this.timer)
      this.timer = undefined
      this.last = undefined
    }
  }

  private tick(): void {
    const json = JSON.stringify(this.init.health.snapshot())
    const now = this.clock()
    const last = this.last
    const due =
      !last ||
      json !== last.json ||
      now - last.at >= (this.init.pushIntervalMs ?? EVENTS_PUSH_INTERVAL_MS)
    if (!due) return
    this.last = { json, at: now }
    const f = frame(json)
    for (const l of this.listeners) this.write(l, f)
  }

  private write(l: Listener, text: string): void {
    if (l.blocked) {
      l.pending = text
      return
    }
    if (l.res.write(text)) return
    l.blocked = true
    l.res.once('drain', () => {
      l.blocked = false
      const next = l.pending
      l.pending = undefined
      if (next !== undefined && this.listeners.has(l)) this.write(l, next)
    })
  }
}

/** One SSE event named `health` (JSON.stringify never emits a newline). */
function frame(json: string): string {
  return `event: health\ndata: ${json}\n\n`
}

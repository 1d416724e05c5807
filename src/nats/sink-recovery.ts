/**
 * How the sink gets going again after a failed publish, keeping per-subject
 * order: wait (backoff, cut short by a reconnect), let every earlier attempt
 * settle so none lands after a re-send, wait for the connection, then probe
 * with the first unacknowledged message alone; once it is stored, re-send the
 * rest in order. What landed before the failure is a prefix (one connection
 * delivers in order and nats.js discards what it buffered while disconnected),
 * so re-sending from the first unacknowledged message keeps order; re-sends
 * that had landed (ack lost) come back as duplicates.
 *
 * One race remains (a stream created, a subject added or a limit raised while
 * publishes for it are in flight): later messages can land before re-sent
 * earlier ones. `ReorderCheck` detects it from the stream sequences in the
 * acks of the re-sent messages. Pure logic over a `RecoveryHost`, so it is
 * unit-tested without a server.
 */
import type { Backoff } from '../util/backoff.js'
import type { SendWindow, WindowEntry } from './send-window.js'

export interface RecoverableEntry extends WindowEntry {
  subject: string
  /** Stream sequence from the ack (0 before). */
  seq: number
}

/** What recovery needs from the sink. */
export interface RecoveryHost<E extends RecoverableEntry> {
  readonly window: SendWindow<E>
  /** Sends one attempt (its outcome changes the entry's state and settles it). */
  send(entry: E): void
  /** Resolves once no attempt is in flight. */
  settled(): Promise<void>
  /** Resolves once the connection is up (at once when it is). */
  connected(signal: AbortSignal): Promise<void>
  /** Waits `ms`; a reconnect cuts it short. Rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>
  onRetry(e: { delayMs: number; fromIndex: number; attempt: number }): void
}

/** Per-subject stream sequences must grow over the messages re-sent after a failure. */
export class ReorderCheck {
  private pass: { to: number; seqs: Map<string, number> } | undefined

  /** Starts checking the acks of entries up to index `to`. */
  begin(to: number): void {
    this.pass = { to, seqs: new Map() }
  }

  get active(): boolean {
    return this.pass !== undefined
  }

  /** Whether `index` is a re-send of the current pass. */
  covers(index: number): boolean {
    return this.pass !== undefined && index <= this.pass.to
  }

  /**
   * Checks one acknowledged entry (in index order). Returns the sequence of a
   * later message of the same subject stored before it, or undefined.
   */
  check(e: RecoverableEntry): number | undefined {
    const pass = this.pass
    if (pass === undefined) return undefined
    const laterSeq = pass.seqs.get(e.subject)
    const out = laterSeq !== undefined && e.seq < laterSeq ? laterSeq : undefined
    if (out === undefined) pass.seqs.set(e.subject, e.seq)
    if (e.index >= pass.to) this.pass = undefined
    return out
  }
}

export class SinkRecovery<E extends RecoverableEntry> {
  /** The entry sent alone to test the way, while it is in flight. */
  probe: E | undefined
  /** Messages sent again after a failure (probes and re-sends). */
  resent = 0
  readonly order = new ReorderCheck()

  constructor(
    private readonly host: RecoveryHost<E>,
    private readonly backoff: Backoff,
  ) {}

  /**
   * Waits until the way is clear: resolves once the probe (the first
   * unacknowledged message) is stored, or nothing is left unacknowledged
   * (`fromIndex`: where re-sending starts, `attempts`: waits it took); rejects
   * with the signal's reason when it aborts. Then the caller, no longer
   * recovering, calls `resend()`.
   */
  async run(signal: AbortSignal): Promise<{ fromIndex: number; attempts: number }> {
    const { host } = this
    const window = host.window
    let attempts = 0
    let from = window.firstUnacked()?.index ?? window.lastIndex + 1
    for (;;) {
      attempts++
      const delayMs = this.backoff.next()
      host.onRetry({ delayMs, fromIndex: from, attempt: attempts })
      await host.sleep(delayMs, signal)
      // Let every earlier attempt finish first, so none lands after a re-send.
      await host.settled()
      await host.connected(signal)
      signal.throwIfAborted()
      const first = window.firstUnacked()
      if (first === undefined) break
      from = first.index
      for (const e of window.unackedEntries()) if (e.state !== 'acked') e.state = 'queued'
      this.order.begin(window.lastIndex)
      this.resent++
      this.probe = first
      host.send(first)
      await host.settled()
      this.probe = undefined
      if (first.state === 'acked') break
    }
    this.backoff.reset()
    return { fromIndex: from, attempts }
  }

  /** Sends every queued entry again, in order (those of the failed pass count as re-sent). */
  resend(): void {
    for (const e of this.host.window.unackedEntries()) {
      if (e.state !== 'queued') continue
      if (this.order.covers(e.index)) this.resent++
      this.host.send(e)
    }
  }
}

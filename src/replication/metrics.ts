/**
 * Prometheus metrics of message replication, on the node's registry (never the
 * global one). The original's `message_receive_total` lives in component/metrics.ts;
 * per-subscription lag is `rhio_log_lag_entries{author,log}` (sync/metrics.ts);
 * peer input rejected by reason is `rhio_p2p_rejected_total{reason}`.
 *
 * Sink counters are read from the sinks' own statistics when the registry is
 * scraped, so the data path pays nothing per message.
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { JetStreamSink } from '../nats/sink.js'

interface Tracked {
  stream: string
  sink: JetStreamSink
  acked: number
  duplicates: number
  chained: number
  chainBreaks: number
}

export class MessageMetrics {
  /** Messages JetStream stored in a subscription's stream (re-sends it dropped not counted). */
  readonly written: Counter<'stream'>
  /** Re-sends JetStream dropped as duplicates (Nats-Msg-Id seen before). */
  readonly duplicates: Counter<'stream'>
  /** Messages sent chained (a later message's ack vouched for them). */
  readonly chained: Counter<'stream'>
  /** Chained segments refused because another message came between (re-sent one by one). */
  readonly chainBreaks: Counter<'stream'>
  /** Failed writes into a local stream that are being retried, by reason. */
  readonly retries: Counter<'stream' | 'reason'>
  /** Messages handed to a sink and not yet acknowledged. */
  readonly unacked: Gauge<'stream'>
  /** Messages of a published stream not replicated, by reason (provenance, overlap, too-large). */
  readonly skipped: Counter<'stream' | 'reason'>
  /** Author headers named X-Rhio-* dropped before writing (rhio writes provenance itself). */
  readonly provenanceDropped: Counter
  private readonly sinks = new Set<Tracked>()

  constructor(registry: Registry) {
    const registers = [registry]
    const collectSinks = (): void => this.collectSinks()
    this.written = new Counter({
      name: 'rhio_messages_written_total',
      help: 'Replicated messages stored by JetStream in a subscription stream',
      labelNames: ['stream'],
      registers,
      collect: collectSinks,
    })
    this.duplicates = new Counter({
      name: 'rhio_sink_duplicates_total',
      help: 'Messages written again (after a retry or restart) that JetStream dropped by Nats-Msg-Id',
      labelNames: ['stream'],
      registers,
      collect: collectSinks,
    })
    this.chained = new Counter({
      name: 'rhio_sink_chained_total',
      help: 'Messages written into a subscription stream without an ack of their own: a later message of the same chained segment was acknowledged for them',
      labelNames: ['stream'],
      registers,
      collect: collectSinks,
    })
    this.chainBreaks = new Counter({
      name: 'rhio_sink_chain_breaks_total',
      help: 'Chained segments JetStream refused because the stream’s last message was not their predecessor (another publisher wrote in between, or a message before them did not land); re-sent one by one',
      labelNames: ['stream'],
      registers,
      collect: collectSinks,
    })
    this.retries = new Counter({
      name: 'rhio_sink_retries_total',
      help: 'Failed writes into a local stream, retried, by reason (no-stream, wrong-stream, too-large, timeout, closed, rejected, other)',
      labelNames: ['stream', 'reason'],
      registers,
    })
    const unacked = new Gauge({
      name: 'rhio_sink_unacked',
      help: 'Messages written to a subscription stream and not yet acknowledged by JetStream',
      labelNames: ['stream'],
      registers,
      collect: () => {
        const sums = new Map<string, number>()
        for (const t of this.sinks)
          sums.set(t.stream, (sums.get(t.stream) ?? 0) + t.sink.stats().unacked)
        unacked.reset()
        for (const [stream, n] of sums) unacked.set({ stream }, n)
      },
    })
    this.unacked = unacked
    this.provenanceDropped = new Counter({
      name: 'rhio_messages_forged_provenance_total',
      help: 'Replicated messages whose author sent X-Rhio-* headers of its own (dropped before writing)',
      registers,
    })
    this.skipped = new Counter({
      name: 'rhio_messages_skipped_total',
      help: 'Messages of a published stream not replicated: provenance (written by rhio, loop prevention), overlap (published by another entry), too-large',
      labelNames: ['stream', 'reason'],
      registers,
    })
  }

  /** Adds what each sink acknowledged since the last scrape (both counters in one pass). */
  private collectSinks(): void {
    for (const t of this.sinks) {
      const st = t.sink.stats()
      const stored = st.acked - st.duplicates - (t.acked - t.duplicates)
      if (stored > 0) this.written.inc({ stream: t.stream }, stored)
      if (st.duplicates > t.duplicates)
        this.duplicates.inc({ stream: t.stream }, st.duplicates - t.duplicates)
      if (st.chained > t.chained) this.chained.inc({ stream: t.stream }, st.chained - t.chained)
      if (st.chainBreaks > t.chainBreaks)
        this.chainBreaks.inc({ stream: t.stream }, st.chainBreaks - t.chainBreaks)
      t.acked = st.acked
      t.duplicates = st.duplicates
      t.chained = st.chained
      t.chainBreaks = st.chainBreaks
    }
  }

  /** Reports a sink's statistics under `stream` until the returned function is called. */
  track(stream: string, sink: JetStreamSink): () => void {
    const st = sink.stats()
    const t: Tracked = {
      stream,
      sink,
      acked: st.acked,
      duplicates: st.duplicates,
      chained: st.chained,
      chainBreaks: st.chainBreaks,
    }
    this.sinks.add(t)
    return () => {
      this.collectSinks()
      this.sinks.delete(t)
    }
  }
}

/**
 * Prometheus metrics of the sync protocol, registered on an injected registry.
 */
import { Counter, Gauge, type Registry } from 'prom-client'

export class SyncMetrics {
  readonly sessions: Gauge<'role'>
  readonly entriesReceived: Counter<'kind'>
  readonly entriesSent: Counter<'kind'>
  readonly entriesDuplicate: Counter<'kind'>
  readonly batchesSigned: Counter
  readonly syncBytes: Counter<'direction'>
  readonly logLag: Gauge<'author' | 'log'>
  readonly logHeight: Gauge<'author' | 'log'>
  readonly sessionsDropped: Counter<'reason'>

  constructor(registry: Registry) {
    const registers = [registry]
    this.sessionsDropped = new Counter({
      name: 'rhio_sync_sessions_dropped_total',
      help: 'Sync sessions this node ended on a peer, by reason (stalled: no signed data while others delivered)',
      labelNames: ['reason'],
      registers,
    })
    this.sessions = new Gauge({
      name: 'rhio_sync_sessions',
      help: 'Open sync sessions (requester: we fetch; holder: we serve)',
      labelNames: ['role'],
      registers,
    })
    this.entriesReceived = new Counter({
      name: 'rhio_entries_received_total',
      help: 'Verified new entries received from peers',
      labelNames: ['kind'],
      registers,
    })
    this.entriesSent = new Counter({
      name: 'rhio_entries_sent_total',
      help: 'Entries sent to peers in sync sessions (own and forwarded)',
      labelNames: ['kind'],
      registers,
    })
    this.entriesDuplicate = new Counter({
      name: 'rhio_entries_duplicate_total',
      help: 'Entries received again (already delivered) and dropped',
      labelNames: ['kind'],
      registers,
    })
    this.batchesSigned = new Counter({
      name: 'rhio_batches_signed_total',
      help: 'Batches signed as author',
      registers,
    })
    this.syncBytes = new Counter({
      name: 'rhio_sync_bytes_total',
      help: 'Sync protocol bytes',
      labelNames: ['direction'],
      registers,
    })
    this.logLag = new Gauge({
      name: 'rhio_log_lag_entries',
      help: 'Sequence numbers between the best known head of a subscribed log and what this node has',
      labelNames: ['author', 'log'],
      registers,
    })
    this.logHeight = new Gauge({
      name: 'rhio_log_height',
      help: 'Highest sequence number of a subscribed log delivered durably',
      labelNames: ['author', 'log'],
      registers,
    })
  }
}

/**
 * Prometheus metrics of the p2p layer (connections and bad input), registered
 * on an injected registry (never the global one, so several nodes can live in
 * one process).
 */
import { Counter, Gauge, type Registry } from 'prom-client'

export class PeerMetrics {
  readonly peersConnected: Gauge
  readonly rejected: Counter<'reason'>
  readonly bans: Counter
  readonly refused: Counter<'reason'>

  constructor(registry: Registry) {
    const registers = [registry]
    this.peersConnected = new Gauge({
      name: 'rhio_peers_connected',
      help: 'Peers with an open connection',
      registers,
    })
    this.rejected = new Counter({
      name: 'rhio_p2p_rejected_total',
      help: 'Peer input rejected, by reason (bad-signature, malformed, oversized, ...)',
      labelNames: ['reason'],
      registers,
    })
    this.refused = new Counter({
      name: 'rhio_p2p_refused_total',
      help: 'Connections refused when they were set up, by reason (banned, not-allowed)',
      labelNames: ['reason'],
      registers,
    })
    this.bans = new Counter({
      name: 'rhio_p2p_bans_total',
      help: 'Peers disconnected and banned for abuse',
      registers,
    })
  }
}

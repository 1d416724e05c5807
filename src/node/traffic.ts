/**
 * The `traffic` section of /health: what this node moved, in totals and as a
 * short history, so the status page can draw messages/s and bytes/s in and
 * out over the last minutes without keeping state of its own (a page opened
 * now shows the last five minutes at once). Read from the node's Prometheus
 * counters every TRAFFIC_SAMPLE_MS.
 */
import type { Registry } from 'prom-client'

/** One sample every 5 s, 60 kept: five minutes of history (~3 KiB of JSON). */
export const TRAFFIC_SAMPLE_MS = 5_000
export const TRAFFIC_POINTS = 60

export interface TrafficTotals {
  /** Entries of NATS logs received from peers (new ones, verified). */
  messages_in: number
  /** Entries of NATS logs sent to peers (own and forwarded). */
  messages_out: number
  /** Sync protocol and blob data bytes received / sent. */
  bytes_in: number
  bytes_out: number
}

export interface TrafficSection {
  interval_ms: number
  /** Totals since start, sampled; the newest last. `t` is Unix ms. */
  history: Array<TrafficTotals & { t: number }>
}

async function sum(
  registry: Registry,
  name: string,
  label: string,
  value: string,
): Promise<number> {
  const metric = registry.getSingleMetric(name)
  if (!metric) return 0
  const data = await metric.get()
  let total = 0
  for (const v of data.values) if (v.labels[label] === value) total += v.value
  return total
}

export class TrafficSampler {
  private readonly history: TrafficSection['history'] = []
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly registry: Registry,
    private readonly init: { intervalMs?: number; points?: number } = {},
  ) {}

  /** Totals now, from the counters. */
  async totals(): Promise<TrafficTotals> {
    const r = this.registry
    const [mIn, mOut, sIn, sOut, bIn, bOut] = await Promise.all([
      sum(r, 'rhio_entries_received_total', 'kind', 'nats'),
      sum(r, 'rhio_entries_sent_total', 'kind', 'nats'),
      sum(r, 'rhio_sync_bytes_total', 'direction', 'in'),
      sum(r, 'rhio_sync_bytes_total', 'direction', 'out'),
      sum(r, 'rhio_blob_bytes_total', 'direction', 'in'),
      sum(r, 'rhio_blob_bytes_total', 'direction', 'out'),
    ])
    return { messages_in: mIn, messages_out: mOut, bytes_in: sIn + bIn, bytes_out: sOut + bOut }
  }

  /** Takes one sample now (the timer calls this; tests may too). */
  async sample(): Promise<void> {
    this.history.push({ t: Date.now(), ...(await this.totals()) })
    const max = this.init.points ?? TRAFFIC_POINTS
    if (this.history.length > max) this.history.splice(0, this.history.length - max)
  }

  start(): void {
    if (this.timer) return
    void this.sample()
    this.timer = setInterval(() => void this.sample(), this.init.intervalMs ?? TRAFFIC_SAMPLE_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  section(): TrafficSection {
    return {
      interval_ms: this.init.intervalMs ?? TRAFFIC_SAMPLE_MS,
      history: this.history.map((h) => ({ ...h })),
    }
  }
}

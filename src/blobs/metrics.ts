/**
 * Prometheus metrics of blob transfer, registered on an injected registry (never the global
 * one). `blobs_download_total` keeps the original rhio's name and labels; the node's metrics
 * object registers it and passes it in, so it exists even when no transfer ran.
 */
import { Counter, Gauge, type Registry } from 'prom-client'

export type DownloadCounter = Counter<'msg_type' | 'local_bucket' | 'remote_bucket'>

/** Outcomes counted by `rhio_blob_requests_total{result}` (served requests). */
export type RequestResult =
  | 'ok'
  | 'not-found'
  | 'busy'
  | 'bad-request'
  | 'unsupported'
  | 'too-large'
  | 'corrupt'
  | 'cancelled'
  | 'error'

export class BlobMetrics {
  readonly bytes: Counter<'direction'>
  readonly transfersActive: Gauge
  readonly verifyFailures: Counter
  readonly requests: Counter<'result'>
  readonly downloads: DownloadCounter | undefined

  constructor(registry: Registry, opts: { downloads?: DownloadCounter } = {}) {
    const registers = [registry]
    this.downloads = opts.downloads
    this.bytes = new Counter({
      name: 'rhio_blob_bytes_total',
      help: 'Blob data bytes: in = verified and stored by transfers, out = response bytes served',
      labelNames: ['direction'],
      registers,
    })
    this.transfersActive = new Gauge({
      name: 'rhio_blob_transfers_active',
      help: 'Blob transfers downloading or completing right now',
      registers,
    })
    this.verifyFailures = new Counter({
      name: 'rhio_blob_verify_failures_total',
      help: 'Blob responses from peers that failed BLAKE3/bao verification',
      registers,
    })
    this.requests = new Counter({
      name: 'rhio_blob_requests_total',
      help: 'Blob range requests served, by result',
      labelNames: ['result'],
      registers,
    })
  }

  download(result: 'done' | 'error', localBucket: string, remoteBucket: string): void {
    this.downloads?.inc({
      msg_type: result,
      local_bucket: localBucket,
      remote_bucket: remoteBucket,
    })
  }
}

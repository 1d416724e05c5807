/**
 * Prometheus metrics on an injected prom-client Registry (never the global
 * one). The original rhio's metric names and labels are kept; components add
 * their own metrics to the same registry.
 */
import { collectDefaultMetrics, Counter, type Registry } from 'prom-client'

/** Metric and label names of the original rhio (`rhio/src/metrics.rs`). */
export const METRIC = {
  MESSAGE_RECEIVE_TOTAL: 'message_receive_total',
  BLOBS_DOWNLOAD_TOTAL: 'blobs_download_total',
} as const

export const LABEL = {
  SOURCE: 'source',
  MSG_TYPE: 'msg_type',
  SUBJECT: 'subject',
  REMOTE_BUCKET: 'remote_bucket',
  LOCAL_BUCKET: 'local_bucket',
} as const

/** Label values of the original. */
export const LABEL_VALUE = {
  SOURCE_NATS: 'nats',
  SOURCE_NETWORK: 'network',
  SOURCE_BLOBS: 'blob',
  MSG_TYPE_NATS_MESSAGE: 'nats_message',
  MSG_TYPE_BLOB_ANNOUNCEMENT: 'blob_announcement',
  MSG_TYPE_DONE: 'done',
  MSG_TYPE_ERROR: 'error',
} as const

export interface RhioMetrics {
  readonly registry: Registry
  /**
   * `message_receive_total{source="nats",subject}`: a local message about to be replicated;
   * `{source="network",msg_type="nats_message",subject}`: a remote message accepted;
   * `{source="network",msg_type="blob_announcement",remote_bucket}`: a blob announcement accepted.
   */
  readonly messageReceiveTotal: Counter<'source' | 'msg_type' | 'subject' | 'remote_bucket'>
  /** `blobs_download_total{msg_type="done"|"error",local_bucket,remote_bucket}`. */
  readonly blobsDownloadTotal: Counter<'msg_type' | 'local_bucket' | 'remote_bucket'>
}

export interface CreateMetricsOptions {
  /** Register Node process metrics (CPU, memory, event loop, handles). Default true. */
  processMetrics?: boolean
}

export function createMetrics(registry: Registry, opts: CreateMetricsOptions = {}): RhioMetrics {
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry })
  return {
    registry,
    messageReceiveTotal: new Counter({
      name: METRIC.MESSAGE_RECEIVE_TOTAL,
      help: 'Messages received: from local NATS (source=nats) or accepted from the network (source=network)',
      labelNames: [LABEL.SOURCE, LABEL.MSG_TYPE, LABEL.SUBJECT, LABEL.REMOTE_BUCKET] as const,
      registers: [registry],
    }),
    blobsDownloadTotal: new Counter({
      name: METRIC.BLOBS_DOWNLOAD_TOTAL,
      help: 'Blob downloads finished (msg_type=done) or aborted (msg_type=error)',
      labelNames: [LABEL.MSG_TYPE, LABEL.LOCAL_BUCKET, LABEL.REMOTE_BUCKET] as const,
      registers: [registry],
    }),
  }
}

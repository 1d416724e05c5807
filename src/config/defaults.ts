/**
 * Default values of every configuration key, each with its reason. The schema
 * (schema.ts) applies them; docs/CONFIG.md and config.example.yaml state them.
 */

const MiB = 1024 * 1024

export const DEFAULTS = {
  /** p2p port of the original rhio. */
  bind_port: 9102,
  /** HTTP port of the original rhio (its Helm chart and operator use 8080). */
  http_bind_port: 3000,
  /** Listen on every IPv4 interface, like the original. */
  bind_host: '0.0.0.0',
  http_bind_host: '0.0.0.0',
  /** The original's default network id; nodes only talk within the same id. */
  network_id: 'rhio-default-network-1',
  /** The original's default key file, relative to the working directory. */
  private_key_path: 'private.key',
  /** Local cache (forwarding cache, temp files); losing it is harmless. */
  data_dir: 'rhio-data',
  /** The original's default: a NATS server on the same machine. */
  nats_endpoint: 'localhost:4222',
  /** The original polls S3 buckets once a minute. */
  s3_watcher_poll_interval_millis: 60_000,
  /** p2panda's defaults the original fell back to when `protocol` was absent. */
  protocol_poll_interval_seconds: 3,
  protocol_resync_interval_seconds: 60,
  /** The original re-resolves `nodes` endpoints every 5 s. */
  discovery_query_interval_seconds: 5,
  discovery_mdns: false,
  access_policy: 'open' as 'open' | 'known',
  /** Durable state in JetStream KV survives pod restarts without volumes. */
  state_backend: 'nats' as 'nats' | 'dir',
  state_kv_bucket: 'rhio-state',
  limits: {
    /** Larger than NATS' default max_payload (1 MiB) with room for big configured servers. */
    max_entry_bytes: 8 * MiB,
    /** One entry plus framing and proof overhead. */
    max_frame_bytes: 16 * MiB,
    /**
     * Hello and sync request frames (what a peer sends unasked): a real one is
     * a few KiB (a hello of 2000 subscriptions fits), and every open request
     * stream may buffer this much, so it stays small.
     */
    max_request_bytes: 256 * 1024,
    /** Peers send requests and hellos at once; 10 s covers slow links and busy nodes. */
    request_timeout_millis: 10_000,
    /** Bounds the memory of one signed batch. */
    max_batch_entries: 1024,
    max_connections: 256,
    /** p2panda-net's limit in the original: 128 concurrent sync sessions. */
    max_sync_sessions: 128,
    /** A quarter of them per peer, so one peer cannot take every session. */
    max_sync_sessions_per_peer: 32,
    /** Sync sessions plus hello, identify and blob streams, with room (yamux allows 1000). */
    max_streams_per_connection: 256,
    max_blob_requests: 16,
    /**
     * Most bytes a peer may send on one stream ahead of what is read (the Yamux receive
     * window's ceiling). One stream moves at most this much per round trip (1 MiB per 20 ms
     * is ~50 MB/s), and a blob transfer buffers about this much while the local store is
     * slower than the link; 4 MiB cost the 1 GiB transfer ~8 MiB more RSS (mean) at no speed gain
     * on a LAN.
     */
    stream_window_bytes: 1 * MiB,
  },
  relay: {
    /** Relaying is opt-in: a node relays nothing for others unless configured to. */
    serve: false,
    /** Nodes that do not configure relays work exactly as before (no relay transport). */
    reserve: 'never' as 'never' | 'auto' | 'always',
    /** @libp2p/circuit-relay-v2's default. */
    max_reservations: 15,
    /** A reservation is refreshed before it ends; an hour bounds stale slots. */
    reservation_ttl_seconds: 3600,
    /** Relayed connections (hop streams, open for a circuit's life) a peer may have at once over one connection to the relay. */
    max_circuits_per_connection: 16,
    /** After this a relayed connection is closed and dialled again (the dialer does that). */
    circuit_duration_seconds: 600,
    /** Bytes a relayed connection may carry each way before it is closed and dialled again. */
    circuit_bytes: 256 * MiB,
    /** Reservation and circuit requests of one peer per minute; more are refused and penalised. */
    max_requests_per_minute: 30,
  },
  blobs: {
    /** A multiple of the 16 KiB chunk group and above S3's 5 MiB minimum part size. */
    part_size_bytes: 8 * MiB,
    max_concurrent_transfers: 4,
    parts_in_flight: 4,
  },
} as const

/** BLAKE3/bao chunk group: S3 parts must end on a group boundary. */
export const CHUNK_GROUP_BYTES = 16 * 1024
/** S3's smallest allowed multipart part (except the last). */
export const S3_MIN_PART_BYTES = 5 * MiB
/** S3's largest allowed multipart part. */
export const S3_MAX_PART_BYTES = 5 * 1024 * MiB

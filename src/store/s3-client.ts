import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import {
  S3_CONNECT_TIMEOUT_MS,
  S3_MAX_ATTEMPTS,
  S3_MAX_SOCKETS,
  S3_SOCKET_TIMEOUT_MS,
} from './constants.js'

/** The `s3` block of rhio's config (same keys as the original rhio). */
export interface S3EndpointConfig {
  /** e.g. `http://localhost:9000`; buckets are addressed path-style under it. */
  endpoint: string
  /** Any string the server accepts (`us-east-1`, `garage`, ...); part of the signature. */
  region: string
  /**
   * Static credentials. When absent the SDK's default chain is used
   * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity, shared files).
   */
  credentials?: { access_key: string; secret_key: string }
}

export type S3Logger = NonNullable<S3ClientConfig['logger']>

export interface S3ClientOptions {
  /** Attempts per request including the first; default S3_MAX_ATTEMPTS. */
  maxAttempts?: number
  /** Default S3_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number
  /** Socket inactivity limit; default S3_SOCKET_TIMEOUT_MS. */
  socketTimeoutMs?: number
  /** Keep-alive sockets per endpoint; default S3_MAX_SOCKETS. */
  maxSockets?: number
  /** Receives the SDK's own log lines; silent by default (the stores report errors themselves). */
  logger?: S3Logger
}

const SILENT: S3Logger = { debug() {}, info() {}, warn() {}, error() {} }

/**
 * An S3 client for any S3-compatible server (AWS, Ceph, Garage, MinIO,
 * s3rver): path-style addressing, plain SigV4 requests without the SDK's
 * optional extras that such servers may not implement (flexible checksums,
 * aws-chunked uploads, `Expect: 100-continue`, S3 Express sessions), bounded
 * timeouts and retries, and a keep-alive agent with room for parallel parts.
 */
export function createS3Client(cfg: S3EndpointConfig, opts: S3ClientOptions = {}): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: opts.maxSockets ?? S3_MAX_SOCKETS }
  const config: S3ClientConfig = {
    endpoint: cfg.endpoint,
    region: cfg.region,
    forcePathStyle: true,
    maxAttempts: opts.maxAttempts ?? S3_MAX_ATTEMPTS,
    retryMode: 'standard',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    disableS3ExpressSessionAuth: true,
    expectContinueHeader: false,
    logger: opts.logger ?? SILENT,
    requestHandler: {
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      connectionTimeout: opts.connectTimeoutMs ?? S3_CONNECT_TIMEOUT_MS,
      socketTimeout: opts.socketTimeoutMs ?? S3_SOCKET_TIMEOUT_MS,
    },
  }
  if (cfg.credentials) {
    config.credentials = {
      accessKeyId: cfg.credentials.access_key,
      secretAccessKey: cfg.credentials.secret_key,
    }
  }
  return new S3Client(config)
}

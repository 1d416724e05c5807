/**
 * What tests use from an S3 server, whichever server it is: s3rver (S3Server,
 * a fake S3 from npm, quick to start) or a Ceph RADOS Gateway (RgwGateway, a
 * real S3 implementation; see ceph-rgw.ts). A test that is about replication
 * takes an S3Factory so it can run on either; a test that is about s3rver
 * keeps using S3Server directly.
 */
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3'
import type { S3EndpointConfig } from '../../src/store/s3-client.js'

/** rhio's `s3` config block, with the static credentials tests always use. */
export type S3TestConfig = Required<S3EndpointConfig>

export interface S3Endpoint extends AsyncDisposable {
  /** For logs. */
  readonly name: string
  /** `http://127.0.0.1:PORT` (path-style addressing under it). */
  readonly endpoint: string
  /** The `s3` config block for this server (rhio's config shape). */
  readonly config: S3TestConfig
  readonly running: boolean
  /** (Re)starts the server; after the first start it keeps its port and data. */
  start(): Promise<void>
  /** Graceful stop; data stays for a later `start()`. */
  stop(): Promise<void>
  /** Hard stop (SIGKILL): an S3 outage; data stays for a later `start()`. */
  kill(): Promise<void>
  /** Creates an empty bucket (the server must be running). */
  createBucket(name: string): Promise<void>
  /** Ids of the multipart uploads still open in `bucket`. */
  openUploads(bucket: string): Promise<string[]>
  /** Whether AbortMultipartUpload removes an upload (s3rver cannot abort uploads). */
  readonly abortsUploads: boolean
}

export interface S3EndpointOptions {
  /** For logs (and, for RGW, part of the gateway's and tenant's names). */
  name?: string
  /** Buckets to create at start. */
  buckets?: string[]
}

/** Starts one S3 namespace of its own (own buckets) for a test or a simulated site. */
export type S3Factory = (opts?: S3EndpointOptions) => Promise<S3Endpoint>

/** ListMultipartUploads, every page (real S3 servers have it; s3rver does not). */
export async function listOpenUploads(client: S3Client, bucket: string): Promise<string[]> {
  const ids: string[] = []
  let keyMarker: string | undefined
  let uploadIdMarker: string | undefined
  for (;;) {
    const page = await client.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      }),
    )
    for (const u of page.Uploads ?? []) if (u.UploadId !== undefined) ids.push(u.UploadId)
    if (!page.IsTruncated) return ids
    keyMarker = page.NextKeyMarker
    uploadIdMarker = page.NextUploadIdMarker
  }
}

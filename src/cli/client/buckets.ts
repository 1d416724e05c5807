/**
 * `rhio client bucket add NAME` and `rhio client bucket ls`: buckets of the
 * node's local store. rhio itself never creates buckets; the demo and a new
 * user need one. On the directory store a bucket is a subdirectory of
 * `<data_dir>/buckets`.
 */
import { readdir } from 'node:fs/promises'
import { CreateBucketCommand, ListBucketsCommand } from '@aws-sdk/client-s3'
import type { Config } from '../../config/index.js'
import { localStoreRoot } from '../../store/factory.js'
import { DirObjectStore, createS3Client } from '../../store/index.js'
import { errno, mapFsError } from '../../store/dir-paths.js'
import { mapS3Error } from '../../store/s3-errors.js'
import { s3BucketNameProblem } from '../../store/bucket-name.js'
import type { ClientContext } from './context.js'
import { ClientErrorCode, clientError } from './errors.js'
import { withStore } from './context.js'

type S3Config = NonNullable<Config['s3']>

export async function bucketAdd(name: string, ctx: ClientContext): Promise<void> {
  const problem = ctx.config.s3 ? undefined : s3BucketNameProblem(name)
  if (problem !== undefined) {
    throw clientError(
      ClientErrorCode.BUCKET_NAME_INVALID,
      `bucket name ${JSON.stringify(name)} ${problem} (S3's rules, kept by the directory store too)`,
    )
  }
  const exists = await withStore(ctx.config, (store) =>
    store.bucketExists(name, { signal: ctx.signal }),
  )
  const where = ctx.config.s3 ? ctx.config.s3.endpoint : localStoreRoot(ctx.config)
  if (exists) {
    ctx.io.out(`bucket ${name} exists (${where})\n`)
    return
  }
  if (ctx.config.s3) await createS3Bucket(ctx.config.s3, name, ctx.signal)
  else await new DirObjectStore({ root: localStoreRoot(ctx.config) }).createBucket(name)
  ctx.io.out(`bucket ${name} created (${where})\n`)
}

async function createS3Bucket(s3: S3Config, name: string, signal: AbortSignal): Promise<void> {
  const client = createS3Client(s3)
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }), { abortSignal: signal })
  } catch (err) {
    const mapped = mapS3Error(err, `cannot create bucket ${name}`, signal)
    // Created meanwhile by us (a retried request) is fine.
    if (!(err instanceof Error && err.name === 'BucketAlreadyOwnedByYou')) throw mapped
  } finally {
    client.destroy()
  }
}

export async function bucketList(ctx: ClientContext): Promise<void> {
  const names = ctx.config.s3
    ? await listS3Buckets(ctx.config.s3, ctx.signal)
    : await listDirBuckets(localStoreRoot(ctx.config))
  names.sort()
  ctx.io.out(names.length === 0 ? '(no buckets)\n' : `${names.join('\n')}\n`)
}

async function listS3Buckets(s3: S3Config, signal: AbortSignal): Promise<string[]> {
  const client = createS3Client(s3)
  try {
    const r = await client.send(new ListBucketsCommand({}), { abortSignal: signal })
    return (r.Buckets ?? []).flatMap((b) => (b.Name === undefined ? [] : [b.Name]))
  } catch (err) {
    throw mapS3Error(err, 'cannot list buckets', signal)
  } finally {
    client.destroy()
  }
}

async function listDirBuckets(root: string): Promise<string[]> {
  try {
    const entries = await readdir(root, { withFileTypes: true })
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name)
  } catch (err) {
    if (errno(err) === 'ENOENT') return [] // no bucket made yet
    throw mapFsError(err, `cannot list buckets in ${root}`)
  }
}

/**
 * FileFrameStore throughput against baselines measured in the same run (run by
 * hand: `node scripts/build.mjs && node dist/bench/frame-store.js`).
 * BENCH_SMALL sets the number of small batches (default 50 000), BENCH_LARGE_MIB
 * the MiB of large batches (default 256), BENCH_DIR the directory (default the
 * OS temp dir; on a machine with free RAM the page cache absorbs the writes, so
 * this measures the store's own cost rather than the disk).
 *
 * - small appends: 1-entry batches (100 B payload), each awaited before the
 *   next as AuthorLog does; vs MemoryFrameStore and vs a synchronous write(2)
 *   of the same record bytes (the floor for one write per append)
 * - large appends: 1 MiB batches (1024 x 1 KiB entries); vs `FileHandle.write`
 * - catch-up: `read(1)` with the tail cache off (every batch from disk,
 *   checksummed and decoded); vs sequential `FileHandle.read` of the files
 * - open: reopening the log (scans the newest segment)
 *
 * Each measurement runs twice, alternating with its baseline; the best is kept.
 */
import { writeSync } from 'node:fs'
import { mkdtemp, open, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryFrameStore, type FrameStore, type StoredBatch } from '../src/log/frame-store.js'
import { FileFrameStore, type FileFrameStoreInit } from '../src/log/file-frame-store.js'
import { encodeBatchRecord } from '../src/log/segment-format.js'
import { logInfo, makeBatch } from '../test/helpers/batches.js'

const SMALL = Number(process.env.BENCH_SMALL ?? 50_000)
const LARGE_MIB = Number(process.env.BENCH_LARGE_MIB ?? 256)
const info = logInfo()

function batches(count: number, entries: number, payload: number): StoredBatch[] {
  return Array.from({ length: count }, (_, i) => makeBatch(1 + i * entries, entries, { payload }))
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return (performance.now() - t0) / 1000
}

async function appendAll(store: FrameStore, list: StoredBatch[]): Promise<number> {
  return timed(async () => {
    for (const b of list) await store.append(b)
  })
}

/** One write per record: synchronous write(2) (as the store does for small records) or the thread pool. */
async function rawWrites(path: string, records: Uint8Array[], sync: boolean): Promise<number> {
  const fh = await open(path, 'a')
  try {
    return await timed(async () => {
      for (const r of records) {
        if (sync) {
          writeSync(fh.fd, r)
          await Promise.resolve()
        } else await fh.write(r)
      }
    })
  } finally {
    await fh.close()
  }
}

async function rawRead(dir: string): Promise<number> {
  const buf = new Uint8Array(256 * 1024)
  return timed(async () => {
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort()) {
      const fh = await open(join(dir, name), 'r')
      while ((await fh.read(buf, 0, buf.length, null)).bytesRead > 0);
      await fh.close()
    }
  })
}

async function readAll(store: FrameStore): Promise<number> {
  let n = 0
  const s = await timed(async () => {
    for await (const b of store.read(1)) n += b.batch.items.length
  })
  if (n === 0) throw new Error('nothing read')
  return s
}

function fmt(n: number, unit: string): string {
  return `${n >= 100 ? n.toFixed(0) : n.toFixed(1)} ${unit}`
}

async function run(root: string): Promise<void> {
  const init = (name: string): FileFrameStoreInit => ({
    dir: join(root, name),
    info,
    maxBytes: 64 * 1024 ** 3,
    tailCacheBytes: 0,
  })
  console.log(`preparing ${SMALL} small and ${LARGE_MIB} large batches…`)
  const small = batches(SMALL, 1, 100)
  const large = batches(LARGE_MIB, 1024, 1024 - 60)
  const smallRecords = small.map(encodeBatchRecord)
  const largeRecords = large.map(encodeBatchRecord)
  const largeBytes = largeRecords.reduce((n, r) => n + r.length, 0)
  const best = { file: Infinity, mem: Infinity, raw: Infinity, large: Infinity, rawLarge: Infinity }
  const read = { small: Infinity, large: Infinity, rawSmall: Infinity, rawLarge: Infinity }
  const opened = { small: Infinity, large: Infinity }
  for (let r = 0; r < 2; r++) {
    await rm(join(root, `s${r}`), { recursive: true, force: true })
    best.raw = Math.min(best.raw, await rawWrites(join(root, `raw-small-${r}`), smallRecords, true))
    const s = await FileFrameStore.open(init(`s${r}`))
    best.file = Math.min(best.file, await appendAll(s, small))
    await s.close()
    best.mem = Math.min(best.mem, await appendAll(new MemoryFrameStore(info), small))
    best.rawLarge = Math.min(
      best.rawLarge,
      await rawWrites(join(root, `raw-large-${r}`), largeRecords, false),
    )
    const l = await FileFrameStore.open(init(`l${r}`))
    best.large = Math.min(best.large, await appendAll(l, large))
    await l.close()
  }
  for (let r = 0; r < 2; r++) {
    for (const [kind, dir] of [
      ['small', 's0'],
      ['large', 'l0'],
    ] as const) {
      let store: FileFrameStore | undefined
      const t = await timed(async () => {
        store = await FileFrameStore.open(init(dir))
      })
      opened[kind] = Math.min(opened[kind], t)
      read[kind] = Math.min(read[kind], await readAll(store!))
      await store!.close()
      const rawKey = kind === 'small' ? 'rawSmall' : 'rawLarge'
      read[rawKey] = Math.min(read[rawKey], await rawRead(join(root, dir)))
    }
  }
  const mb = largeBytes / 1e6
  console.log(`\nsmall appends (1 entry, 100 B payload, ${smallRecords[0]!.length} B records):`)
  console.log(`  FileFrameStore       ${fmt(SMALL / best.file, 'batches/s')}`)
  console.log(`  MemoryFrameStore     ${fmt(SMALL / best.mem, 'batches/s')}`)
  console.log(`  raw writeSync        ${fmt(SMALL / best.raw, 'writes/s')}`)
  console.log(`  ratio file/raw       ${(best.raw / best.file).toFixed(2)}`)
  console.log(`large appends (1 MiB batches, ${fmt(mb, 'MB')}):`)
  console.log(`  FileFrameStore       ${fmt(mb / best.large, 'MB/s')}`)
  console.log(`  raw FileHandle.write ${fmt(mb / best.rawLarge, 'MB/s')}`)
  console.log(`  ratio file/raw       ${(best.rawLarge / best.large).toFixed(2)}`)
  console.log('catch-up read from disk (tail cache off):')
  console.log(
    `  small: ${fmt(SMALL / read.small, 'batches/s')} (raw read of the files ${fmt(read.rawSmall * 1000, 'ms')}, store ${fmt(read.small * 1000, 'ms')})`,
  )
  console.log(
    `  large: ${fmt(mb / read.large, 'MB/s')} (raw read ${fmt(mb / read.rawLarge, 'MB/s')})`,
  )
  console.log(
    `open: small log ${fmt(opened.small * 1000, 'ms')}, large log ${fmt(opened.large * 1000, 'ms')}`,
  )
}

const root = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'rhio-bench-frames-'))
try {
  await run(root)
} finally {
  await rm(root, { recursive: true, force: true })
}

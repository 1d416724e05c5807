// Benchmark of the blob format code against hash-wasm's BLAKE3 on the same buffer, same run:
//   - outboard creation (computeOutboard, async, 1 MiB pieces) and verified decode (BaoDecoder
//     fed 64 KiB pieces, as from a network stream), target >= 1.0x hash-wasm;
//   - a generated 4 GiB stream through computeOutboard: RSS growth (target <= 64 MiB) and the
//     longest event-loop stall.
// Appends the run to bench/RESULTS.md. Usage: node scripts/build.mjs && node --expose-gc dist/bench/bao.js
import { execSync } from 'node:child_process'
import { appendFileSync, existsSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createBLAKE3 } from 'hash-wasm'
import {
  BaoDecoder,
  ChunkRanges,
  OutboardBuilder,
  blake3,
  computeOutboard,
  createBlake3Backend,
  encodeRanges,
  jsBackend,
} from '../src/bao/index.js'

const MiB = 1024 * 1024
// BAO_BENCH_SMOKE=1: tiny sizes to check the script runs; nothing is recorded.
const SMOKE = process.env.BAO_BENCH_SMOKE === '1'
const SIZE = (SMOKE ? 8 : 256) * MiB
const STREAM = (SMOKE ? 64 : 4096) * MiB
const REPS = SMOKE ? 1 : 3

function fill(buf: Uint8Array, seed: number): void {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2)
  let x = seed | 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    words[i] = x
  }
}

function* slices(buf: Uint8Array, piece: number): Generator<Uint8Array> {
  for (let o = 0; o < buf.length; o += piece) yield buf.subarray(o, o + piece)
}

function gc(): void {
  ;(globalThis as { gc?: () => void }).gc?.()
}

/** Median wall time in ms of `reps` runs of `fn`. */
async function timeIt(fn: () => unknown, reps = REPS): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < reps; i++) {
    gc()
    const t = performance.now()
    await fn()
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]!
}

const mbs = (bytes: number, ms: number): number => bytes / ms / 1000

async function streamRun(): Promise<{ mbps: number; rssGrowth: number; maxStallMs: number }> {
  gc()
  const pool = Array.from({ length: 8 }, (_, i) => {
    const b = new Uint8Array(MiB)
    fill(b, i + 100)
    return b
  })
  gc()
  const base = process.memoryUsage().rss
  let peak = base
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  const delay = monitorEventLoopDelay({ resolution: 5 })
  delay.enable()
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < STREAM / MiB; i++) {
      const b = pool[i % pool.length]!
      new DataView(b.buffer).setUint32(0, i) // every piece differs
      yield b
    }
  }
  const t = performance.now()
  const r = await computeOutboard(source())
  const ms = performance.now() - t
  delay.disable()
  clearInterval(sampler)
  peak = Math.max(peak, process.memoryUsage().rss)
  if (r.size !== STREAM || r.outboard.length !== 64 * (STREAM / 16384 - 1))
    throw new Error('bad stream result')
  return { mbps: mbs(STREAM, ms), rssGrowth: (peak - base) / MiB, maxStallMs: delay.max / 1e6 }
}

async function main(): Promise<void> {
  const backend = createBlake3Backend()
  console.log(`backend: ${backend.kind}${backend.note === undefined ? '' : ` (${backend.note})`}`)

  // 4 GiB first, before the 256 MiB buffer exists, so RSS growth is the stream's alone.
  const stream = await streamRun()
  console.log(
    `4 GiB stream: ${stream.mbps.toFixed(0)} MB/s, RSS growth ${stream.rssGrowth.toFixed(1)} MiB, longest event-loop stall ${stream.maxStallMs.toFixed(1)} ms`,
  )

  const data = new Uint8Array(SIZE)
  fill(data, 7)
  const hw = await createBLAKE3()
  const hashWasm = (): void => {
    hw.init()
    for (const s of slices(data, MiB)) hw.update(s)
    hw.digest('binary')
  }
  const outboard = (): Promise<unknown> => computeOutboard(slices(data, MiB), { backend })
  const ob = new OutboardBuilder({ backend }).update(data).finish()
  if (Buffer.compare(Buffer.from(ob.hash), Buffer.from(blake3(data))) !== 0)
    throw new Error('hash mismatch')
  const src = {
    hash: ob.hash,
    size: SIZE,
    outboard: ob.outboard,
    readData: async function* (offset: number, length: number): AsyncGenerator<Uint8Array> {
      yield* slices(data.subarray(offset, offset + length), MiB)
    },
  }
  const encode = async (): Promise<Uint8Array[]> => {
    const parts: Uint8Array[] = []
    for await (const p of encodeRanges(src, ChunkRanges.all(), { backend })) parts.push(p)
    return parts
  }
  const encoded = await encode()
  const decode = (): void => {
    const d = new BaoDecoder(ob.hash, ChunkRanges.all(), { backend })
    let n = 0
    for (const p of encoded) {
      d.push(p)
      for (let e = d.next(); e !== undefined; e = d.next())
        if (e.type === 'leaf') n += e.data.length
    }
    if (!d.done || n !== SIZE) throw new Error('decode incomplete')
  }
  // warm up every path (JIT tier-up) on the real buffer once
  hashWasm()
  await outboard()
  decode()

  const tHw = await timeIt(hashWasm)
  const tOb = await timeIt(outboard)
  const tEnc = await timeIt(encode)
  const tDec = await timeIt(decode)
  const tHw2 = await timeIt(hashWasm)
  const hwMbs = (mbs(SIZE, tHw) + mbs(SIZE, tHw2)) / 2

  const small = data.subarray(0, Math.min(SIZE, 32 * MiB))
  const jsOb = await timeIt(() =>
    new OutboardBuilder({ backend: jsBackend }).update(small).finish(),
  )

  const row = (name: string, ms: number, bytes = SIZE): string => {
    const v = mbs(bytes, ms)
    return `| ${name} | ${v.toFixed(0)} MB/s | ${(v / hwMbs).toFixed(2)}x |`
  }
  const commit = execSync('git rev-parse --short HEAD').toString().trim()
  const dirty = execSync('git status --porcelain --untracked-files=no').toString().trim() !== ''
  const cpu = os.cpus()
  const lines = [
    `## bao — ${new Date().toISOString()}`,
    '',
    `machine: ${cpu[0]?.model ?? '?'} x${cpu.length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform}/${process.arch}, Node ${process.version}; commit ${commit}${dirty ? ' (+local changes)' : ''}; backend ${backend.kind}; median of ${REPS}, ${SIZE / MiB} MiB buffer`,
    '',
    '| what | throughput | vs hash-wasm |',
    '|---|---|---|',
    `| hash-wasm BLAKE3 (baseline, mean of two) | ${hwMbs.toFixed(0)} MB/s | 1.00x |`,
    row('outboard creation (computeOutboard, 1 MiB pieces)', tOb),
    row('verified decode (BaoDecoder, 64 KiB pieces)', tDec),
    row('validated encode (encodeRanges, all ranges)', tEnc),
    row(`outboard creation, plain-TS path (${small.length / MiB} MiB)`, jsOb, small.length),
    '',
    `${STREAM / MiB / 1024} GiB generated stream through computeOutboard: ${stream.mbps.toFixed(0)} MB/s, RSS growth ${stream.rssGrowth.toFixed(1)} MiB (target <= 64), longest event-loop stall ${stream.maxStallMs.toFixed(1)} ms`,
    '',
  ]
  const text = lines.join('\n')
  console.log(text)
  if (SMOKE) return
  const results = new URL('../../bench/RESULTS.md', import.meta.url)
  if (!existsSync(results))
    writeFileSync(results, '# Benchmark results\n\nOne section per run, newest last.\n\n')
  appendFileSync(results, text + '\n')
}

await main()

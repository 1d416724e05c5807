/**
 * Loads the WASM SIMD fast path (built from assembly/blake3.ts into dist/wasm/blake3.wasm) and
 * wraps it as a Blake3Backend. This is the one module of src/bao that touches the file system,
 * once, when a backend is created.
 */
import { readFileSync } from 'node:fs'
import { debuglog } from 'node:util'
import { type Blake3Backend, groupCount, jsBackend, jsFallback } from './backend.js'
import { CHUNK_LEN, OUT_LEN, leftLen } from './blake3-core.js'

/** Where the build puts the module, relative to this file once compiled (dist/src/bao/). */
export const DEFAULT_WASM_URL = new URL('../../wasm/blake3.wasm', import.meta.url)

// The WebAssembly global is in Node 20 but not in the type libraries this project loads.
interface WasmGlobal {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: unknown }
}
const wasm = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly

interface Blake3Exports {
  memory: { buffer: ArrayBuffer }
  inputPtr(): number
  outputPtr(): number
  capacity(): number
  subtreeCv(len: number, startChunk: number, isRoot: number): void
  groupCvs(len: number, startChunk: number, groupLog: number): number
  parentCv(isRoot: number): void
}

class WasmBackend implements Blake3Backend {
  readonly kind = 'wasm-simd'
  readonly note = undefined
  readonly #x: Blake3Exports
  readonly #mem: Uint8Array
  readonly #in: number
  readonly #out: number
  readonly #cap: number

  constructor(x: Blake3Exports) {
    this.#x = x
    // The module sizes its memory once at instantiation and never grows it, so this view stays valid.
    this.#mem = new Uint8Array(x.memory.buffer)
    this.#in = x.inputPtr()
    this.#out = x.outputPtr()
    this.#cap = x.capacity()
  }

  subtreeCv(data: Uint8Array, startChunk: number, isRoot: boolean): Uint8Array {
    if (data.length <= this.#cap) {
      this.#mem.set(data, this.#in)
      this.#x.subtreeCv(data.length, startChunk, isRoot ? 1 : 0)
      return this.#mem.slice(this.#out, this.#out + OUT_LEN)
    }
    const l = leftLen(data.length)
    const pair = new Uint8Array(64)
    pair.set(this.subtreeCv(data.subarray(0, l), startChunk, false), 0)
    pair.set(this.subtreeCv(data.subarray(l), startChunk + l / CHUNK_LEN, false), 32)
    const out = new Uint8Array(OUT_LEN)
    this.parentCv(pair, 0, isRoot, out, 0)
    return out
  }

  hashParts(parts: readonly Uint8Array[], total: number): Uint8Array | undefined {
    if (total > this.#cap) return undefined
    let at = this.#in
    for (const p of parts) {
      this.#mem.set(p, at)
      at += p.length
    }
    this.#x.subtreeCv(total, 0, 1)
    return this.#mem.slice(this.#out, this.#out + OUT_LEN)
  }

  groupCvs(
    data: Uint8Array,
    startChunk: number,
    blockLog: number,
    out: Uint8Array,
    outOffset: number,
  ): number {
    const groupBytes = CHUNK_LEN << blockLog
    const piece = Math.floor(this.#cap / groupBytes) * groupBytes
    const groups = groupCount(data.length, blockLog)
    for (let off = 0, g = 0; g < groups; off += piece) {
      const part = data.subarray(off, off + piece)
      this.#mem.set(part, this.#in)
      const n = this.#x.groupCvs(part.length, startChunk + (g << blockLog), blockLog)
      out.set(this.#mem.subarray(this.#out, this.#out + n * OUT_LEN), outOffset + g * OUT_LEN)
      g += n
    }
    return groups
  }

  parentCv(
    pair: Uint8Array,
    pairOffset: number,
    isRoot: boolean,
    out: Uint8Array,
    outOffset: number,
  ): void {
    this.#mem.set(pair.subarray(pairOffset, pairOffset + 64), this.#in)
    this.#x.parentCv(isRoot ? 1 : 0)
    out.set(this.#mem.subarray(this.#out, this.#out + OUT_LEN), outOffset)
  }
}

/** Instantiates the fast path; throws when the module is missing or the platform lacks SIMD. */
export function loadWasmBackend(url: URL = DEFAULT_WASM_URL): Blake3Backend {
  const module = new wasm.Module(readFileSync(url))
  const instance = new wasm.Instance(module, {})
  return new WasmBackend(instance.exports as unknown as Blake3Exports)
}

export interface CreateBackendOptions {
  /** 'auto' (default): the fast path if it loads, else the reference. */
  readonly prefer?: 'auto' | 'wasm' | 'js'
  /** Location of blake3.wasm; default: next to the compiled sources. */
  readonly wasmUrl?: URL
  /** Receives the reason when 'auto' falls back to the plain-TS path. */
  readonly debug?: (message: string) => void
}

const debugNote = debuglog('rhio-bao')

/**
 * A backend per `opts.prefer`. With 'auto', a missing or unloadable WASM module falls back to
 * the plain-TS reference with a debug note (NODE_DEBUG=rhio-bao, or `opts.debug`), so a fresh
 * checkout without a WASM build still works. With 'wasm', failure to load throws.
 */
export function createBlake3Backend(opts: CreateBackendOptions = {}): Blake3Backend {
  const prefer = opts.prefer ?? 'auto'
  if (prefer === 'js') return jsBackend
  try {
    return loadWasmBackend(opts.wasmUrl)
  } catch (err) {
    if (prefer === 'wasm') throw err
    const note = `BLAKE3 WASM fast path unavailable, using plain TS: ${(err as Error).message}`
    ;(opts.debug ?? debugNote)(note)
    return jsFallback(note)
  }
}

let shared: Blake3Backend | undefined

/**
 * The process-wide default backend, created on first use. Stateless from the caller's view (each
 * call is synchronous and leaves nothing behind), so sharing one instance is safe; pass an
 * explicit backend in options where a component should own its own.
 */
export function defaultBlake3Backend(): Blake3Backend {
  shared ??= createBlake3Backend()
  return shared
}

/** The blob index in memory: hash → locations of complete blobs this node can serve. */
import { hashToHex, type BlobHash } from '../bao/index.js'
import type { BlobIndex, BlobLocation } from './types.js'

export class MemoryBlobIndex implements BlobIndex {
  readonly #byHash = new Map<string, BlobLocation[]>()

  lookup(hash: BlobHash): BlobLocation[] {
    return [...(this.#byHash.get(hashToHex(hash)) ?? [])]
  }

  /** Adds a location, or replaces the one with the same bucket and key (keeping its place). */
  add(hash: BlobHash, loc: BlobLocation): void {
    const id = hashToHex(hash)
    const list = this.#byHash.get(id) ?? []
    const at = list.findIndex((l) => l.bucket === loc.bucket && l.key === loc.key)
    if (at >= 0) list[at] = { ...loc }
    else list.push({ ...loc })
    this.#byHash.set(id, list)
  }

  remove(hash: BlobHash, bucket: string, key: string): void {
    const id = hashToHex(hash)
    const list = this.#byHash.get(id)
    if (!list) return
    const rest = list.filter((l) => l.bucket !== bucket || l.key !== key)
    if (rest.length === 0) this.#byHash.delete(id)
    else this.#byHash.set(id, rest)
  }

  /** Number of distinct hashes. */
  get size(): number {
    return this.#byHash.size
  }
}

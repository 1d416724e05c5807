/**
 * CRC-32 (IEEE 802.3, the zlib/PNG/gzip polynomial), used to detect torn and
 * damaged records in on-disk segment files. Not a security measure: records
 * are cache copies of batches whose authenticity is the author's signature.
 *
 * Why CRC-32: it catches every burst error up to 32 bits and random damage
 * with probability 1 - 2^-32, which is what a crash or a bad sector produces,
 * and `node:zlib` computes it natively (hardware-accelerated in the bundled
 * zlib) at several GB/s. `zlib.crc32` exists from Node 20.15 / 22.2; on older
 * Node 20 releases the table-driven fallback below computes the same value
 * (slower, ~0.3–0.5 GB/s, still far above disk speed for the tail checks).
 */
import * as zlib from 'node:zlib'

type Crc32Fn = (data: Uint8Array, value?: number) => number

const native: Crc32Fn | undefined = (zlib as { crc32?: Crc32Fn }).crc32

let table: Uint32Array | undefined

function makeTable(): Uint32Array {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
}

/** Table-driven CRC-32; `value` continues a previous CRC (0 to start). */
export function crc32Table(data: Uint8Array, value = 0): number {
  const t = (table ??= makeTable())
  let c = ~value
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

/** CRC-32 of `data` (continuing `value`), natively when Node provides it. */
export const crc32: Crc32Fn = native ? (data, value = 0): number => native(data, value) : crc32Table

/**
 * The 32-byte network id derived from the configured `network_id` string, as
 * the original (a hash of its UTF-8 bytes). It is bound into protocol ids and
 * into every signed batch header.
 */
import { digest } from './hash.js'

export function networkIdHash(networkId: string): Uint8Array {
  return digest(new TextEncoder().encode(networkId))
}

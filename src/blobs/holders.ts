/** Which connected peers may hold a blob of (author, remote bucket), best first. */
import { equalBytes } from '../core/codec.js'
import type { HelloService } from '../sync/hello.js'
import type { HolderFinder } from './types.js'

/**
 * Peers whose hello says they hold (author, 'blobs', [remoteBucket]): the author (which
 * publishes the bucket) first, then fellow subscribers, in a stable order.
 */
export function holdersFromHellos(hello: Pick<HelloService, 'list'>): HolderFinder {
  return (author, remoteBucket) => {
    const found = hello
      .list()
      .filter((p) =>
        p.hello.holds.some(
          (h) =>
            h.kind === 'blobs' && equalBytes(h.author, author) && h.filters.includes(remoteBucket),
        ),
      )
      .map((p) => p.peer)
    const rank = (id: Uint8Array): number => (equalBytes(id, author) ? 0 : 1)
    found.sort((a, b) => rank(a.publicKey) - rank(b.publicKey) || a.id.localeCompare(b.id))
    return found.map((p) => ({ id: p.id }))
  }
}

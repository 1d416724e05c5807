/**
 * Headers rhio adds to every message it writes into a subscriber's JetStream
 * (the successors of the original's X-Rhio-Signature / X-Rhio-PublicKey):
 *
 *   X-Rhio-PublicKey  hex of the original author's Ed25519 key (as the original)
 *   X-Rhio-Log        the author's log id (JSON, names stream and subject filter)
 *   X-Rhio-Seq        the entry's sequence number in that log (the author's stream sequence)
 *
 * and, as JetStream publish options, `Nats-Msg-Id` = hex entry id (Merkle leaf
 * hash; JetStream drops a second copy) and `Nats-Expected-Stream` = the
 * subscription's stream. Together about 250 bytes plus the log id's subject
 * and stream names: the receiving server's `max_payload` needs that much
 * headroom over the publishing site's (docs/OPERATIONS.md). An earlier
 * X-Rhio-Entry header repeated Nats-Msg-Id and was dropped to save 78 bytes.
 *
 * The authenticity proof (batch header + signature + multiproof) is not put into
 * every message: it is batch-wide and would bloat users' streams; nodes verify
 * before writing and keep the proofs in their frame caches to forward them.
 * Messages carrying X-Rhio-PublicKey or X-Rhio-Signature are never re-published
 * by the publish side (loop prevention, as the original).
 */
export const H_PUBLIC_KEY = 'X-Rhio-PublicKey'
export const H_LOG = 'X-Rhio-Log'
export const H_SEQ = 'X-Rhio-Seq'

/** Every header whose name starts with this (any case) is rhio's to write. */
const PREFIX = 'x-rhio-'

/** The headers without any `X-Rhio-*` one (an author cannot forge provenance). */
export function withoutProvenance(
  headers: ReadonlyArray<[string, string]>,
): Array<[string, string]> {
  return headers.filter(([name]) => !name.toLowerCase().startsWith(PREFIX))
}

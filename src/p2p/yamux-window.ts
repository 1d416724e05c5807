/**
 * Yamux window updates once 64 KiB (or half the window) is used, not after every data frame.
 *
 * @libp2p/yamux 8.0.x answers every data frame it receives with a WINDOW_UPDATE frame
 * (YamuxStream.handleData → sendWindowUpdate, which sends whenever any credit was used).
 * For rhio's traffic, many small frames (sync messages, batches, hellos), that doubles
 * the frames on the wire and every update costs an encryption, a socket write on this side
 * and a decryption on the other: in a CPU profile of a node flooded with small frames, 23 %
 * of its busy time went to these updates. Go's and Rust's yamux batch credit too (they grant
 * it once half the window is used, rust-yamux PR #109); here the step is 64 KiB, so a bulk
 * stream's window stays nearly full (granting at half cost one stream on a throttled link
 * ~15 % of its rate) while hundreds of small frames share one update. Frames
 * that must carry flags (SYN/ACK on a stream's first frames) and a resumed stream still go
 * through the library's own logic; growing the window over time is unchanged.
 *
 * Applied once, by createHost, to the class every yamux stream is made from.
 */
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'

interface WindowFields {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

/**
 * Credit goes back once this much is used (or half the window, if less). Small
 * enough that a bulk stream's window stays nearly full (granting only at half
 * cost a single stream on a throttled link ~15 % of its rate), large enough
 * that hundreds of small frames share one update.
 */
export const CREDIT_STEP_BYTES = 64 * 1024

let applied = false

/** Patches YamuxStream.prototype.sendWindowUpdate (idempotent). */
export function grantCreditInSteps(): void {
  if (applied) return
  applied = true
  const proto = YamuxStream.prototype
  const original = proto.sendWindowUpdate
  proto.sendWindowUpdate = function sendWindowUpdate(this: YamuxStream): void {
    const s = this as unknown as WindowFields
    // SYNSent, Established, Finished: the library would send no flags; Init and
    // SYNReceived must send SYN/ACK now; Paused is handled by the library
    const noFlags =
      s.state === StreamState.Established ||
      s.state === StreamState.SYNSent ||
      s.state === StreamState.Finished
    const threshold = Math.min(s.recvWindow / 2, CREDIT_STEP_BYTES)
    if (noFlags && s.recvWindow - s.recvWindowCapacity < threshold) return
    original.call(this)
  }
}

/** Whether the patch is in place (for tests). */
export function creditInSteps(): boolean {
  return applied
}

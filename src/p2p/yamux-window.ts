/**
 * Yamux window updates once half the receive window is used, not after every data frame.
 *
 * @libp2p/yamux 8.0.x answers every data frame it receives with a WINDOW_UPDATE frame
 * (YamuxStream.handleData → sendWindowUpdate, which sends whenever any credit was used).
 * For rhio's traffic, many small frames (sync messages, batches, hellos), that doubles
 * the frames on the wire and every update costs an encryption, a socket write on this side
 * and a decryption on the other: in a CPU profile of a node flooded with small frames, 23 %
 * of its busy time went to these updates. Go's and Rust's yamux grant credit once half the
 * window is used (rust-yamux PR #109); this does the same. A sender runs dry only after a
 * whole window, and the update goes out at half; on a throttled, buffering link one stream
 * then moves ~15 % less (credit in 64 KiB steps avoided that but stalled relay circuits
 * limited to 1 MiB; see docs/ARCHITECTURE.md). Frames
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

let applied = false

/** Patches YamuxStream.prototype.sendWindowUpdate (idempotent). */
export function grantCreditAtHalfWindow(): void {
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
    if (noFlags && s.recvWindow - s.recvWindowCapacity < s.recvWindow / 2) return
    original.call(this)
  }
}

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'
import { Uint8ArrayList } from 'uint8arraylist'
import { grantCreditAtHalfWindow } from '../../src/p2p/yamux-window.js'
import { silentComponentLog } from '../helpers/logs.js'

const DATA = 0
const WINDOW_UPDATE = 1
const SYN = 1
const ACK = 2
const WINDOW = 256 * 1024

interface SentFrame {
  type: number
  flag: number
  length: number
}

const log = silentComponentLog as unknown as ConstructorParameters<typeof YamuxStream>[0]['log']

/** A yamux stream whose frames are recorded instead of sent. */
function stream(state: StreamState): { s: YamuxStream; sent: SentFrame[] } {
  const sent: SentFrame[] = []
  const s = new YamuxStream({
    id: '1',
    streamId: 1,
    direction: 'inbound',
    log,
    state,
    getRTT: () => -1,
    sendFrame: (h) => {
      sent.push({ type: h.type, flag: h.flag, length: h.length })
      return true
    },
  })
  return { s, sent }
}

function receive(s: YamuxStream, bytes: number): void {
  s.handleData({
    header: { type: DATA, flag: 0, streamID: 1, length: bytes, version: 0 },
    data: new Uint8ArrayList(new Uint8Array(bytes)),
  } as Parameters<YamuxStream['handleData']>[0])
}

describe('yamux window updates (src/p2p/yamux-window.ts)', () => {
  grantCreditAtHalfWindow()

  it('grants credit once half the window is used, not after every small frame', () => {
    const { s, sent } = stream(StreamState.Established)
    const frame = 100
    const frames = Math.ceil(WINDOW / 2 / frame) + 10
    for (let i = 0; i < frames; i++) receive(s, frame)
    const updates = sent.filter((f) => f.type === WINDOW_UPDATE)
    assert.equal(updates.length, 1, `${updates.length} window updates for ${frames} frames`)
    assert.ok(updates[0]!.length >= WINDOW / 2, `credit of ${updates[0]!.length} bytes`)
  })

  it('the sender never runs dry: credit always comes back before the window is used up', () => {
    const { s, sent } = stream(StreamState.Established)
    let credit = WINDOW
    let seen = 0
    for (let i = 0; i < 5_000; i++) {
      const n = 1 + ((i * 7919) % 60_000)
      const take = Math.min(n, credit)
      assert.ok(take > 0, `the sender ran dry after ${i} frames`)
      receive(s, take)
      credit -= take
      for (const f of sent.slice(seen)) if (f.type === WINDOW_UPDATE) credit += f.length
      seen = sent.length
      assert.ok(credit >= WINDOW / 2 - 60_000, `credit ${credit} after ${i} frames`)
    }
  })

  it('a stream that must still answer SYN sends its ACK with the first update at once', () => {
    const { s, sent } = stream(StreamState.SYNReceived)
    receive(s, 10)
    assert.deepEqual(
      sent.map((f) => [f.type, f.flag]),
      [[WINDOW_UPDATE, ACK]],
    )
    assert.notEqual(ACK, SYN)
  })
})

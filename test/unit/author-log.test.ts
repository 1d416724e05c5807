import assert from 'node:assert/strict'
import { generateKeyPairSync, sign } from 'node:crypto'
import { describe, it } from 'node:test'
import { AuthorLog, LOAD_BATCH_ENTRIES } from '../../src/log/author-log.js'
import { MemoryFrameStore } from '../../src/log/frame-store.js'
import { natsEntry } from '../helpers/p2p.js'
import { waitFor } from '../helpers/wait.js'

const INTERVAL = 250

/** An author log over a memory store that records the size of every batch it signs. */
function authorLog(): {
  log: AuthorLog
  batches: Array<{ count: number; at: number }>
  nextBatch: () => Promise<void>
} {
  const { privateKey } = generateKeyPairSync('ed25519')
  const store = new MemoryFrameStore({
    author: new Uint8Array(32),
    logId: '["nats","t.>","events",1]',
    kind: 'nats',
  })
  const batches: Array<{ count: number; at: number }> = []
  let signal: (() => void) | undefined
  const append = store.append.bind(store)
  store.append = async (b) => {
    batches.push({ count: b.batch.header.count, at: performance.now() })
    signal?.()
    await append(b)
  }
  const nextBatch = (): Promise<void> => new Promise((resolve) => (signal = resolve))
  const log = new AuthorLog({
    store,
    networkId: new Uint8Array(32),
    author: new Uint8Array(32),
    sign: (bytes) => new Uint8Array(sign(null, bytes, privateKey)),
    maxBatchEntries: 1024,
    maxBatchBytes: 1024 * 1024,
    maxEntryBytes: 64 * 1024,
    // long enough that scheduling delays on a loaded machine stay well inside it
    loadIntervalMs: INTERVAL,
  })
  return { log, batches, nextBatch }
}

describe('author log batching', () => {
  it('a lone entry is signed at the end of its tick; a burst waits for the load interval', async () => {
    const { log, batches, nextBatch } = authorLog()
    const t0 = performance.now()
    log.append(natsEntry(1, 't.a'))
    await waitFor(() => batches.length === 1)
    assert.equal(batches[0]!.count, 1)
    assert.ok(batches[0]!.at - t0 < INTERVAL / 2, 'a lone entry is not held back')

    // light load (small batches): every tick's entries go out at its end
    log.append(natsEntry(2, 't.a'))
    await waitFor(() => batches.length === 2)
    assert.equal(batches[1]!.count, 1)

    // a burst: one tick's worth, then more in the ticks right after it
    let seq = 2
    const burst = nextBatch()
    const burstStart = performance.now()
    for (let i = 0; i < LOAD_BATCH_ENTRIES * 2; i++) log.append(natsEntry(++seq, 't.a'))
    await burst
    assert.equal(batches[2]!.count, LOAD_BATCH_ENTRIES * 2)
    for (let tick = 0; tick < 5; tick++) {
      log.append(natsEntry(++seq, 't.a'))
      await new Promise((r) => setImmediate(r))
    }
    await log.drained()
    const rest = batches.slice(3)
    assert.equal(
      rest.reduce((n, b) => n + b.count, 0),
      5,
    )
    assert.equal(
      rest.length,
      1,
      'the entries of five ticks after a large batch are signed together',
    )
    assert.ok(
      rest[0]!.at - burstStart >= INTERVAL - 5,
      `the batch after a large one came ${(rest[0]!.at - burstStart).toFixed(1)} ms after it`,
    )
    assert.equal(log.store.head, seq)
  })
})

import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { test } from 'node:test'
import { withDeadline } from '../../src/util/abort.js'

const waitAbort = (s: AbortSignal): Promise<unknown> =>
  new Promise((_, reject) => s.addEventListener('abort', () => reject(s.reason as Error)))

test('withDeadline: aborts the inner signal with a TimeoutError after ms', async () => {
  const parent = new AbortController()
  await assert.rejects(
    withDeadline(parent.signal, 10, waitAbort),
    (e: Error) => e.name === 'TimeoutError',
  )
  assert.equal(parent.signal.aborted, false)
})

test('withDeadline: the parent aborting aborts the inner signal with its reason', async () => {
  const parent = new AbortController()
  const p = withDeadline(parent.signal, 60_000, waitAbort)
  parent.abort(new Error('stop'))
  await assert.rejects(p, /stop/)
})

test('withDeadline: leaves no listener on a long-lived parent, however often it runs', async () => {
  const parent = new AbortController()
  for (let i = 0; i < 1000; i++) {
    assert.equal(await withDeadline(parent.signal, 60_000, async () => i), i)
  }
  await assert.rejects(withDeadline(parent.signal, 1, waitAbort))
  assert.equal(getEventListeners(parent.signal, 'abort').length, 0)
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { waitFor } from '../helpers/wait.js'

test('waitFor returns the first truthy value', async () => {
  let n = 0
  const v = await waitFor(() => (++n >= 3 ? n : 0), { interval: 1 })
  assert.equal(v, 3)
})

test('waitFor fails with the message and last error after the deadline', async () => {
  await assert.rejects(
    waitFor(
      () => {
        throw new Error('boom')
      },
      { timeout: 30, interval: 5, message: 'the thing' },
    ),
    /the thing not met within 30 ms; last error: boom/,
  )
})

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { Child } from '../helpers/child.js'
import { RHIO_MAIN } from '../helpers/rhio.js'
import { waitFor } from '../helpers/wait.js'

/** PIDs of live processes whose command line mentions `needle`. */
async function processesMentioning(needle: string): Promise<number[]> {
  const out: number[] = []
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue
    try {
      const cmd = (await readFile(`/proc/${d}/cmdline`, 'utf8')).replaceAll('\0', ' ')
      if (cmd.includes(needle)) out.push(Number(d))
    } catch {
      // gone already
    }
  }
  return out
}

test(
  'rhio demo: three sites replicate, Ctrl-C stops everything it started',
  { timeout: 120_000 },
  async () => {
    const demo = new Child('rhio demo', process.execPath, [RHIO_MAIN, 'demo'], {
      env: { ...process.env, RHIO_LOG_FORMAT: 'json' },
    })
    try {
      const root = (await demo.waitForOutput(/three sites in (\S+)/, 30_000))[1]!
      await demo.waitForOutput(/site C\s+status page (http:\S+)/, 60_000)
      // C only knows B: a message reaching C went A → B → C
      await demo.waitForOutput(/C received demo\.greetings: hello #\d+ from A/, 30_000)
      await demo.waitForOutput(/B received demo\.greetings/, 10_000)
      // and a file put into A's bucket reaches C through B as well
      await demo.waitForOutput(/C received file inbox\/hello-\d+\.txt/, 30_000)
      assert.ok(
        (await processesMentioning(root)).length >= 6,
        'three nats-servers and three rhio processes running',
      )
      demo.proc.kill('SIGINT')
      const exit = await demo.exited
      assert.equal(exit.code, 0, demo.tail())
      assert.match(demo.output, /everything it started is gone/)
      await waitFor(async () => (await processesMentioning(root)).length === 0, {
        timeout: 10_000,
        message: 'no demo process left',
      })
      assert.equal(existsSync(root), false, 'demo directory removed')
    } finally {
      await demo.kill()
    }
  },
)

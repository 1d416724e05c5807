/**
 * Acceptance (fault suite): three sites under mixed load — messages at A and B,
 * objects (some multipart) at A — while a seeded random schedule kills rhio
 * processes (-9), stops or kills nats-servers, takes S3 servers down, and cuts
 * and slows the links between sites. Afterwards every copy converges: no
 * message lost, none duplicated, order per subject kept, every object
 * byte-exact, no multipart upload left behind.
 *
 * CI runs a short schedule; for a longer one by hand:
 *   RHIO_FAULT_SECONDS=600 RHIO_FAULT_SEED=7 node scripts/test.mjs faults-random
 */
import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { rgwPerFile } from '../helpers/ceph-rgw.js'
import { waitFor } from '../helpers/wait.js'
import { Chaos, Load, World, checkWorld } from '../helpers/world.js'

/** One Ceph cluster per file; each site gets its own radosgw and tenant (bucket namespace). */
const s3 = rgwPerFile()

const SECONDS = Number(process.env.RHIO_FAULT_SECONDS ?? 45)
const SEED = Number(process.env.RHIO_FAULT_SEED ?? Math.floor(Math.random() * 1e6))

test(
  `random faults for ${SECONDS} s across three sites (seed ${SEED}): everything converges exactly`,
  { timeout: (SECONDS + 240) * 1000 },
  async () => {
    console.log(`# fault seed ${SEED} (RHIO_FAULT_SEED=${SEED} repeats this schedule)`)
    await using w = await World.start({ s3 })
    await w.connected()
    await using load = new Load(w, { seed: SEED })
    const chaos = new Chaos(w, { seed: SEED })
    const until = Date.now() + SECONDS * 1000
    await waitFor(() => Date.now() >= until, { timeout: SECONDS * 1000 + 5_000, interval: 250 })
    const failed = await chaos.stop().then(
      () => undefined,
      (err: unknown) => err,
    )
    await load.stop()
    console.log(`# faults:\n#   ${chaos.log.join('\n#   ')}`)
    if (failed) throw failed
    const result = await checkWorld(w).catch(async (err: unknown) => {
      const dir = await mkdtemp(join(tmpdir(), 'rhio-faults-'))
      for (const s of ['a', 'b', 'c'] as const)
        await writeFile(join(dir, `rhio-${s}.log`), w.fullOutput(s))
      console.log(`# full rhio logs in ${dir}`)
      throw err
    })
    console.log(
      `# sent a=${load.sent.a} b=${load.sent.b} messages, ${load.objects} objects; ` +
        `converged ${(result.waitedMs / 1000).toFixed(1)} s after the last fault: ${JSON.stringify(result.messages)}`,
    )
    assert.ok(chaos.count >= Math.floor(SECONDS / 6), `only ${chaos.count} faults injected`)
    assert.ok(load.sent.a > 0 && load.objects > 0)
  },
)

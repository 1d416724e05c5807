/**
 * The combined attack of issue 14 (eclipse, log-id flood, hello spam) in a
 * process of its own, so that the attackers' work does not slow the test's
 * publisher and measurements: what the victim costs is measured, not the test
 * process's event loop. Built from the same rogue helpers as the single-attack
 * tests.
 *
 *   const attack = await HostileAttackers.start({ victim, victimAddress, author, forwarder, networkId })
 *   await attack.floodSession()   // the flooding rogue has a session with the victim
 *   await attack[Symbol.asyncDispose]()
 *
 * Run as a script (`node hostile-attackers.js '<json>'`), it prints `ready` once
 * every rogue dialled the victim, `flood-session` once the flooding rogue has a
 * session, and runs until killed.
 */
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { fromHex } from '../../src/core/codec.js'
import { natsLogId } from '../../src/core/selector.js'
import { peerIdFromRhioKey } from '../../src/p2p/host.js'
import { encodeHello, encodeSync } from '../../src/sync/wire.js'
import { Child } from './child.js'
import { testKey } from './keys.js'
import { frame, RawPeer } from './raw-peer.js'
import { Rogue, type RogueScript } from './rogue.js'

export interface AttackInit {
  /** The victim's public key (64 hex). */
  victim: string
  /** The victim's p2p multiaddr. */
  victimAddress: string
  /** The author whose logs the rogues claim to hold (64 hex). */
  author: string
  /** The honest forwarder's public key: the eclipse keys sort before it. */
  forwarder: string
  /** The network id hash (64 hex). */
  networkId: string
}

const pingsOnly: RogueScript = async ({ framed }) => {
  for (;;) {
    await framed.write(encodeSync({ type: 'ping' }))
    await new Promise((r) => setTimeout(r, 500))
  }
}

/** Runs the attack in this process until the returned stop function is called. */
async function attack(init: AttackInit, say: (line: string) => void): Promise<() => Promise<void>> {
  const networkId = fromHex(init.networkId)
  const holds = [{ author: fromHex(init.author), kind: 'nats' as const, filters: ['>'] }]
  const victimAddress = [init.victimAddress]
  const rogues: Rogue[] = []
  const flood: RogueScript = async ({ framed }) => {
    for (let i = 0; i < 12_000; i++) {
      const logId = natsLogId(`fleet.fake${i}`, `S${i}`, i)
      await framed.write(encodeSync({ type: 'log', logId, low: 1, head: 1_000_000 + i }))
    }
    await pingsOnly({ raw: undefined as never, framed })
  }
  for (let i = 0; i < 8; i++) {
    // ids that sort before the forwarder's: the old upstream order would have put them first
    let key = testKey(randomBytes(32))
    while (key.publicKeyHex >= init.forwarder) key = testKey(randomBytes(32))
    rogues.push(await Rogue.start({ key, holds, scripts: [pingsOnly], networkId }))
  }
  const flooder = await Rogue.start({ holds, scripts: [flood], networkId })
  rogues.push(flooder)
  for (const r of rogues) await r.dial({ addresses: () => victimAddress })
  say('ready')
  let spamming = true
  const spammer = await RawPeer.start({ networkId })
  const target = { peerId: peerIdFromRhioKey(fromHex(init.victim)), addresses: victimAddress }
  const spam = (async () => {
    const hello = frame(encodeHello({ version: 1, holds: [], wants: [] }))
    // 5 000 hellos a second, from one key until it is banned, then from the next
    const burst = Uint8Array.from(Buffer.concat(Array.from({ length: 500 }, () => hello)))
    while (spamming) {
      try {
        await spammer.connect(target)
        await spammer.send(target.peerId, 'hello', {
          pieces: Array.from({ length: 20 }, () => burst),
          delayMs: 100,
          end: 'close',
        })
      } catch {
        // banned: come back as someone else
        await spammer.fresh()
      }
    }
  })()
  const watch = setInterval(() => {
    if (flooder.sessions > 0) {
      say('flood-session')
      clearInterval(watch)
    }
  }, 50)
  return async () => {
    clearInterval(watch)
    spamming = false
    await spam.catch(() => {})
    await spammer[Symbol.asyncDispose]()
    await Promise.allSettled(rogues.map((r) => r[Symbol.asyncDispose]()))
  }
}

/** The attack running in a child process. */
export class HostileAttackers {
  readonly #child: Child

  private constructor(child: Child) {
    this.#child = child
  }

  static async start(init: AttackInit): Promise<HostileAttackers> {
    const child = new Child('attackers', process.execPath, [
      fileURLToPath(import.meta.url),
      JSON.stringify(init),
    ])
    const a = new HostileAttackers(child)
    try {
      await child.waitForOutput(/^ready$/m, 30_000)
    } catch (err) {
      await child.kill()
      throw err
    }
    return a
  }

  /** Resolves once the flooding rogue has a session with the victim. */
  async floodSession(timeout = 30_000): Promise<void> {
    await this.#child.waitForOutput(/^flood-session$/m, timeout)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#child.kill()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const init = JSON.parse(process.argv[2] ?? '{}') as AttackInit
  const stop = await attack(init, (line) => process.stdout.write(`${line}\n`))
  process.once('SIGTERM', () => void stop().finally(() => process.exit(0)))
}

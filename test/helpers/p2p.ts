import { randomBytes } from 'node:crypto'
import pino from 'pino'
import { Registry } from 'prom-client'
import type { VerifiedEntry } from '../../src/core/batch.js'
import { MemoryFrameStore } from '../../src/log/frame-store.js'
import type { FrameStoreFactory } from '../../src/log/registry.js'
import type { Delivery, LogConsumer } from '../../src/sync/want.js'
import { DEFAULTS } from '../../src/config/index.js'
import { P2PNode, p2pLimits, type P2PLimits } from '../../src/node/p2p-node.js'
import type { TransportKind } from '../../src/p2p/host.js'
import type { StaticNode } from '../../src/p2p/peer-table.js'
import type { RelayOptions } from '../../src/p2p/relay.js'
import { MemoryStateStore, type StateStore } from '../../src/state/state-store.js'
import { testKey, testVerify, type TestKey } from './keys.js'

export const TEST_NETWORK = new Uint8Array(32).fill(7)

/** Records deliveries and acknowledges them at once (or when told to). */
export class CollectingConsumer implements LogConsumer {
  readonly entries: Array<VerifiedEntry & { logId: string; peer: string }> = []
  deliveries = 0
  autoAck = true
  private readonly unacked: Delivery[] = []

  async deliver(d: Delivery): Promise<void> {
    this.deliveries++
    for (const e of d.entries) this.entries.push({ ...e, logId: d.logId, peer: d.peer })
    if (this.autoAck) d.ack()
    else this.unacked.push(d)
  }

  ackAll(): void {
    for (const d of this.unacked.splice(0)) d.ack()
  }

  seqs(): number[] {
    return this.entries.map((e) => e.seq)
  }
}

export interface TestNodeOptions {
  key?: TestKey
  networkId?: Uint8Array
  transport?: TransportKind
  listen?: string[]
  staticNodes?: StaticNode[]
  state?: StateStore
  /** Where logs are kept; MemoryFrameStore by default. */
  frameStores?: FrameStoreFactory
  limits?: Partial<P2PLimits>
  heartbeatMs?: number
  resyncIntervalMs?: number
  metrics?: boolean
  /** `access.policy: known` with these public keys (default: open). */
  allowedPeers?: string[]
  /** Circuit relay v2 options (default: none, as a node without a `relay` block). */
  relay?: RelayOptions
}

export interface TestNode extends AsyncDisposable {
  node: P2PNode
  key: TestKey
  state: StateStore
  registry: Registry
  /** A static-node entry other nodes can use to reach this one. */
  asStatic(): StaticNode
}

const silent = pino({ level: process.env.RHIO_TEST_LOG ?? 'silent' })

export async function startTestNode(o: TestNodeOptions = {}): Promise<TestNode> {
  const key = o.key ?? testKey(randomBytes(32))
  const state = o.state ?? new MemoryStateStore()
  const registry = new Registry()
  const transport = o.transport ?? 'tcp'
  const node = await P2PNode.create({
    seed: key.seed,
    publicKey: key.publicKey,
    sign: key.sign,
    verify: testVerify,
    networkId: o.networkId ?? TEST_NETWORK,
    transport,
    listen:
      o.listen ??
      (transport === 'tcp'
        ? ['/ip4/127.0.0.1/tcp/0']
        : [`/memory/${key.publicKeyHex.slice(0, 16)}`]),
    staticNodes: o.staticNodes ?? [],
    limits: { ...p2pLimits(DEFAULTS.limits), ...o.limits },
    state,
    frameStores: o.frameStores ?? (async (info) => new MemoryFrameStore(info)),
    queryIntervalMs: 500,
    resyncIntervalMs: o.resyncIntervalMs ?? 2_000,
    heartbeatMs: o.heartbeatMs ?? 1_000,
    logger: silent.child({ node: key.publicKeyHex.slice(0, 8) }),
    registry,
    ...(o.allowedPeers ? { allowedPeers: o.allowedPeers } : {}),
    ...(o.relay ? { relay: o.relay } : {}),
  })
  await node.start()
  return {
    node,
    key,
    state,
    registry,
    asStatic: () => ({
      publicKey: key.publicKeyHex,
      endpoints: node
        .addresses()
        .filter((a) => !a.includes('/p2p-circuit'))
        .map((a) => a.replace(/\/p2p\/.*$/, '')),
    }),
    async [Symbol.asyncDispose]() {
      await node.stop()
    },
  }
}

export function natsEntry(
  seq: number,
  subject: string,
  payload = `m${seq}`,
): {
  seq: number
  body: { kind: 'nats'; subject: string; headers: Array<[string, string]>; payload: Uint8Array }
} {
  return {
    seq,
    body: {
      kind: 'nats',
      subject,
      headers: [['X-Seq', String(seq)]],
      payload: new TextEncoder().encode(payload),
    },
  }
}

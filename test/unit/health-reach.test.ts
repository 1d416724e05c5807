import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  pathFields,
  peersSection,
  reachabilitySection,
  transfersSection,
} from '../../src/http/health-sections.js'
import type { PeerView } from '../../src/p2p/peer-table.js'

const PK = 'ab'.repeat(32)
const PEER: PeerView = {
  id: PK,
  publicKey: new Uint8Array(32),
  peerId: peerIdFromString('12D3KooWKGXLWmmxKN3DJiBJn8oYQYGPJcNdSyAVjKwRjjB1qgQ2'),
  connected: true,
  configured: true,
  addresses: ['/ip4/198.18.0.1/tcp/9102/p2p/R/p2p-circuit'],
}

describe('/health: how peers are reached', () => {
  it('a relayed peer shows via relay and what its circuit may still carry; a direct one no limit', () => {
    assert.deepEqual(pathFields({ via: 'relay', limitBytes: 1000 }), {
      via: 'relay',
      relay_limit_bytes: 1000,
    })
    assert.deepEqual(pathFields({ via: 'relay' }), { via: 'relay', relay_limit_bytes: null })
    assert.deepEqual(pathFields({ via: 'direct' }), { via: 'direct' })
    const [row] = peersSection([PEER], () => ({ via: 'relay', limitBytes: 5 })) as Array<
      Record<string, unknown>
    >
    assert.equal(row?.['via'], 'relay')
    assert.equal(row?.['relay_limit_bytes'], 5)
  })

  it('a transfer says when its peer is only reachable through a relay', () => {
    const t = {
      localBucket: 'inbox',
      key: 'k',
      hash: 'cd'.repeat(32),
      size: 10,
      done: 1,
      peer: PK,
      peers: [PK],
      state: 'downloading',
      startedAt: 1,
      lastError: null,
    } as unknown as Parameters<typeof transfersSection>[0][number]
    const [row] = transfersSection([t], (id) =>
      id === PK ? { via: 'relay', limitBytes: 7 } : { via: 'none' },
    ) as Array<Record<string, unknown>>
    assert.equal(row?.['via'], 'relay')
    assert.equal(row?.['relay_limit_bytes'], 7)
  })

  it('reachability: state, what peers saw, announced addresses, slots held, relay service', () => {
    assert.deepEqual(
      reachabilitySection({
        reachability: 'private',
        observed: ['/ip4/198.18.1.2/tcp/4000'],
        announced: ['/ip4/198.18.0.1/tcp/9102/p2p/R/p2p-circuit/p2p/ME'],
        reservations: ['R'],
        reserve: 'auto',
      }),
      {
        reachability: 'private',
        observed: ['/ip4/198.18.1.2/tcp/4000'],
        last_inbound_direct: null,
        announced: ['/ip4/198.18.0.1/tcp/9102/p2p/R/p2p-circuit/p2p/ME'],
        reserve: 'auto',
        reservations: ['R'],
        relay: null,
      },
    )
    const relay = reachabilitySection({
      reachability: 'public',
      observed: [],
      lastInboundDirect: 5,
      announced: [],
      reservations: [],
      reserve: 'never',
      relay: {
        reservations: 2,
        maxReservations: 15,
        circuitBytes: 1024,
        circuitDurationMs: 600_000,
        refusedOutsiders: 1,
        refusedFlood: 3,
      },
    }) as Record<string, unknown>
    assert.equal(relay['last_inbound_direct'], 5)
    assert.deepEqual(relay['relay'], {
      reservations: 2,
      max_reservations: 15,
      circuit_bytes: 1024,
      circuit_duration_seconds: 600,
      refused_outsiders: 1,
      refused_flood: 3,
    })
  })
})

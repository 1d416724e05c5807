import assert from 'node:assert/strict'
import { test } from 'node:test'
import { peerIdFromString } from '@libp2p/peer-id'
import { announceMultiaddr, parseEndpoint, resolveEndpoints } from '../../src/p2p/endpoints.js'

const PEER = '12D3KooWRb8Xzfcj1rBa9KquLzdrvPKz17a4oYHfLmEWVTBiuTSz'

test('announce addresses: ip, ipv6, DNS name, default port, raw multiaddr; garbage is refused', () => {
  assert.equal(announceMultiaddr('10.1.2.3:9200'), '/ip4/10.1.2.3/tcp/9200')
  assert.equal(announceMultiaddr('[fd00::1]:9200'), '/ip6/fd00::1/tcp/9200')
  assert.equal(announceMultiaddr('rhio.example.org:443'), '/dns/rhio.example.org/tcp/443')
  assert.equal(announceMultiaddr('rhio.example.org'), '/dns/rhio.example.org/tcp/9102')
  assert.equal(announceMultiaddr('/ip4/1.2.3.4/tcp/5'), '/ip4/1.2.3.4/tcp/5')
  assert.throws(() => announceMultiaddr('a b:1'), /not host:port/)
})

test('static endpoints: parsed with their port, resolved into multiaddrs naming the peer', async () => {
  assert.deepEqual(parseEndpoint('host:12'), { host: 'host', port: 12 })
  assert.equal(parseEndpoint('host:0'), undefined)
  assert.equal(parseEndpoint('host'), undefined)
  const { addrs, errors } = await resolveEndpoints(
    ['127.0.0.1:7', 'name:8', 'bad'],
    peerIdFromString(PEER),
    async (h) => (h === 'name' ? ['10.0.0.8'] : []),
  )
  assert.deepEqual(
    addrs.map((a) => a.toString()),
    [`/ip4/127.0.0.1/tcp/7/p2p/${PEER}`, `/ip4/10.0.0.8/tcp/8/p2p/${PEER}`],
  )
  assert.equal(errors.length, 1)
})

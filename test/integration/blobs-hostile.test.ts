import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { Uint8ArrayList } from 'uint8arraylist'
import {
  BaoDecoder,
  type BlobHash,
  ChunkRanges,
  RangeSpecSeq,
  blake3,
  computeOutboard,
  decodeGetRequest,
  encodeGetRequest,
  getRequest,
  hashEquals,
  hashToHex,
} from '../../src/bao/index.js'
import type { PartAttempt } from '../../src/blobs/transfer.js'
import { decodeResponseFrame, encodeDataFrame, type ResponseFrame } from '../../src/blobs/wire.js'
import { FramedStream } from '../../src/p2p/framing.js'
import { protocolId } from '../../src/p2p/host.js'
import { BlobSite, doneOf, jobFor, metricValue, responseBytes } from '../helpers/blob-sites.js'
import { TEST_NETWORK, startTestNode, type TestNode } from '../helpers/p2p.js'
import { Rogue } from '../helpers/rogue.js'
import { S3Server } from '../helpers/s3-server.js'
import { GROUP, MiB, testBytes } from '../helpers/sizes.js'
import { waitFor } from '../helpers/wait.js'

const PROTO = protocolId(TEST_NETWORK, 'blobs')

/** Sends one raw request frame to `site`'s provider and collects the answer until it closes. */
async function ask(
  client: TestNode,
  site: BlobSite,
  request: Uint8Array | 'oversized',
  opts: { read?: boolean } = {},
): Promise<{ frames: ResponseFrame[]; response: Uint8Array; framed: FramedStream }> {
  const addr = multiaddr(site.t.node.addresses()[0]!)
  const stream = await client.node.host.dialProtocol(addr, PROTO)
  const framed = new FramedStream(stream, { maxFrameBytes: 1 << 17 })
  if (request === 'oversized') {
    stream.send(new Uint8ArrayList(Uint8Array.of(0xff, 0xff, 0xff, 0x7f)))
  } else {
    await framed.write(request)
    await framed.closeWrite()
  }
  const frames: ResponseFrame[] = []
  const data: Uint8Array[] = []
  if (opts.read === false) return { frames, response: new Uint8Array(0), framed }
  try {
    for (let f = await framed.read(); f !== undefined; f = await framed.read()) {
      const parsed = decodeResponseFrame(f)
      assert.ok(parsed, 'provider frames are data or error frames')
      frames.push(parsed)
      if (parsed.type === 'data') data.push(parsed.bytes)
    }
  } catch {
    // the provider reset the stream
  }
  return { frames, response: new Uint8Array(Buffer.concat(data)), framed }
}

function errorOf(frames: ResponseFrame[]): string | undefined {
  const last = frames[frames.length - 1]
  return last?.type === 'error' ? last.code : undefined
}

/** Verified data bytes in a (possibly cut) response; throws on anything but truncation. */
function verifiedPrefix(response: Uint8Array, hash: BlobHash, ranges = ChunkRanges.all()): number {
  const d = new BaoDecoder(hash, ranges)
  d.push(response)
  let bytes = 0
  for (let ev = d.next(); ev !== undefined; ev = d.next())
    if (ev.type === 'leaf') bytes += ev.data.length
  return bytes
}

describe('blobs protocol against hostile and broken peers', () => {
  let s3: S3Server
  let author: BlobSite
  let client: TestNode

  before(async () => {
    s3 = await S3Server.start()
    author = await BlobSite.start({
      s3,
      buckets: ['src', 'dst'],
      holds: (self) => [{ author: self, kind: 'blobs', filters: ['src'] }],
    })
    client = await startTestNode({ staticNodes: [author.t.asStatic()] })
    await waitFor(() => client.node.peers.get(author.id)?.connected)
  })

  after(async () => {
    await client?.[Symbol.asyncDispose]()
    await author?.[Symbol.asyncDispose]()
    await s3?.[Symbol.asyncDispose]()
  })

  test('a peer flipping a byte is caught within one group; the transfer completes from another', async () => {
    const objects = new Map<string, { data: Uint8Array; outboard: Uint8Array }>()
    const rogue = await Rogue.start({
      holds: [{ author: author.t.key.publicKey, kind: 'blobs', filters: ['src'] }],
      scripts: [async () => {}],
    })
    const corruptAt = new Map<string, number>() // hash hex → blob offset to flip
    await rogue.host.handle(PROTO, async (stream) => {
      const framed = new FramedStream(stream, { maxFrameBytes: 1 << 17 })
      const req = decodeGetRequest((await framed.read())!)
      const obj = objects.get(hashToHex(req.hash))!
      const ranges = req.ranges.get(0)
      const resp = await responseBytes(obj.data, req.hash, obj.outboard, ranges)
      // find the stream position of the chosen blob byte and flip it
      const d = new BaoDecoder(req.hash, ranges)
      d.push(resp)
      const target = corruptAt.get(hashToHex(req.hash))!
      for (let ev = d.next(); ev !== undefined; ev = d.next()) {
        if (ev.type !== 'leaf' || target < ev.offset || target >= ev.offset + ev.data.length)
          continue
        resp[d.consumed - ev.data.length + (target - ev.offset)]! ^= 0xff
      }
      for (let off = 0; off < resp.length; off += 65535) {
        await framed.write(encodeDataFrame(resp.subarray(off, off + 65535)))
      }
      await framed.closeWrite()
    })
    await using sub = await BlobSite.start({
      s3,
      buckets: ['dst'],
      staticNodes: [rogue.asStatic(), author.t.asStatic()],
    })
    try {
      await waitFor(() => sub.t.node.peers.get(rogue.key.publicKeyHex)?.connected)
      await waitFor(() => sub.t.node.peers.get(author.id)?.connected)
      const rogueId = rogue.key.publicKeyHex
      // the rogue is asked first; one part at a time, so nothing else was already on its way to it
      const m = sub.manager({
        holders: () => [{ id: rogueId }, { id: author.id }],
        limits: { partSizeBytes: 5 * MiB, maxConcurrentTransfers: 4, partsInFlight: 1 },
      })
      const attempts: PartAttempt[] = []
      m.onAttempt((a) => attempts.push(a))
      await m.start()
      const cases = [
        { key: 'rogue/large', size: 2 * 5 * MiB + 5, flip: 3 * GROUP + 100 }, // multipart
        { key: 'rogue/small', size: 200 * 1024, flip: 150_000 }, // single PUT
      ]
      for (const c of cases) {
        const data = testBytes(c.size, c.size % 97)
        const hash = await author.publish('src', c.key, data)
        objects.set(hashToHex(hash), { data, outboard: (await computeOutboard([data])).outboard })
        corruptAt.set(hashToHex(hash), c.flip)
        const done = doneOf(m, c.key)
        await m.enqueue(jobFor(author.t.key.publicKey, 'src', 'dst', c.key, hash, c.size))
        await done
        assert.ok(hashEquals(blake3(await sub.read('dst', c.key)), hash), c.key)
        const fromRogue = attempts.filter((a) => a.key === c.key && a.peer === rogueId)
        assert.equal(fromRogue.length, 1, 'the rogue is asked once per transfer')
        assert.equal(fromRogue[0]!.ok, false)
        assert.equal(fromRogue[0]!.failure, 'corrupt')
        // every group before the flipped one was accepted, nothing of or after it
        assert.equal(fromRogue[0]!.verifiedBytes, Math.floor(c.flip / GROUP) * GROUP)
        assert.ok(
          attempts.filter((a) => a.key === c.key && a.ok).every((a) => a.peer === author.id),
        )
      }
      assert.equal(await metricValue(sub.t.registry, 'rhio_blob_verify_failures_total'), 2)
      const rejected = await metricValue(
        sub.t.registry,
        'rhio_p2p_rejected_total',
        'reason="bad-blob-data"',
      )
      assert.equal(rejected, 2)
    } finally {
      await rogue[Symbol.asyncDispose]()
    }
  })

  test('unknown hash, hash sequences and too many ranges get error frames', async () => {
    const unknown = await ask(client, author, encodeGetRequest(getRequest(randomBytes(32))))
    assert.equal(errorOf(unknown.frames), 'not-found')
    assert.equal(unknown.frames.length, 1)
    const data = testBytes(3 * GROUP, 1)
    const hash = await author.publish('src', 'req/k', data)
    const seq = await ask(client, author, encodeGetRequest({ hash, ranges: RangeSpecSeq.all() }))
    assert.equal(errorOf(seq.frames), 'unsupported')
    const many = ChunkRanges.fromBoundaries(Array.from({ length: 100 }, (_, i) => i * 2))
    const tooMany = await ask(client, author, encodeGetRequest(getRequest(hash, many)))
    assert.equal(errorOf(tooMany.frames), 'too-large')
    const good = await ask(
      client,
      author,
      encodeGetRequest(getRequest(hash, ChunkRanges.from(16, 32))),
    )
    assert.equal(errorOf(good.frames), undefined)
    assert.equal(verifiedPrefix(good.response, hash, ChunkRanges.from(16, 32)), GROUP)
    const count = (result: string): Promise<number> =>
      metricValue(author.t.registry, 'rhio_blob_requests_total', `result="${result}"`)
    assert.equal(await count('not-found'), 1)
    assert.equal(await count('unsupported'), 1)
    assert.equal(await count('too-large'), 1)
  })

  test('random bytes and oversized frames are penalised and never crash the provider', async () => {
    const rejected = (reason: string): Promise<number> =>
      metricValue(author.t.registry, 'rhio_p2p_rejected_total', `reason="${reason}"`)
    const malformedBefore = await rejected('malformed')
    for (let i = 0; i < 3; i++) {
      const r = await ask(client, author, randomBytes(300))
      assert.equal(errorOf(r.frames), 'bad-request')
    }
    assert.equal((await rejected('malformed')) - malformedBefore, 3)
    const oversizedBefore = await rejected('oversized')
    const big = await ask(client, author, 'oversized')
    assert.equal(big.frames.length, 0)
    await waitFor(async () => (await rejected('oversized')) > oversizedBefore)
    // still serving
    const data = testBytes(GROUP + 1, 2)
    const hash = await author.publish('src', 'still/k', data)
    const ok = await ask(client, author, encodeGetRequest(getRequest(hash)))
    assert.equal(verifiedPrefix(ok.response, hash), data.length)
  })

  test('more requests than max_blob_requests: the excess is told "busy"', async () => {
    await using busy = await BlobSite.start({ s3, buckets: ['busy'], maxRequests: 1 })
    const c = await startTestNode({ staticNodes: [busy.t.asStatic()] })
    try {
      await waitFor(() => c.node.peers.get(busy.id)?.connected)
      const data = testBytes(40 * MiB, 3)
      const hash = await busy.publish('busy', 'big', data)
      // a slow reader: never reads, so the provider waits on backpressure
      const slow = await ask(c, busy, encodeGetRequest(getRequest(hash)), { read: false })
      await waitFor(() => busy.provider.serving === 1)
      const second = await ask(c, busy, encodeGetRequest(getRequest(hash)))
      assert.equal(errorOf(second.frames), 'busy')
      assert.equal(
        await metricValue(busy.t.registry, 'rhio_blob_requests_total', 'result="busy"'),
        1,
      )
      slow.framed.abort(new Error('done'))
      await waitFor(() => busy.provider.serving === 0)
    } finally {
      await c[Symbol.asyncDispose]()
    }
  })

  test('data changed under its outboard: an error frame instead of bad bytes, location dropped', async () => {
    const data = testBytes(MiB, 4)
    const hash = await author.publish('src', 'chg/mid', data)
    const changed = new Uint8Array(data)
    changed[600_000]! ^= 1
    await author.store.put('src', 'chg/mid', changed)
    const r = await ask(client, author, encodeGetRequest(getRequest(hash)))
    assert.equal(errorOf(r.frames), 'unavailable')
    // what was sent verifies; it stops before the changed group
    assert.ok(verifiedPrefix(r.response, hash) <= Math.floor(600_000 / GROUP) * GROUP)
    assert.deepEqual(author.index.lookup(hash), [])
    assert.deepEqual(
      author.invalid.map((e) => [e.location.key, e.error.code]),
      [['chg/mid', 'BLOB_LOCAL_CORRUPT']],
    )
    assert.equal(
      await metricValue(author.t.registry, 'rhio_blob_requests_total', 'result="corrupt"'),
      1,
    )

    // changed before the first byte went out: the next location serves instead
    const other = testBytes(2 * GROUP + 7, 5)
    const h2 = await author.publish('src', 'chg/first', other)
    author.index.add(h2, { bucket: 'dst', key: 'chg/copy', size: other.length })
    await author.publish('dst', 'chg/copy', other)
    await author.store.put('src', 'chg/first', testBytes(other.length, 6))
    const r2 = await ask(client, author, encodeGetRequest(getRequest(h2)))
    assert.equal(errorOf(r2.frames), undefined)
    assert.equal(verifiedPrefix(r2.response, h2), other.length)
    assert.deepEqual(
      author.index.lookup(h2).map(({ bucket, key, size }) => ({ bucket, key, size })),
      [{ bucket: 'dst', key: 'chg/copy', size: other.length }],
    )
  })
})

import assert from 'node:assert/strict'
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { hasCode } from '../../src/errors/index.js'
import {
  checkEd25519,
  Ed25519Verifier,
  loadIdentity,
  NodeIdentity,
  parseKeyHex,
  SMALL_ORDER_ENCODINGS,
  verifyEd25519,
  writeKeyFile,
} from '../../src/identity/index.js'
import { tempDir } from '../helpers/tmp.js'

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** RFC 8032 §7.1 test vectors 1 and 2. */
const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
]

// --- a tiny edwards25519 in BigInt, to recompute the small-order list -------
const P = 2n ** 255n - 19n
const L = 2n ** 252n + 27742317777372353535851937790883648493n
const mod = (a: bigint): bigint => ((a % P) + P) % P
function pow(b: bigint, e: bigint): bigint {
  let r = 1n
  b = mod(b)
  while (e > 0n) {
    if (e & 1n) r = (r * b) % P
    b = (b * b) % P
    e >>= 1n
  }
  return r
}
const inv = (a: bigint): bigint => pow(a, P - 2n)
const D = mod(-121665n * inv(121666n))
function sqrt(a: bigint): bigint | null {
  a = mod(a)
  let x = pow(a, (P + 3n) / 8n)
  if (mod(x * x - a) !== 0n) x = (x * pow(2n, (P - 1n) / 4n)) % P
  return mod(x * x - a) === 0n ? x : null
}
type Pt = [bigint, bigint]
function add([x1, y1]: Pt, [x2, y2]: Pt): Pt {
  const t = mod(D * x1 * x2 * y1 * y2)
  return [mod((x1 * y2 + x2 * y1) * inv(1n + t)), mod((y1 * y2 + x1 * x2) * inv(1n - t))]
}
function decode(enc: Uint8Array): Pt | null {
  let y = 0n
  for (let i = 31; i >= 0; i--)
    y = (y << 8n) | BigInt(i === 31 ? (enc[i] ?? 0) & 0x7f : (enc[i] ?? 0))
  y = mod(y)
  const x = sqrt(mod((y * y - 1n) * inv(D * y * y + 1n)))
  return x === null ? null : [x, y]
}
/** The 32-byte encoding of y (not reduced) with the given sign bit. */
function encodeY(y: bigint, sign: bigint): string {
  const b = Buffer.alloc(32)
  let v = y
  for (let i = 0; i < 32; i++) {
    b[i] = Number(v & 255n)
    v >>= 8n
  }
  if (sign) b[31] = (b[31] ?? 0) | 0x80
  return b.toString('hex')
}
const times8 = (p: Pt): Pt => {
  let q = p
  for (let i = 0; i < 3; i++) q = add(q, q)
  return q
}
// ---------------------------------------------------------------------------

describe('Ed25519', () => {
  it('matches RFC 8032 test vectors', () => {
    for (const v of RFC8032) {
      const id = new NodeIdentity(hex(v.seed))
      assert.equal(id.publicKeyHex, v.pk)
      assert.equal(toHex(id.sign(hex(v.msg))), v.sig)
      assert.ok(verifyEd25519(hex(v.pk), hex(v.msg), hex(v.sig)))
    }
  })

  it('sign then verify holds for any message; a changed message or key fails', () => {
    const a = NodeIdentity.generate()
    const b = NodeIdentity.generate()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (msg, flip) => {
        const sig = a.sign(msg)
        assert.equal(sig.length, 64)
        assert.deepEqual(checkEd25519(a.publicKey, msg, sig), { ok: true })
        assert.deepEqual(checkEd25519(b.publicKey, msg, sig), {
          ok: false,
          reason: 'bad-signature',
        })
        const changed = Uint8Array.from([...msg, 0])
        if (msg.length > 0) changed[flip % msg.length] = (changed[flip % msg.length] ?? 0) ^ 1
        assert.equal(verifyEd25519(a.publicKey, changed, sig), false)
      }),
      { numRuns: 50 },
    )
  })

  it('the small-order list is exactly every encoding of the 8 small-order points', () => {
    // y² = (-1 ± sqrt(1+d)) / d gives the order-8 points; plus orders 1, 2 and 4.
    const ys = [1n, P - 1n, 0n]
    const s = sqrt(1n + D)
    assert.ok(s !== null)
    for (const root of [s, mod(-s)]) {
      const y = sqrt(mod((-1n + root) * inv(D)))
      if (y !== null) ys.push(y, mod(-y))
    }
    // Each y with both sign bits (for x = 0 the set sign bit is an invalid but
    // lax-accepted encoding), and y + p where that still fits in 255 bits.
    const expected = new Set<string>()
    for (const y of ys) {
      for (const candidate of [y, y + P]) {
        if (candidate >= 2n ** 255n) continue
        for (const sign of [0n, 1n]) expected.add(encodeY(candidate, sign))
      }
    }
    assert.deepEqual(new Set(SMALL_ORDER_ENCODINGS), expected)
    for (const e of SMALL_ORDER_ENCODINGS) {
      const pt = decode(hex(e))
      assert.ok(pt, e)
      assert.deepEqual(times8(pt), [0n, 1n], `${e} has small order`)
    }
  })

  it('rejects a small-order public key (which would verify "any" message)', () => {
    const identityPoint = hex(SMALL_ORDER_ENCODINGS[0] ?? '')
    const sig = new Uint8Array(64)
    sig.set(identityPoint, 0) // R = identity, S = 0
    for (const msg of [hex(''), hex('01'), hex('ffff')]) {
      assert.deepEqual(checkEd25519(identityPoint, msg, sig), {
        ok: false,
        reason: 'small-order-public-key',
      })
    }
  })

  it('rejects a small-order R and a non-canonical R', () => {
    const a = NodeIdentity.generate()
    const msg = hex('68656c6c6f')
    const sig = a.sign(msg)
    for (const enc of SMALL_ORDER_ENCODINGS) {
      const forged = Uint8Array.from(sig)
      forged.set(hex(enc), 0)
      assert.deepEqual(checkEd25519(a.publicKey, msg, forged), {
        ok: false,
        reason: 'small-order-r',
      })
    }
    const nonCanonical = Uint8Array.from(sig)
    nonCanonical.set(hex('f0' + 'ff'.repeat(30) + '7f'), 0) // y = p + 3
    assert.deepEqual(checkEd25519(a.publicKey, msg, nonCanonical), {
      ok: false,
      reason: 'non-canonical-r',
    })
  })

  it('rejects S >= L (the malleable twin S + L of a valid signature)', () => {
    const a = NodeIdentity.generate()
    const msg = hex('00')
    const sig = a.sign(msg)
    let s = 0n
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i] ?? 0)
    const twin = Uint8Array.from(sig)
    let v = s + L
    for (let i = 32; i < 64; i++) {
      twin[i] = Number(v & 255n)
      v >>= 8n
    }
    assert.deepEqual(checkEd25519(a.publicKey, msg, twin), { ok: false, reason: 's-out-of-range' })
    const exactlyL = Uint8Array.from(sig)
    v = L
    for (let i = 32; i < 64; i++) {
      exactlyL[i] = Number(v & 255n)
      v >>= 8n
    }
    assert.deepEqual(checkEd25519(a.publicKey, msg, exactlyL), {
      ok: false,
      reason: 's-out-of-range',
    })
  })

  it('rejects a non-canonical public key and wrong lengths', () => {
    const msg = hex('')
    const sig = new Uint8Array(64)
    assert.deepEqual(checkEd25519(hex('f0' + 'ff'.repeat(30) + '7f'), msg, sig), {
      ok: false,
      reason: 'non-canonical-public-key',
    })
    assert.deepEqual(checkEd25519(new Uint8Array(31), msg, sig), {
      ok: false,
      reason: 'bad-public-key-length',
    })
    const a = NodeIdentity.generate()
    assert.deepEqual(checkEd25519(a.publicKey, msg, new Uint8Array(63)), {
      ok: false,
      reason: 'bad-signature-length',
    })
  })

  it('an identity never serialises its seed', () => {
    const id = NodeIdentity.generate()
    assert.equal(JSON.stringify(id), JSON.stringify({ publicKey: id.publicKeyHex }))
    assert.equal(id.seed.length, 32)
    assert.equal(id.seedHex().length, 64)
  })
})

describe('key files', () => {
  const seed = RFC8032[0]?.seed ?? ''
  const pk = RFC8032[0]?.pk ?? ''

  it('accepts 64 hex characters with surrounding whitespace and a trailing newline', () => {
    for (const text of [seed, `${seed}\n`, `  ${seed}\r\n`, seed.toUpperCase()]) {
      assert.equal(toHex(parseKeyHex(text, 'f')), seed)
    }
  })

  it('rejects malformed keys with KEY_INVALID naming the place and `rhio keygen`', () => {
    for (const [text, what] of [
      ['', 'is empty'],
      [seed.slice(2), 'holds 62 characters'],
      [`${seed.slice(2)}zz`, 'holds non-hex characters'],
    ] as const) {
      assert.throws(
        () => parseKeyHex(text, '/etc/rhio/key'),
        (err) =>
          hasCode(err, 'KEY_INVALID') &&
          err.message.includes(`/etc/rhio/key ${what}`) &&
          err.message.includes('rhio keygen'),
      )
    }
  })

  it('loads the key file; PRIVATE_KEY overrides it; RHIO_PRIVATE_KEY wins over both', async () => {
    await using dir = await tempDir()
    const path = join(dir.path, 'private.key')
    await writeFile(path, `${seed}\n`, { mode: 0o600 }) // as keygen writes it (others may not read it)
    assert.equal(loadIdentity({ path, env: {} }).publicKeyHex, pk)
    const other = NodeIdentity.generate()
    const fromEnv = loadIdentity({ path, env: { PRIVATE_KEY: other.seedHex() } })
    assert.equal(fromEnv.publicKeyHex, other.publicKeyHex)
    assert.equal(fromEnv.source, 'env PRIVATE_KEY')
    const third = NodeIdentity.generate()
    const prefixed = loadIdentity({
      path,
      env: { PRIVATE_KEY: other.seedHex(), RHIO_PRIVATE_KEY: third.seedHex() },
    })
    assert.equal(prefixed.publicKeyHex, third.publicKeyHex)
    assert.throws(
      () => loadIdentity({ path, env: { PRIVATE_KEY: 'nope' } }),
      (err) => hasCode(err, 'KEY_INVALID') && err.message.includes('env PRIVATE_KEY'),
    )
  })

  it('a missing key file is KEY_NOT_FOUND naming the path and `rhio keygen`', async () => {
    await using dir = await tempDir()
    const path = join(dir.path, 'missing.key')
    assert.throws(
      () => loadIdentity({ path, env: {} }),
      (err) =>
        hasCode(err, 'KEY_NOT_FOUND') &&
        err.message.includes(path) &&
        err.message.includes(`rhio keygen --out ${path}`),
    )
  })

  it('writeKeyFile writes mode 0600, round-trips, and never overwrites', async () => {
    await using dir = await tempDir()
    const path = join(dir.path, 'sub', 'private.key')
    const id = NodeIdentity.generate()
    writeKeyFile(path, id)
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    assert.equal(loadIdentity({ path, env: {} }).publicKeyHex, id.publicKeyHex)
    assert.throws(
      () => writeKeyFile(path, NodeIdentity.generate()),
      (err) => hasCode(err, 'KEY_EXISTS'),
    )
    assert.equal(loadIdentity({ path, env: {} }).publicKeyHex, id.publicKeyHex)
  })
})

describe('Ed25519Verifier', () => {
  it('gives the same answers as checkEd25519 and bounds its cache', () => {
    const v = new Ed25519Verifier(2)
    const ids = [NodeIdentity.generate(), NodeIdentity.generate(), NodeIdentity.generate()]
    const msg = hex('abcd')
    for (let round = 0; round < 2; round++) {
      for (const id of ids) {
        assert.deepEqual(v.check(id.publicKey, msg, id.sign(msg)), { ok: true })
        assert.deepEqual(v.check(id.publicKey, hex('abce'), id.sign(msg)), {
          ok: false,
          reason: 'bad-signature',
        })
      }
    }
    const small = hex(SMALL_ORDER_ENCODINGS[0] ?? '')
    assert.deepEqual(v.check(small, msg, new Uint8Array(64)), {
      ok: false,
      reason: 'small-order-public-key',
    })
  })
})

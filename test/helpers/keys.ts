import { createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto'

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export interface TestKey {
  seed: Uint8Array
  publicKey: Uint8Array
  publicKeyHex: string
  sign: (msg: Uint8Array) => Uint8Array
}

/** An Ed25519 key pair for tests (node:crypto). */
export function testKey(seed: Uint8Array = randomBytes(32)): TestKey {
  const priv = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  })
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32))
  return {
    seed: new Uint8Array(seed),
    publicKey,
    publicKeyHex: Buffer.from(publicKey).toString('hex'),
    sign: (msg) => new Uint8Array(sign(null, msg, priv)),
  }
}

export function testVerify(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  try {
    const key = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, pk]),
      format: 'der',
      type: 'spki',
    })
    return verify(null, msg, key, sig)
  } catch {
    return false
  }
}

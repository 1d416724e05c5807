export {
  checkEd25519,
  Ed25519Verifier,
  privateKeyFromSeed,
  publicKeyObject,
  signEd25519,
  SMALL_ORDER_ENCODINGS,
  verifyEd25519,
  type VerifyResult,
} from './ed25519.js'
export {
  loadIdentity,
  NodeIdentity,
  parseKeyHex,
  writeKeyFile,
  type LoadIdentityOptions,
} from './identity.js'

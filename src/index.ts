// Public surface of rhio as a library. Internals are not re-exported.
export { RhioError, hasCode, describeError } from './errors/index.js'
export {
  ConfigError,
  loadConfig,
  parseConfig,
  type Config,
  type LoadConfigOptions,
  type LoadedConfig,
  type Violation,
} from './config/index.js'
export { NodeIdentity, loadIdentity, verifyEd25519, checkEd25519 } from './identity/index.js'
export { LoggerFactory, libp2pComponentLogger } from './logging/index.js'
export { HealthModel, type Component, type HealthReport } from './component/index.js'
export { RhioNode, type RhioNodeInit } from './node/index.js'

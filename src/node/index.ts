export { RhioNode, SHUTDOWN_DEADLINE_MS, type RhioNodeInit, type StopResult } from './node.js'
export { RHIO_VERSION } from './version.js'

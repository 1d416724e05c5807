export type { Component } from './component.js'
export {
  HealthModel,
  type HealthModelInit,
  type HealthStatus,
  type ItemState,
  type ItemStatus,
  type NatsState,
  type NatsStatus,
} from './health.js'
export { RhioNode, SHUTDOWN_DEADLINE_MS, type RhioNodeInit, type StopResult } from './node.js'
export { STREAM_CHECK_INTERVAL_MS, StreamCheckComponent } from './stream-check.js'
export { RHIO_VERSION } from './version.js'

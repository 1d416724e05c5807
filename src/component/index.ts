export type { Component } from './component.js'
export type { ItemState, ItemStatus, NatsState, NatsStatus, UsageProblem } from './health.js'
export { HealthModel, type HealthModelInit, type HealthReport } from './health-model.js'
export {
  createMetrics,
  LABEL,
  LABEL_VALUE,
  METRIC,
  type CreateMetricsOptions,
  type RhioMetrics,
} from './metrics.js'

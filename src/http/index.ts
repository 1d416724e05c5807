export { createMetrics, LABEL, LABEL_VALUE, METRIC, Registry, type RhioMetrics } from './metrics.js'
export {
  createHttpServer,
  HttpServer,
  sendJson,
  type Handler,
  type HttpServerOptions,
  type Route,
} from './server.js'

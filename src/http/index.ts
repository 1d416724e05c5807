export {
  createHttpServer,
  HttpServer,
  sendJson,
  type Handler,
  type HttpServerOptions,
  type Route,
} from './server.js'

/**
 * The node's durable state store (sync heights, transfer progress, log
 * epochs) as a component: NATS KV (`state.backend: nats`, the default) or
 * JSON files under `data_dir/state`. Closed after everything that uses it.
 */
import { join } from 'node:path'
import type { Component } from '../component/index.js'
import type { Config } from '../config/index.js'
import type { LoggerFactory } from '../logging/index.js'
import type { NatsConnectionComponent } from '../nats/connection.js'
import { KvStateStore } from '../state/kv-state-store.js'
import { DirStateStore, type StateStore } from '../state/state-store.js'

export class StateComponent implements Component {
  readonly name = 'state'
  readonly store: StateStore

  constructor(components: { nats: NatsConnectionComponent; logs: LoggerFactory }, config: Config) {
    this.store =
      config.state.backend === 'nats'
        ? new KvStateStore({
            connection: () => components.nats.connection,
            bucket: config.state.kv_bucket,
            logger: components.logs.forComponent('rhio:state'),
          })
        : new DirStateStore(join(config.data_dir, 'state'))
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    await this.store.close()
  }
}

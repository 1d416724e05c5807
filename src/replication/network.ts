/**
 * What replication needs from the network, named by its consumer: open an
 * author log to append to, subscribe to an author's logs. The node's sync
 * layer (sync/sync-node.ts) provides it.
 */
import type { Selector } from '../core/selector.js'
import type { AuthorLog } from '../log/author-log.js'
import type { LogInfo } from '../log/frame-store.js'
import type { LogConsumer } from '../sync/want.js'

export interface LogNetwork {
  publish(info: Omit<LogInfo, 'author'>, filters: string[]): Promise<AuthorLog>
  subscribe(selector: Selector, consumer: LogConsumer): Promise<unknown>
}

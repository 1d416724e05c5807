/**
 * Warns about a subscription the author does not publish (a typo in
 * `subject` or `remote_bucket` otherwise shows Active with lag 0 forever).
 *
 * The author's own hello lists what it holds of its logs (`holds`: NATS
 * subject filters, bucket names). Once it lists something of a kind, every
 * subscription of that kind to this author that matches none of it is a
 * problem in /health (`subscribe.nats_subjects[i]: …`) and a WARN, once per
 * distinct answer; a later hello that covers it clears it. Forwarders' hellos
 * are not used: they hold only what they themselves subscribed to.
 */
import type { Logger } from 'pino'
import type { HealthModel } from '../component/index.js'
import type { Config } from '../config/index.js'
import { toHex } from '../core/codec.js'
import { filtersOverlap } from '../core/subject.js'
import type { PeerHello } from '../sync/hello.js'

export interface PublicationCheckComponents {
  health: HealthModel
  logger: Logger
}

interface Subscription {
  /** The config path, e.g. `subscribe.nats_subjects[0]`. */
  path: string
  author: string
  kind: 'nats' | 'blobs'
  /** A subject filter or a bucket name. */
  name: string
}

/** Whether something the author holds (filters of one kind) covers the subscribed name. */
export function published(kind: 'nats' | 'blobs', holds: readonly string[], name: string): boolean {
  return kind === 'nats' ? holds.some((f) => filtersOverlap(f, name)) : holds.includes(name)
}

export class PublicationCheck {
  private readonly subs: Subscription[]
  /** The problem last reported per subscription path. */
  private readonly reported = new Map<string, string>()

  constructor(
    private readonly components: PublicationCheckComponents,
    config: Config,
  ) {
    this.subs = [
      ...config.subscribe.nats_subjects.map((s, i) => ({
        path: `subscribe.nats_subjects[${i}]`,
        author: s.public_key,
        kind: 'nats' as const,
        name: s.subject,
      })),
      ...config.subscribe.s3_buckets.map((s, i) => ({
        path: `subscribe.s3_buckets[${i}]`,
        author: s.public_key,
        kind: 'blobs' as const,
        name: s.remote_bucket,
      })),
    ]
  }

  /** Checks every hello `onHello` reports from now on (nothing without subscriptions). */
  watch(onHello: (listener: (e: PeerHello) => void) => () => void): (() => void) | undefined {
    if (this.subs.length === 0) return undefined
    return onHello((e) => this.check(e))
  }

  /** Checks the subscriptions to the peer that said hello, if it is their author. */
  check(e: PeerHello): void {
    const { health, logger } = this.components
    for (const s of this.subs) {
      if (s.author !== e.peer.id) continue
      const holds = e.hello.holds
        .filter((h) => h.kind === s.kind && toHex(h.author) === s.author)
        .flatMap((h) => h.filters)
      // nothing of this kind yet: the author may still be starting
      if (holds.length === 0) continue
      if (published(s.kind, holds, s.name)) {
        if (this.reported.delete(s.path)) {
          health.setProblem(s.path, null)
          logger.info({ path: s.path, author: s.author }, 'the author now publishes it')
        }
        continue
      }
      const what = s.kind === 'nats' ? `subject ${s.name}` : `bucket ${s.name}`
      const problem =
        `author ${s.author.slice(0, 8)}… does not publish ${what} ` +
        `(it publishes ${[...new Set(holds)].sort().join(', ')})`
      health.setProblem(s.path, problem)
      if (this.reported.get(s.path) === problem) continue
      this.reported.set(s.path, problem)
      logger.warn({ path: s.path, author: s.author, publishes: holds }, `${s.path}: ${problem}`)
    }
  }
}

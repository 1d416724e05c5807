/**
 * The lifecycle shape every part of a node implements. The node starts its
 * components in order and stops them in reverse order.
 *
 * - `start(signal)` resolves once the component is running (it may keep
 *   working in the background, e.g. waiting for NATS). `signal` aborts when a
 *   shutdown is requested while starting.
 * - `stop()` releases everything the component holds and resolves when done.
 * - Both are idempotent: calling either twice is harmless.
 */
export interface Component {
  readonly name: string
  start(signal: AbortSignal): Promise<void>
  stop(): Promise<void>
}

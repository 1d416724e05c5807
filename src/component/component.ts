/**
 * The lifecycle shape every part of a node implements. The node starts its
 * components in order and stops them in reverse order, in two passes.
 *
 * - `start(signal)` resolves once the component is running (it may keep
 *   working in the background, e.g. waiting for NATS). `signal` aborts when a
 *   shutdown is requested while starting.
 * - `beforeStop()` (optional) stops taking new work, so that in the second
 *   pass nothing new arrives while other components flush (the p2p node stops
 *   its intake from the network before the NATS sinks flush).
 * - `stop()` releases everything the component holds and resolves when done.
 * - All are idempotent: calling any of them twice is harmless.
 */
export interface Component {
  readonly name: string
  start(signal: AbortSignal): Promise<void>
  beforeStop?(): Promise<void>
  stop(): Promise<void>
}

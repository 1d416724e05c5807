/**
 * What components report about themselves: the state of one item (a stream,
 * a bucket, a source or sink), a problem its user sees, and the NATS
 * connection. `/health` renders these in the original rhio's shape.
 */

/**
 * Status of one item, as the original spells it: `Unknown` until the first
 * check, `New` for a bucket nothing has reported on yet, then `Active` or
 * `Inactive`.
 */
export type ItemStatus = 'New' | 'Active' | 'Inactive' | 'Unknown'

/** The state of one item; sources and sinks report the same shape. */
export interface ItemState {
  status: ItemStatus
  lastError: string | null
  /** Unix ms of the last check, null before the first. */
  lastCheckTime: number | null
}

/**
 * A problem the component using a stream (the publish side's source, the
 * subscribe side's sink) sees right now, e.g. "no stream captures the
 * subject". It is kept apart from the periodic stream check's state so the two
 * never overwrite each other; /health shows the problem over the check.
 */
export interface UsageProblem {
  error: string
  /** Unix ms when it was last seen. */
  time: number
}

export type NatsStatus = 'Connecting' | 'Connected' | 'Disconnected' | 'Closed'

export interface NatsState {
  status: NatsStatus
  /** The server connected to (or last tried), e.g. `127.0.0.1:4222`. */
  server: string | null
  lastError: string | null
  /** Unix ms when `status` last changed. */
  since: number
}

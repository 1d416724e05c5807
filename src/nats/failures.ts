/**
 * Turns nats.js errors into rhio's failure reasons and coded errors, so the
 * sink/source can count failures by reason and report them in /health.
 */
import { JetStreamApiError } from '@nats-io/jetstream'
import {
  ClosedConnectionError,
  DrainingConnectionError,
  InvalidArgumentError,
  NoRespondersError,
  PermissionViolationError,
  TimeoutError,
} from '@nats-io/transport-node'
import { RhioError, describeError } from '../errors/index.js'

/** Why a JetStream publish failed. Every reason is retried by the sink. */
export type PublishFailureReason =
  | 'timeout'
  | 'no-stream'
  | 'wrong-stream'
  | 'too-large'
  | 'closed'
  | 'disconnected'
  | 'rejected'
  | 'other'

export const PUBLISH_FAILURE_REASONS: readonly PublishFailureReason[] = [
  'timeout',
  'no-stream',
  'wrong-stream',
  'too-large',
  'closed',
  'disconnected',
  'rejected',
  'other',
]

/** JetStream API error codes the sink distinguishes. */
const JS_WRONG_STREAM = 10060
const JS_MESSAGE_TOO_LARGE = 10054

/** Finds the first error in `err`'s cause chain that satisfies `pred`. */
export function findCause<T>(err: unknown, pred: (e: unknown) => e is T): T | undefined {
  let e: unknown = err
  for (let i = 0; i < 8 && e !== undefined && e !== null; i++) {
    if (pred(e)) return e
    e = e instanceof Error ? e.cause : undefined
  }
  return undefined
}

const is =
  <T>(cls: abstract new (...args: never[]) => T) =>
  (e: unknown): e is T =>
    e instanceof cls

export function classifyPublishError(
  err: unknown,
  subject: string,
  expectStream: string | undefined,
): { reason: PublishFailureReason; error: RhioError } {
  const api = findCause(err, is(JetStreamApiError))
  if (api?.code === JS_WRONG_STREAM) {
    return {
      reason: 'wrong-stream',
      error: new RhioError(
        'NATS_WRONG_STREAM',
        `subject ${subject} is not stored in the expected stream ${expectStream ?? '?'}`,
        { cause: err },
      ),
    }
  }
  if (api?.code === JS_MESSAGE_TOO_LARGE || findCause(err, isPayloadTooLarge)) {
    return {
      reason: 'too-large',
      error: new RhioError(
        'NATS_PAYLOAD_TOO_LARGE',
        `message on ${subject} is larger than allowed`,
        {
          cause: err,
        },
      ),
    }
  }
  if (api !== undefined) {
    return {
      reason: 'rejected',
      error: new RhioError(
        'NATS_PUBLISH_REJECTED',
        `JetStream rejected a message on ${subject}: ${api.message}`,
        {
          cause: err,
        },
      ),
    }
  }
  if (findCause(err, is(NoRespondersError))) {
    return {
      reason: 'no-stream',
      error: new RhioError(
        'NATS_NO_STREAM',
        `no stream captures subject ${subject} (or JetStream is not enabled, or the stream has no leader while a NATS cluster elects one)`,
        { cause: err },
      ),
    }
  }
  if (findCause(err, is(TimeoutError))) {
    return {
      reason: 'timeout',
      error: new RhioError('NATS_PUBLISH_TIMEOUT', `no acknowledgement for ${subject} in time`, {
        cause: err,
      }),
    }
  }
  if (err instanceof RhioError && err.code === 'NATS_DISCONNECTED') {
    return { reason: 'disconnected', error: err }
  }
  if (findCause(err, is(ClosedConnectionError)) || findCause(err, is(DrainingConnectionError))) {
    return {
      reason: 'closed',
      error: new RhioError('NATS_CONNECTION_CLOSED', 'the NATS connection is closed', {
        cause: err,
      }),
    }
  }
  if (findCause(err, is(PermissionViolationError))) {
    return {
      reason: 'rejected',
      error: new RhioError('NATS_PUBLISH_REJECTED', `not permitted to publish to ${subject}`, {
        cause: err,
      }),
    }
  }
  return {
    reason: 'other',
    error: new RhioError(
      'NATS_PUBLISH_FAILED',
      `publish to ${subject} failed: ${describeError(err)}`,
      {
        cause: err,
      },
    ),
  }
}

function isPayloadTooLarge(e: unknown): e is InvalidArgumentError {
  return e instanceof InvalidArgumentError && e.message.includes('max_payload')
}

import { RhioError } from '../errors/index.js'

/**
 * NATS subject checks. Tokens are separated by `.`, must be non-empty and may
 * not contain whitespace. Publish subjects have no wildcards; filters may use
 * `*` as a whole token and `>` as the whole last token.
 */
function tokens(subject: string, what: string): string[] {
  if (subject.length === 0) throw new RhioError('NATS_SUBJECT_INVALID', `empty ${what}`)
  if (/[\s]/.test(subject)) {
    throw new RhioError(
      'NATS_SUBJECT_INVALID',
      `${what} ${JSON.stringify(subject)} contains whitespace`,
    )
  }
  const parts = subject.split('.')
  if (parts.some((t) => t.length === 0)) {
    throw new RhioError(
      'NATS_SUBJECT_INVALID',
      `${what} ${JSON.stringify(subject)} has an empty token`,
    )
  }
  return parts
}

/** Throws NATS_SUBJECT_INVALID unless `subject` is a valid publish subject. */
export function validatePublishSubject(subject: string): void {
  for (const t of tokens(subject, 'subject')) {
    if (t.includes('*') || t.includes('>')) {
      throw new RhioError(
        'NATS_SUBJECT_INVALID',
        `subject ${JSON.stringify(subject)} contains a wildcard`,
      )
    }
  }
}

/** Throws NATS_SUBJECT_INVALID unless `filter` is a valid subscription filter. */
export function validateFilterSubject(filter: string): void {
  const parts = tokens(filter, 'filter subject')
  parts.forEach((t, i) => {
    const wildcardMisuse =
      (t.includes('*') && t !== '*') || (t.includes('>') && (t !== '>' || i !== parts.length - 1))
    if (wildcardMisuse) {
      throw new RhioError(
        'NATS_SUBJECT_INVALID',
        `filter subject ${JSON.stringify(filter)} misuses a wildcard`,
      )
    }
  })
}

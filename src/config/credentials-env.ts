/**
 * NATS and S3 credentials from the environment, so that they can come from a
 * secret store (a Kubernetes Secret mapped to env) instead of the config file,
 * which is often a ConfigMap (the original's operator copied them into it).
 *
 * Setting any variable of a group replaces that group's `credentials` block of
 * the file as a whole (never a merge, so a token in the file cannot combine
 * with a username from the environment into an ambiguous block). The schema
 * then validates the result as usual.
 */

/** The variables per credentials block, by config key. */
export const CREDENTIAL_ENV = {
  nats: {
    username: 'RHIO_NATS_USERNAME',
    password: 'RHIO_NATS_PASSWORD',
    nkey: 'RHIO_NATS_NKEY',
    token: 'RHIO_NATS_TOKEN',
  },
  s3: {
    access_key: 'RHIO_S3_ACCESS_KEY',
    secret_key: 'RHIO_S3_SECRET_KEY',
  },
} as const

type Env = Readonly<Record<string, string | undefined>>

/**
 * Applies the credential variables to the merged raw config (mutated) and
 * records their source as `sources['nats.credentials']` / `sources['s3.credentials']`
 * (or `sources[block]` when the file has no such block). S3 variables without
 * an `s3` block create one, so the schema reports the missing `s3.endpoint`
 * and `s3.region` instead of ignoring the variables.
 */
export function applyCredentialEnv(
  raw: Record<string, unknown>,
  env: Env,
  sources: Record<string, string>,
): void {
  for (const [block, vars] of Object.entries(CREDENTIAL_ENV)) {
    const credentials: Record<string, string> = {}
    const used: string[] = []
    for (const [key, name] of Object.entries(vars)) {
      const v = env[name]
      if (v === undefined || v === '') continue
      credentials[key] = v
      used.push(name)
    }
    if (used.length === 0) continue
    const current = raw[block]
    const from = `env ${used.join(', ')}`
    if (current === undefined || current === null) {
      raw[block] = { credentials }
      sources[block] = from
      continue
    }
    // A block of the wrong type stays as it is, for the schema to report.
    if (typeof current !== 'object' || Array.isArray(current)) continue
    raw[block] = { ...(current as Record<string, unknown>), credentials }
    sources[`${block}.credentials`] = from
  }
}

import { readFileSync } from 'node:fs'

function readVersion(): string {
  try {
    // dist/src/node/version.js → package.json at the project root
    const pkg = JSON.parse(
      readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
    ) as { version?: unknown }
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0'
  } catch {
    return '0.0.0'
  }
}

/** rhio's version from package.json. */
export const RHIO_VERSION = readVersion()

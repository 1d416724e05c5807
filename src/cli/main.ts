#!/usr/bin/env -S node --max-semi-space-size=8
// The flag caps V8's young generation (default up to 48 MiB) so streaming
// gigabytes of blobs keeps memory bounded; 8 rather than 2 MiB, since a smaller
// young generation let old-generation collections hold messages back (docs/OPERATIONS.md).
// Entry point of the `rhio` command. The polyfill must load before libp2p.
import '../util/polyfill.js'
import { describeError } from '../errors/index.js'
import { EXIT } from './common/exit-codes.js'
import { processIO } from './common/io.js'
import { main } from './program.js'

// The AWS SDK warns on Node < 22 that *later* SDK releases will need it; the
// pinned release supports Node 20 (the SDK version is pinned in package.json), so the 9-line warning on
// stderr of every run and every `rhio client` call with S3 is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

process.on('uncaughtException', (err) => {
  process.stderr.write(`rhio: uncaught exception: ${describeError(err)}\n${err.stack ?? ''}\n`)
  process.exit(EXIT.FAILURE)
})
process.on('unhandledRejection', (err) => {
  process.stderr.write(`rhio: unhandled rejection: ${describeError(err)}\n`)
  process.exit(EXIT.FAILURE)
})

const code = await main(process.argv, processIO())
process.exit(code)

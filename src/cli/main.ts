#!/usr/bin/env node
// Entry point of the `rhio` command. The polyfill must load before libp2p.
import '../polyfill.js'
import { describeError } from '../errors.js'
import { EXIT } from './exit-codes.js'
import { processIO } from './io.js'
import { main } from './program.js'

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

import type { CliIO } from '../common/io.js'

/**
 * Writes bytes to stdout, waiting for 'drain' when the pipe is full so a slow
 * reader bounds memory. Falls back to text output when no stream is injected.
 */
export async function writeOut(io: CliIO, chunk: string | Uint8Array): Promise<void> {
  const out = io.outStream
  if (!out) {
    io.out(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
    return
  }
  if (out.write(chunk)) return
  await new Promise<void>((resolve) => {
    const done = (): void => {
      out.off('drain', done)
      out.off('close', done)
      resolve()
    }
    out.once('drain', done)
    out.once('close', done)
  })
}

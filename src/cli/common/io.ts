/** What a CLI command may touch, injected so commands are testable in-process. */
export interface CliIO {
  out(text: string): void
  err(text: string): void
  env: Readonly<Record<string, string | undefined>>
  cwd: string
  stdoutIsTTY: boolean
  /** Raw stdout for bytes and backpressure (`rhio client get`, `sub`); text goes through `out`. */
  outStream?: NodeJS.WritableStream
}

export function processIO(): CliIO {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    stdoutIsTTY: process.stdout.isTTY === true,
    outStream: process.stdout,
  }
}

/** What a CLI command may touch, injected so commands are testable in-process. */
export interface CliIO {
  out(text: string): void
  err(text: string): void
  env: Readonly<Record<string, string | undefined>>
  cwd: string
  stdoutIsTTY: boolean
}

export function processIO(): CliIO {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    stdoutIsTTY: process.stdout.isTTY === true,
  }
}

/**
 * `RHIO_CPU_PROFILE=<file>`: records a V8 CPU profile of the whole run and
 * writes it (Chrome DevTools `.cpuprofile` format) at shutdown. For finding
 * where a node spends its time; `--cpu-prof` cannot be set through
 * NODE_OPTIONS on Node 20.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'

export interface Profiler {
  stop(): Promise<void>
}

export function startProfiler(file: string | undefined): Profiler | undefined {
  if (!file) return undefined
  const session = new Session()
  session.connect()
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) =>
      session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))),
    )
  const started = post('Profiler.enable').then(() => post('Profiler.start'))
  return {
    async stop() {
      await started
      const res = (await post('Profiler.stop')) as { profile: unknown }
      writeFileSync(file, JSON.stringify(res.profile))
      session.disconnect()
    },
  }
}

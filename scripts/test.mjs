// Runs every compiled test file under dist/test with node's test runner.
// Node 20 does not expand globs and exits 0 when given no files, so the files
// are listed here and an empty list is an error.
//
// Usage: node scripts/test.mjs [substring ...]   (filters files by path)
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function walk(dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : []
  })
}

const filters = process.argv.slice(2)
const all = walk('dist/test').sort()
const files = filters.length ? all.filter((f) => filters.some((s) => f.includes(s))) : all
if (files.length === 0) {
  console.error(
    `test: no test files found under dist/test${filters.length ? ` matching ${filters.join(', ')}` : ''} (did the build run?)`,
  )
  process.exit(1)
}

// Fast tests run two at a time; end-to-end tests (several processes each) one at a time.
// Nothing may hang CI: a file gets `fileMinutes` in all (--test-timeout bounds each
// file's run as well as each test), a file whose failed test left a socket or timer
// open is ended when its tests are done (--test-force-exit; without it node waits on
// that file forever), and a whole group is stopped after `groupMinutes`.
const groups = [
  {
    name: 'unit+integration',
    files: files.filter((f) => !f.includes('/e2e/')),
    concurrency: 2,
    fileMinutes: 6,
    groupMinutes: 25,
  },
  {
    name: 'e2e',
    files: files.filter((f) => f.includes('/e2e/')),
    concurrency: 1,
    fileMinutes: 8,
    groupMinutes: 40,
  },
]
let failed = false
for (const g of groups) {
  if (g.files.length === 0) continue
  console.log(`\n# ${g.name}: ${g.files.length} files`)
  const r = spawnSync(
    process.execPath,
    [
      '--enable-source-maps',
      '--test',
      `--test-concurrency=${g.concurrency}`,
      `--test-timeout=${g.fileMinutes * 60_000}`,
      '--test-force-exit',
      '--test-reporter=spec',
      ...g.files,
    ],
    {
      stdio: 'inherit',
      timeout: g.groupMinutes * 60_000,
      killSignal: 'SIGKILL',
      // the SDK's "later releases need Node 22" notice is noise here (package.json pins a release that supports Node 20)
      env: {
        ...process.env,
        RHIO_TEST: '1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    },
  )
  if (r.error?.code === 'ETIMEDOUT' || r.signal === 'SIGKILL') {
    console.error(`test: ${g.name} did not finish within ${g.groupMinutes} minutes; stopped`)
  }
  if (r.status !== 0) failed = true
}
process.exit(failed ? 1 : 0)

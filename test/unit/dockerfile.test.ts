/**
 * The container image, checked without a Docker engine: the Dockerfile's
 * instructions, stages and COPY sources against the repository, and the
 * .dockerignore against what the build needs.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import {
  INSTRUCTIONS,
  execForm,
  isIgnored,
  parseCopy,
  parseDockerfile,
  stages,
  type Stage,
} from '../helpers/dockerfile.js'

const root = new URL('../../../', import.meta.url)
const read = (name: string): string => readFileSync(new URL(name, root), 'utf8')
const exists = (name: string): boolean => existsSync(fileURLToPath(new URL(name, root)))

const dockerfile = parseDockerfile(read('Dockerfile'))
const all = stages(dockerfile)
const final = all[all.length - 1] as Stage
const dockerignore = read('.dockerignore')

function args(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args)
}

describe('Dockerfile', () => {
  it('uses only known instructions and starts with FROM', () => {
    const unknown = dockerfile.filter((i) => !INSTRUCTIONS.has(i.keyword))
    assert.deepEqual(unknown, [])
    assert.equal(dockerfile.find((i) => i.keyword !== 'ARG')?.keyword, 'FROM')
  })

  it('has build, deps and runtime stages on node:20-bookworm-slim with unique names', () => {
    assert.deepEqual(
      all.map((s) => [s.name, s.image]),
      [
        ['build', 'node:20-bookworm-slim'],
        ['deps', 'node:20-bookworm-slim'],
        ['runtime', 'node:20-bookworm-slim'],
      ],
    )
    const names = all.map((s) => s.name)
    assert.equal(new Set(names).size, names.length)
  })

  it('builds with npm ci && npm run build; the runtime gets production dependencies only', () => {
    const build = all.find((s) => s.name === 'build') as Stage
    const runs = args(build, 'RUN').join('\n')
    assert.match(runs, /npm ci\b/)
    assert.match(runs, /npm run build\b/)
    const deps = all.find((s) => s.name === 'deps') as Stage
    assert.match(args(deps, 'RUN').join('\n'), /npm ci --omit=dev\b/)
    assert.doesNotMatch(args(final, 'RUN').join('\n'), /npm (ci|install)/)
    const fromDeps = args(final, 'COPY')
      .map(parseCopy)
      .filter((c) => c.flags.from === 'deps')
    assert.deepEqual(
      fromDeps.map((c) => c.sources),
      [['/app/node_modules']],
    )
  })

  it('every COPY --from names an earlier stage; every other COPY source exists and is not ignored', () => {
    for (const stage of all) {
      for (const ins of stage.instructions.filter(
        (i) => i.keyword === 'COPY' || i.keyword === 'ADD',
      )) {
        const copy = parseCopy(ins.args)
        const from = copy.flags.from
        if (from !== undefined) {
          const source = all.find((s) => s.name === from.toLowerCase() || String(s.index) === from)
          assert.ok(source, `line ${ins.line}: COPY --from=${from} names no stage`)
          assert.ok(
            source.index < stage.index,
            `line ${ins.line}: COPY --from=${from} is not an earlier stage`,
          )
          continue
        }
        assert.equal(ins.keyword, 'COPY', `line ${ins.line}: use COPY, not ADD`)
        for (const src of copy.sources) {
          assert.ok(
            exists(src),
            `line ${ins.line}: COPY source ${src} does not exist in the repository`,
          )
          assert.ok(
            !isIgnored(dockerignore, src),
            `line ${ins.line}: COPY source ${src} is excluded by .dockerignore`,
          )
        }
      }
    }
  })

  it('copies everything the build script compiles', () => {
    const build = all.find((s) => s.name === 'build') as Stage
    const copied = args(build, 'COPY').flatMap((a) =>
      parseCopy(a).sources.map((s) => s.replace(/\/$/, '')),
    )
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'scripts', 'src']) {
      assert.ok(copied.includes(needed), `the build stage does not copy ${needed}`)
    }
    if (exists('assembly'))
      assert.ok(copied.includes('assembly'), 'assembly/ exists but is not copied')
  })

  it('runs as a non-root user given by number', () => {
    const users = args(final, 'USER')
    const user = users[users.length - 1]
    assert.ok(user, 'the runtime stage sets no USER')
    assert.match(user, /^[1-9]\d*(:\d+)?$/, 'USER must be numeric (runAsNonRoot checks the number)')
    const last = final.instructions.filter((i) => i.keyword === 'USER' || i.keyword === 'RUN').pop()
    assert.equal(last?.keyword, 'USER', 'no RUN after dropping root that might need it')
  })

  it('entrypoint, command, ports and health check', () => {
    assert.deepEqual(execForm(args(final, 'ENTRYPOINT').pop() ?? ''), [
      'node',
      '/app/dist/src/cli/main.js',
    ])
    assert.deepEqual(execForm(args(final, 'CMD').pop() ?? ''), ['-c', '/etc/rhio/config.yaml'])
    const ports = args(final, 'EXPOSE').flatMap((a) => a.split(/\s+/))
    assert.ok(ports.includes('9102/tcp'), 'p2p port 9102 over TCP (libp2p), not UDP')
    assert.ok(ports.some((p) => p === '8080' || p === '8080/tcp'))
    assert.ok(!ports.some((p) => p.endsWith('/udp')))
    const health = args(final, 'HEALTHCHECK').pop() ?? ''
    const cmd = execForm(health.slice(health.indexOf('CMD') + 3).trim())
    assert.ok(cmd, 'HEALTHCHECK CMD in exec form')
    assert.match(
      cmd.join(' '),
      /node \/app\/dist\/src\/cli\/main\.js status -c \/etc\/rhio\/config\.yaml/,
    )
    assert.match(cmd.join(' '), /\|\| exit 1/, 'every failure maps to 1 (Docker reserves 2)')
  })

  it("/usr/local/bin/rhio exists, as the original's chart and operator name it", async () => {
    const copy = args(final, 'COPY')
      .map(parseCopy)
      .find((c) => c.dest === '/usr/local/bin/rhio')
    assert.ok(copy, 'the runtime stage copies a file to /usr/local/bin/rhio')
    assert.equal(copy.flags.chmod, '755', 'executable')
    assert.deepEqual(copy.sources, ['scripts/rhio.sh'])
    // run the very script with the operator's leading argument, against this checkout's build
    const r = spawnSync(
      'sh',
      [fileURLToPath(new URL('scripts/rhio.sh', root)), '/usr/local/bin/rhio', '-V'],
      {
        env: { ...process.env, RHIO_HOME: fileURLToPath(root) },
        encoding: 'utf8',
      },
    )
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /^\d+\.\d+\.\d+/)
  })

  it('the entrypoint exists in the build output and package.json makes it an ES module', () => {
    // dist/ of this checkout is what `npm run build` produces in the build stage.
    assert.ok(exists('dist/src/cli/main.js'))
    assert.equal((JSON.parse(read('package.json')) as { type: string }).type, 'module')
    const copiesPackageJson = args(final, 'COPY').some((a) =>
      parseCopy(a).sources.includes('package.json'),
    )
    assert.ok(copiesPackageJson, 'the runtime needs package.json ("type": "module")')
  })
})

describe('.dockerignore', () => {
  it('keeps keys, local configs, data and dependencies out of the build context', () => {
    for (const p of [
      'node_modules/x',
      'dist/src/a.js',
      '.git/HEAD',
      'private.key',
      'site/a.key',
      'config.yaml',
      'rhio-data/x',
    ]) {
      assert.ok(isIgnored(dockerignore, p), `${p} should be ignored`)
    }
    for (const p of [
      'src/cli/main.ts',
      'package.json',
      'config.example.yaml',
      'scripts/build.mjs',
    ]) {
      assert.ok(!isIgnored(dockerignore, p), `${p} is needed`)
    }
  })

  it('the matcher follows Docker rules (last match wins, ! re-includes, ** spans directories)', () => {
    const rules = 'docs\n*.md\n!README.md\n**/*.tmp\n'
    assert.equal(isIgnored(rules, 'docs/a/b.txt'), true)
    assert.equal(isIgnored(rules, 'CHANGES.md'), true)
    assert.equal(isIgnored(rules, 'README.md'), false)
    assert.equal(isIgnored(rules, 'sub/README.md'), false)
    assert.equal(isIgnored(rules, 'a/b/c.tmp'), true)
    assert.equal(isIgnored(rules, 'c.tmp'), true)
    assert.equal(isIgnored(rules, 'src/x.ts'), false)
    assert.equal(isIgnored('**/config.yaml', 'myconfig.yaml'), false)
    assert.equal(isIgnored('**/config.yaml', 'a/config.yaml'), true)
  })
})

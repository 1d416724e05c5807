// Build: TypeScript (src, test, bench) into dist/, then the optional WASM fast
// paths from assembly/ into dist/wasm/. Generated output is never committed.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' })
  if (r.status !== 0) {
    console.error(`build: ${cmd} ${args.join(' ')} failed with ${r.status ?? r.signal}`)
    process.exit(r.status ?? 1)
  }
}

run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'])

if (existsSync('assembly')) {
  mkdirSync('dist/wasm', { recursive: true })
  for (const file of readdirSync('assembly')) {
    if (!file.endsWith('.ts') || file.startsWith('_')) continue
    const name = file.replace(/\.ts$/, '')
    run(process.execPath, [
      'node_modules/assemblyscript/bin/asc.js',
      join('assembly', file),
      '--outFile',
      join('dist/wasm', `${name}.wasm`),
      '--optimizeLevel',
      '3',
      '--shrinkLevel',
      '0',
      '--runtime',
      'stub',
      '--noAssert',
      '--enable',
      'simd',
      '--initialMemory',
      '2',
    ])
  }
}

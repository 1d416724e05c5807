import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  chooseLogFormat,
  formatLibp2p,
  libp2pComponentLogger,
  LoggerFactory,
  parseLogLevel,
  type LevelPolicy,
} from '../../src/logging/index.js'
import { captureLogs, type CapturedLogs } from '../helpers/logs.js'

function policy(spec: string | undefined): LevelPolicy {
  const r = parseLogLevel(spec)
  assert.ok(r.ok, r.ok ? '' : r.reason)
  return r.policy
}

const capture = (logLevel?: string): CapturedLogs => captureLogs(logLevel)

describe('log_level semantics (as the original)', () => {
  it('unset: rhio components at info, libraries at warn', () => {
    const p = policy(undefined)
    assert.equal(p.levelFor('rhio'), 'info')
    assert.equal(p.levelFor('rhio:http'), 'info')
    assert.equal(p.levelFor('libp2p:tcp'), 'warn')
    assert.equal(p.levelFor('nats'), 'warn')
    assert.equal(p.levelFor('s3'), 'warn')
  })

  it('a bare level applies to rhio components only, any case', () => {
    for (const spec of ['DEBUG', 'debug', 'Debug']) {
      const p = policy(spec)
      assert.equal(p.levelFor('rhio:sync'), 'debug')
      assert.equal(p.levelFor('libp2p:yamux'), 'warn')
    }
  })

  it('=LEVEL applies to every component', () => {
    const p = policy('=TRACE')
    assert.equal(p.levelFor('rhio:http'), 'trace')
    assert.equal(p.levelFor('libp2p:tcp'), 'trace')
    assert.equal(p.levelFor('nats'), 'trace')
  })

  it('directives: prefix match on component names, most specific wins', () => {
    const p = policy('rhio=INFO,libp2p=DEBUG,nats=TRACE,rhio:sync=trace,libp2p:yamux=error')
    assert.equal(p.levelFor('rhio:http'), 'info')
    assert.equal(p.levelFor('rhio:sync'), 'trace')
    assert.equal(p.levelFor('rhio:sync:session'), 'trace')
    assert.equal(p.levelFor('libp2p:tcp'), 'debug')
    assert.equal(p.levelFor('libp2p:yamux'), 'error')
    assert.equal(p.levelFor('nats'), 'trace')
    assert.equal(p.levelFor('s3'), 'warn') // no directive: the default
    assert.equal(p.levelFor('rhiox'), 'warn') // a prefix matches whole name segments only
  })

  it('=LEVEL inside directives is the fallback for every component', () => {
    const p = policy('=error,rhio=debug')
    assert.equal(p.levelFor('rhio:http'), 'debug')
    assert.equal(p.levelFor('s3'), 'error')
  })

  it('OFF silences a component', () => {
    assert.equal(policy('libp2p=off').levelFor('libp2p:tcp'), 'silent')
  })

  it('invalid values are rejected with a reason', () => {
    for (const [spec, reason] of [
      ['LOUD', /unknown level 'LOUD'/],
      ['rhio=LOUD', /unknown level 'LOUD' in 'rhio=LOUD'/],
      ['rhio=INFO,,nats=DEBUG', /empty directive/],
      ['rh io=INFO', /invalid component name 'rh io'/],
    ] as const) {
      const r = parseLogLevel(spec)
      assert.equal(r.ok, false, spec)
      if (!r.ok) assert.match(r.reason, reason)
    }
  })
})

describe('LoggerFactory', () => {
  it('writes JSON with a component field and per-component levels', () => {
    const { logs, lines } = capture('rhio:http=debug')
    logs.forComponent('rhio:http').debug({ port: 1 }, 'http listening')
    logs.forComponent('rhio:sync').debug('hidden')
    logs.forComponent('rhio:sync').info('shown')
    logs.forComponent('nats').info('hidden library info')
    logs.forComponent('nats').warn('library warning')
    assert.deepEqual(
      lines.map((l) => [l.level, l.component, l.msg]),
      [
        ['debug', 'rhio:http', 'http listening'],
        ['info', 'rhio:sync', 'shown'],
        ['warn', 'nats', 'library warning'],
      ],
    )
    assert.equal(lines[0]?.port, 1)
    assert.equal(typeof lines[0]?.time, 'number')
  })

  it('the root logger is component rhio, once', () => {
    const { logs, lines } = capture()
    logs.root.info('hello')
    assert.equal(lines[0]?.component, 'rhio')
    assert.equal(logs.forComponent('rhio'), logs.root)
  })

  it('an invalid log_level is a config error', () => {
    assert.throws(() => new LoggerFactory({ logLevel: 'LOUD' }), /CONFIG_INVALID|unknown level/)
  })

  it('format: RHIO_LOG_FORMAT wins, else pretty on a terminal and JSON otherwise', () => {
    assert.equal(chooseLogFormat({}, false), 'json')
    assert.equal(chooseLogFormat({}, true), 'pretty')
    assert.equal(chooseLogFormat({ RHIO_LOG_FORMAT: 'json' }, true), 'json')
    assert.equal(chooseLogFormat({ RHIO_LOG_FORMAT: 'pretty' }, false), 'pretty')
  })
})

describe('libp2p ComponentLogger adapter', () => {
  it('routes libp2p logs through pino under libp2p:* at debug/trace', () => {
    const { logs, lines } = capture('libp2p=trace')
    const log = libp2pComponentLogger(logs).forComponent('libp2p:tcp')
    assert.equal(log.enabled, true)
    log('dialing %s', '/ip4/127.0.0.1/tcp/1')
    log.error('dial failed %e', new Error('refused'))
    log.trace('bytes %d', 5)
    log.newScope('listener')('listening')
    assert.deepEqual(
      lines.map((l) => [l.level, l.component, l.msg]),
      [
        ['debug', 'libp2p:tcp', 'dialing /ip4/127.0.0.1/tcp/1'],
        ['debug', 'libp2p:tcp', lines[1]?.msg],
        ['trace', 'libp2p:tcp', 'bytes 5'],
        ['debug', 'libp2p:tcp:listener', 'listening'],
      ],
    )
    assert.match(String(lines[1]?.msg), /^dial failed Error: refused/)
    assert.equal(lines[1]?.libp2p_level, 'error')
  })

  it('names without the libp2p prefix get it; disabled loggers stay quiet', () => {
    const { logs, lines } = capture()
    const log = libp2pComponentLogger(logs).forComponent('gossipsub')
    assert.equal(log.enabled, false)
    log('not shown')
    log.error('not shown either')
    assert.equal(lines.length, 0)
    assert.equal(logs.levelFor('libp2p:gossipsub'), 'warn')
  })

  it('formats libp2p placeholders and extra arguments', () => {
    const peer = { toString: () => '12D3KooWpeer' }
    assert.equal(
      formatLibp2p('peer %p at %a', [peer, '/ip4/1.2.3.4']),
      'peer 12D3KooWpeer at /ip4/1.2.3.4',
    )
    assert.equal(formatLibp2p('bytes %b', [Uint8Array.from([1, 255])]), 'bytes 01ff')
    assert.equal(formatLibp2p('obj %o', [{ a: 1 }]), 'obj {"a":1}')
    assert.equal(formatLibp2p('100%% %s', ['done', 'extra']), '100% done extra')
    assert.equal(formatLibp2p('missing %s', []), 'missing %s')
    assert.equal(formatLibp2p({ a: 1 }, []), '{ a: 1 }')
  })
})

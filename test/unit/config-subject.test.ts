import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { subjectCovers, subjectProblem } from '../../src/config/index.js'

describe('NATS subjects', () => {
  it('valid subjects have no problem', () => {
    for (const s of ['a', 'a.b', '*', '>', 'a.*.c', 'a.>', '*.>', 'A-b_c.1']) {
      assert.equal(subjectProblem(s), null, s)
    }
  })

  it('invalid subjects name the rule', () => {
    assert.equal(subjectProblem(''), 'must not be empty')
    assert.equal(subjectProblem('a\tb'), 'must not contain whitespace')
    assert.match(subjectProblem('a..b') ?? '', /empty token/)
    assert.equal(subjectProblem('a*'), "'*' must be a whole token")
    assert.equal(subjectProblem('>.a'), "'>' is only allowed as the last token")
  })

  it('subjectCovers: a stream subject captures a filter', () => {
    const cases: Array<[string, string, boolean]> = [
      ['a.b', 'a.b', true],
      ['a.*', 'a.b', true],
      ['a.*', 'a.*', true],
      ['a.>', 'a.b.c', true],
      ['a.>', 'a.*', true],
      ['a.>', 'a.>', true],
      ['>', 'a', true],
      ['>', 'a.>', true],
      ['a.b', 'a.*', false],
      ['a.*', 'a.>', false],
      ['a.*', 'a.b.c', false],
      ['a.>', 'a', false],
      ['a.b.c', 'a.b', false],
      ['*.c', 'a.b', false],
      ['workload.>', 'workload.*.energy', true],
    ]
    for (const [pattern, filter, want] of cases) {
      assert.equal(subjectCovers(pattern, filter), want, `${pattern} covers ${filter}`)
    }
  })
})

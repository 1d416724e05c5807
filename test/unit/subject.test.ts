import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  filterContains,
  filtersOverlap,
  subjectError,
  subjectFilterError,
  subjectMatches,
} from '../../src/core/subject.js'

test('filter validation follows the NATS rules', () => {
  for (const ok of ['a', 'a.b', 'a.*', '*.b.>', '>', 'workload.berlin.energy', 'a-b_c.D1']) {
    assert.equal(subjectFilterError(ok), undefined, ok)
  }
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['a..b', /empty token/],
    ['.a', /empty token/],
    ['a.', /empty token/],
    ['a b', /whitespace/],
    ['a.>.b', /last token/],
    ['a.b*', /whole token/],
    ['a.>b', /whole token/],
  ]
  for (const [s, re] of bad) assert.match(subjectFilterError(s) ?? '', re, s)
  assert.match(subjectError('a.*') ?? '', /wildcards/)
  assert.equal(subjectError('a.b'), undefined)
})

test('matching: the original cases that apply to literal subjects, plus >', () => {
  const cases: Array<[string, string, boolean]> = [
    ['a.*', 'a.b', true],
    ['a.*', 'a.b.c', false],
    ['a.*.c', 'a.b.c', true],
    ['*.*', 'a.b', true],
    ['*.c', 'a.b.c', false],
    ['*.*', 'a.b.c', false],
    ['*.*.*', 'a.b.c', true],
    ['a.b', 'a.b.c', false],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['>', 'x', true],
    ['a.b.>', 'a.b.c.d.e', true],
    ['a.b', 'a.b', true],
    ['a.b', 'a.bb', false],
    ['ab.*', 'a.b', false],
  ]
  for (const [f, s, want] of cases) assert.equal(subjectMatches(f, s), want, `${f} ~ ${s}`)
})

test('containment and overlap', () => {
  assert.equal(filterContains('a.>', 'a.b.*'), true)
  assert.equal(filterContains('a.*', 'a.b'), true)
  assert.equal(filterContains('a.*', 'a.>'), false)
  assert.equal(filterContains('a.b', 'a.*'), false)
  assert.equal(filterContains('>', 'x.y'), true)
  assert.equal(filterContains('a.*.c', 'a.*.c'), true)
  assert.equal(filtersOverlap('a.*', 'a.b.*'), false)
  assert.equal(filtersOverlap('a.b.*', 'a.*.c'), true)
  assert.equal(filtersOverlap('a.>', '*.b'), true)
  assert.equal(filtersOverlap('x.>', 'y.>'), false)
})

// Property: containment and overlap agree with matching on concrete subjects.
const token = fc.constantFrom('a', 'b', 'c')
const filterTok = fc.constantFrom('a', 'b', 'c', '*')
const filterArb = fc
  .tuple(fc.array(filterTok, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([t, tail]) => (tail ? [...t, '>'] : t).join('.'))
const subjectArb = fc.array(token, { minLength: 1, maxLength: 6 }).map((t) => t.join('.'))

test('property: contains(o, i) implies every subject i matches, o matches too', () => {
  fc.assert(
    fc.property(filterArb, filterArb, fc.array(subjectArb, { maxLength: 30 }), (o, i, subjects) => {
      if (!filterContains(o, i)) return
      for (const s of subjects)
        if (subjectMatches(i, s)) assert.ok(subjectMatches(o, s), `${o} ⊇ ${i} but not ${s}`)
    }),
  )
})

test('property: a subject matching both filters implies overlap', () => {
  fc.assert(
    fc.property(filterArb, filterArb, subjectArb, (a, b, s) => {
      if (subjectMatches(a, s) && subjectMatches(b, s))
        assert.ok(filtersOverlap(a, b), `${a} ∩ ${b} ∋ ${s}`)
    }),
  )
})

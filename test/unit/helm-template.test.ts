/** The test-only Go-template renderer behaves like Helm on the subset it supports. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { mergeValues, renderString, TemplateError } from '../helpers/helm-template.js'

const r = (src: string, dot: unknown = {}, defines = ''): string => renderString(src, dot, defines)

describe('Go template subset renderer', () => {
  it('fields, literals, pipelines and whitespace trimming', () => {
    const dot = { Values: { a: { b: 'x' }, n: 3, t: true } }
    assert.equal(
      r('v={{ .Values.a.b }} n={{ .Values.n }} t={{ .Values.t }}', dot),
      'v=x n=3 t=true',
    )
    assert.equal(r('a\n  {{- "b" }}\n{{ "c" -}}\n  d', dot), 'ab\ncd')
    assert.equal(r('{{ .Values.a.b | quote }}', dot), '"x"')
    assert.equal(r('{{ .Values.missing }}|{{ .Values.missing | quote }}', dot), '|')
    assert.equal(r('{{/* a comment */}}x{{- /* trimmed */ -}} y', dot), 'xy')
    assert.equal(r('{{ printf "%s-%d" "a" 7 | trunc 2 | trimSuffix "-" }}', dot), 'a')
  })

  it('if / else if / else with Go truth', () => {
    const src = '{{ if .v }}yes{{ else if .w }}w{{ else }}no{{ end }}'
    for (const [v, want] of [
      [true, 'yes'],
      ['', 'no'],
      [0, 'no'],
      [[], 'no'],
      [{}, 'no'],
      [[0], 'yes'],
      ['0', 'yes'],
    ] as const) {
      assert.equal(r(src, { v }), want, JSON.stringify(v))
    }
    assert.equal(r(src, { v: false, w: 1 }), 'w')
    assert.equal(r('{{ if and (eq .a "x") .b }}1{{ else }}0{{ end }}', { a: 'x', b: '' }), '0')
    assert.equal(r('{{ if or .a .b }}{{ or .a .b }}{{ end }}', { a: '', b: 'B' }), 'B')
    assert.equal(r('{{ if not .a }}none{{ end }}', {}), 'none')
  })

  it('define, include, nindent, toYaml (sorted, no final newline), default, b64enc, sha256sum', () => {
    const defines = '{{- define "x.label" -}}k: {{ .v }}{{- end -}}'
    assert.equal(r('m:\n  {{- include "x.label" . | nindent 2 }}', { v: 1 }, defines), 'm:\n  k: 1')
    assert.equal(r('{{ toYaml .m }}', { m: { b: 1, a: [1, 2] } }), 'a:\n  - 1\n  - 2\nb: 1')
    assert.equal(r('{{ .t | default "d" }}|{{ .u | default "d" }}', { t: 'T', u: '' }), 'T|d')
    assert.equal(r('{{ "hi" | b64enc }}', {}), 'aGk=')
    assert.equal(
      r('{{ "" | sha256sum }}', {}),
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
  })

  it('errors as Helm: nil field access, required, fail', () => {
    assert.throws(() => r('{{ .a.b.c }}', { a: {} }), /nil pointer evaluating \.a\.b\.c/)
    assert.throws(() => r('{{ required "need x" .x }}', {}), /need x/)
    assert.equal(r('{{ required "need x" .x }}', { x: 0 }), '0')
    assert.throws(() => r('{{ fail "stop" }}', {}), /stop/)
    assert.throws(() => r('{{ .m }}', { m: { a: 1 } }), /cannot print a map/)
  })

  it('rejects everything outside the subset', () => {
    for (const src of [
      '{{ range .x }}{{ end }}',
      '{{ with .x }}{{ end }}',
      '{{ $v := 1 }}',
      '{{ upper "x" }}',
      '{{ template "t" . }}',
      '{{ end }}',
      '{{ if .x }}',
    ]) {
      assert.throws(() => r(src, { x: [1] }), TemplateError, src)
    }
  })

  it('values merge like Helm: maps merge, lists replace, null deletes', () => {
    assert.deepEqual(
      mergeValues({ a: { b: 1, c: [1] }, d: 1, e: 2 }, { a: { c: [2], x: 3 }, d: null }),
      { a: { b: 1, c: [2], x: 3 }, e: 2 },
    )
  })
})

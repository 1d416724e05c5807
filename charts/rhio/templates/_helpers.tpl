{{/*
Written in a deliberately small subset of Go templates (if/else/end, define,
include, pipelines of the functions used below) so that a test can render
the chart without Helm (test/helpers/helm-template.ts).
*/}}

{{/* The chart name, at most 63 characters. */}}
{{- define "rhio.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's object name: the release name, plus the chart name unless it already contains it. */}}
{{- define "rhio.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "rhio.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "rhio.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rhio.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rhio.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "rhio.labels" -}}
{{ include "rhio.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret holding the node key: an existing one, or the one this chart creates. */}}
{{- define "rhio.keySecretName" -}}
{{- if .Values.privateKeySecret.name -}}
{{- .Values.privateKeySecret.name -}}
{{- else -}}
{{- printf "%s-key" (include "rhio.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "rhio.keySecretKey" -}}
{{- if .Values.privateKeySecret.name -}}
{{- .Values.privateKeySecret.key -}}
{{- else -}}
secretKey
{{- end -}}
{{- end -}}

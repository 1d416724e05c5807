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

{{/*
The original rhio chart's value names (docs/MIGRATING.md). Those with a
place here are aliases (services.type, services.network.nodePort,
serviceAccount.*, image.repository ""); the rest must agree with this
chart's own keys, or rendering stops with a message naming old and new key.
Numbers are compared as text: Helm reads values files as float64 and --set as
int64, which `eq` would refuse to compare. Renders nothing.
*/}}
{{- define "rhio.originalValues" -}}
{{- if .Values.replicaCount }}
{{- if not (eq (printf "%v" .Values.replicaCount) "1") }}
{{- fail "replicaCount (original chart) must be 1: one pod per node key; run one release per site" }}
{{- end }}
{{- end }}
{{- if .Values.services }}
{{- if .Values.services.network }}
{{- if .Values.services.network.port }}
{{- if not (eq (printf "%v" .Values.services.network.port) (printf "%v" .Values.configuration.bind_port)) }}
{{- fail "services.network.port (original chart) is configuration.bind_port in this chart (the Service and the container use one port): set configuration.bind_port" }}
{{- end }}
{{- end }}
{{- end }}
{{- if .Values.services.health }}
{{- if .Values.services.health.port }}
{{- if not (eq (printf "%v" .Values.services.health.port) (printf "%v" .Values.configuration.http_bind_port)) }}
{{- fail "services.health.port (original chart) is configuration.http_bind_port in this chart: set configuration.http_bind_port" }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* service.type, or the original chart's services.type. */}}
{{- define "rhio.serviceType" -}}
{{- if .Values.services -}}
{{- if .Values.services.type -}}
{{- .Values.services.type -}}
{{- else -}}
{{- .Values.service.type -}}
{{- end -}}
{{- else -}}
{{- .Values.service.type -}}
{{- end -}}
{{- end -}}

{{/* service.nodePorts.p2p, or the original chart's services.network.nodePort. */}}
{{- define "rhio.p2pNodePort" -}}
{{- if .Values.services -}}
{{- if .Values.services.network -}}
{{- if .Values.services.network.nodePort -}}
{{- .Values.services.network.nodePort -}}
{{- else -}}
{{- .Values.service.nodePorts.p2p -}}
{{- end -}}
{{- else -}}
{{- .Values.service.nodePorts.p2p -}}
{{- end -}}
{{- else -}}
{{- .Values.service.nodePorts.p2p -}}
{{- end -}}
{{- end -}}

{{/* The ServiceAccount's name: serviceAccount.name, else the release's name. */}}
{{- define "rhio.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "rhio.fullname" .) -}}
{{- end -}}

{{/*
A probe's timings. The request (httpGet) is the chart's own, so an httpGet in
the values (the original chart had one) is not repeated.
*/}}
{{- define "rhio.probeTimings" -}}
{{- if .initialDelaySeconds }}
initialDelaySeconds: {{ .initialDelaySeconds }}
{{- end }}
{{- if .periodSeconds }}
periodSeconds: {{ .periodSeconds }}
{{- end }}
{{- if .timeoutSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
{{- end }}
{{- if .successThreshold }}
successThreshold: {{ .successThreshold }}
{{- end }}
{{- if .failureThreshold }}
failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end -}}

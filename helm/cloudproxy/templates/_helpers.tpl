{{/* Object name prefix: <release>-cloudproxy, or the release name when it already contains the chart name. */}}
{{- define "cloudproxy.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "cloudproxy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels shared by every object. */}}
{{- define "cloudproxy.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "cloudproxy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cloudproxy
{{- end -}}

{{/* Selector labels of one service; call with (dict "root" $ "name" $name). */}}
{{- define "cloudproxy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cloudproxy.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Object name of one service; call with (dict "root" $ "name" $name). */}}
{{- define "cloudproxy.serviceName" -}}
{{- printf "%s-%s" (include "cloudproxy.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Secret services and components read from. */}}
{{- define "cloudproxy.secretName" -}}
{{- default (printf "%s-secrets" (include "cloudproxy.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* App ids of the enabled services, as a YAML list (Dapr component scopes). */}}
{{- define "cloudproxy.enabledAppIds" -}}
{{- range $name, $svc := .Values.services }}
{{- if $svc.enabled }}
- {{ $name }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The Dapr Configuration name a service's sidecar uses (the reverse proxy gets the rate-limited one). */}}
{{- define "cloudproxy.daprConfig" -}}
{{- if and (eq .name "reverse-proxy") .root.Values.dapr.rateLimit.enabled -}}
{{- printf "%s-reverse-proxy" (include "cloudproxy.fullname" .root) -}}
{{- else -}}
{{- include "cloudproxy.fullname" .root -}}
{{- end -}}
{{- end -}}

{{/* A CloudProxy setting key ("StatsD:Forwarder:Host") as an environment variable name. */}}
{{- define "cloudproxy.envName" -}}
{{- printf "CloudProxy__%s" (. | replace ":" "__") -}}
{{- end -}}

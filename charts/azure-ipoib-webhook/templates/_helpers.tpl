{{/* Names and labels as the Go original's chart has them: the DaemonSet's selector cannot
change in place, so `helm upgrade` from a release of that chart needs the same one. */}}
{{- define "azure-ipoib-webhook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "azure-ipoib-webhook.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "azure-ipoib-webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "azure-ipoib-webhook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "azure-ipoib-webhook.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "azure-ipoib-webhook.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
tier: node
{{- end -}}

{{/* repository:tag, where an empty tag, or "latest" (the original's default, never published),
is the chart's appVersion, and a tag "sha256:…" is a digest. */}}
{{- define "azure-ipoib-webhook.image" -}}
{{- $tag := .image.tag | toString -}}
{{- if or (eq $tag "") (eq $tag "latest") -}}
{{- $tag = .appVersion -}}
{{- end -}}
{{- if hasPrefix "sha256:" $tag -}}
{{- printf "%s@%s" .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The least-privilege settings every container shares: no capability, no way to gain one,
a read-only root, the runtime's default seccomp profile. */}}
{{- define "azure-ipoib-webhook.locked" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

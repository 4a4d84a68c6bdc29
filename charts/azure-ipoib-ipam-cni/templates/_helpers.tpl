{{/* The chart's name, or nameOverride. */}}
{{- define "azure-ipoib-ipam-cni.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The objects' name: fullnameOverride, else the release name if it holds the chart's name,
else <release>-<name>. */}}
{{- define "azure-ipoib-ipam-cni.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "azure-ipoib-ipam-cni.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "azure-ipoib-ipam-cni.selectorLabels" -}}
app.kubernetes.io/name: {{ include "azure-ipoib-ipam-cni.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "azure-ipoib-ipam-cni.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "azure-ipoib-ipam-cni.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* repository:tag, where an empty tag (or "latest", which is never published) is the
chart's appVersion, and a tag "sha256:…" is a digest. */}}
{{- define "azure-ipoib-ipam-cni.image" -}}
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

{{/* The embedded IPAM config: .Values.ipam with the plugin's type. */}}
{{- define "azure-ipoib-ipam-cni.ipam" -}}
{{- $ipam := deepCopy (.Values.ipam | default dict) -}}
{{- $_ := set $ipam "type" "azure-ipoib-ipam-cni" -}}
{{- toPrettyJson $ipam -}}
{{- end -}}

{{/* The device plugin's resource, as Multus's resourceName annotation wants it. */}}
{{- define "azure-ipoib-ipam-cni.resource" -}}
{{- if contains "/" .Values.network.resourceName -}}
{{- .Values.network.resourceName -}}
{{- else -}}
{{- printf "nvidia.com/%s" .Values.network.resourceName -}}
{{- end -}}
{{- end -}}

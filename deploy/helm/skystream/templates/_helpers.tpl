{{/* The chart's name, and the release's prefix of every object name. */}}
{{- define "skystream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "skystream.fullname" -}}
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

{{/* Selector labels; (dict "ctx" . "component" "agent"), component optional. */}}
{{- define "skystream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "skystream.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{/* Every object's labels; (dict "ctx" . "component" "agent"), component optional. */}}
{{- define "skystream.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "skystream.selectorLabels" . }}
app.kubernetes.io/part-of: skystream
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end -}}

{{/* A pod template's labels (no chart version: a chart upgrade alone restarts nothing). */}}
{{- define "skystream.podLabels" -}}
{{ include "skystream.selectorLabels" . }}
app.kubernetes.io/part-of: skystream
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
{{- end -}}

{{/*
A pod template's annotations; (dict "ctx" . "port" 9464 "extra" map): the config's checksum (a change of
configuration rolls the pods), prometheus.io/* (when metrics.podAnnotations), the component's own.
*/}}
{{- define "skystream.podAnnotations" -}}
{{- $a := dict "checksum/config" (include "skystream.config" .ctx | sha256sum) -}}
{{- if .ctx.Values.metrics.podAnnotations -}}
{{- $_ := set $a "prometheus.io/scrape" "true" -}}
{{- $_ := set $a "prometheus.io/port" (toString .port) -}}
{{- $_ := set $a "prometheus.io/path" "/metrics" -}}
{{- end -}}
{{- $a = merge (deepCopy (.extra | default dict)) $a -}}
annotations:
  {{- toYaml $a | nindent 2 }}
{{- end -}}

{{- define "skystream.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "skystream.secretName" -}}
{{- default (include "skystream.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* Where the ConfigMap's file is mounted, and the Secret's htpasswd. */}}
{{- define "skystream.configDir" -}}/etc/skystream/config{{- end -}}
{{- define "skystream.authDir" -}}/etc/skystream/auth{{- end -}}

{{/*
Skystream's configuration file: what the chart derives from its values, with .Values.config merged over it.
Returns YAML; `include "skystream.config" . | fromYaml` gives the effective settings to templates.
Topology probes differ by agent: each agent's container sets its own (SKYSTREAM_AGENT_TOPOLOGY_PROBES, see
skystream.agentTopologyProbes), so agent.topology.probes is not in the file.
*/}}
{{- define "skystream.config" -}}
{{- $v := .Values -}}
{{- $base := dict
  "log" (dict "level" "info" "format" "json")
  "kafka" (dict
    "brokers" $v.kafka.bootstrap
    "topics" (dict "create" $v.kafka.topics.create "partitions" $v.kafka.topics.partitions "replication_factor" $v.kafka.topics.replicationFactor))
  "clickhouse" (dict "url" $v.clickhouse.url "database" $v.clickhouse.database)
  "pipeline" (dict "group_id" $v.pipeline.groupId)
  "api" (dict "listen" "0.0.0.0:8082" "auth" (dict "htpasswd" (printf "%s/htpasswd" (include "skystream.authDir" .))))
-}}
{{- $cfg := mergeOverwrite (deepCopy $base) (deepCopy ($v.config | default dict)) -}}
{{- $agent := get $cfg "agent" | default dict -}}
{{- $topology := get $agent "topology" | default dict -}}
{{- $_ := unset $topology "probes" -}}
{{- if empty $topology }}{{ $_ := unset $agent "topology" }}{{ end -}}
{{- if empty $agent }}{{ $_ := unset $cfg "agent" }}{{ end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/*
The DaemonSet's topology probes (agent.topology.probes): agent.topologyProbes with config.agent.topology.probes
merged over them. Returns YAML.
*/}}
{{- define "skystream.agentTopologyProbes" -}}
{{- $config := .Values.config | default dict -}}
{{- $fromConfig := get (get (get $config "agent" | default dict) "topology" | default dict) "probes" | default dict -}}
{{- toYaml (mergeOverwrite (deepCopy (.Values.agent.topologyProbes | default dict)) (deepCopy $fromConfig)) -}}
{{- end -}}

{{/* Whether a topology probe id ("type" or "type/name") is a k8s probe. */}}
{{- define "skystream.isK8sProbe" -}}
{{- if or (eq . "k8s") (hasPrefix "k8s/" .) }}true{{ end -}}
{{- end -}}

{{/*
The k8s probes that read the API with the pod's service account (no kubeconfig, no api_url of their own), as
the values that set them; the chart refuses them without rbac.create (the account then mounts no token).
*/}}
{{- define "skystream.inClusterK8sProbes" -}}
{{- $found := list -}}
{{- $sets := list (list "agent.topologyProbes" (include "skystream.agentTopologyProbes" . | fromYaml)) -}}
{{- if .Values.clusterAgent.enabled -}}
{{- $sets = append $sets (list "clusterAgent.topologyProbes" (.Values.clusterAgent.topologyProbes | default dict)) -}}
{{- end -}}
{{- range $set := $sets -}}
{{- $probes := index $set 1 -}}
{{- range $id := keys $probes | sortAlpha -}}
{{- $p := index $probes $id | default dict -}}
{{- if and (include "skystream.isK8sProbe" $id) (not (get $p "kubeconfig")) (not (get $p "api_url")) -}}
{{- $found = append $found (printf "%s.%s" (index $set 0) $id) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- join ", " $found -}}
{{- end -}}

{{/* The SKYSTREAM_CONFIG variable, first of every container's env. */}}
{{- define "skystream.configEnv" -}}
- name: SKYSTREAM_CONFIG
  value: {{ include "skystream.configDir" . }}/skystream.yaml
{{- end -}}

{{/* ClickHouse's credentials from the Secret (pipeline and API). */}}
{{- define "skystream.clickhouseEnv" -}}
- name: SKYSTREAM_CLICKHOUSE_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ include "skystream.secretName" . }}
      key: clickhouse-username
- name: SKYSTREAM_CLICKHOUSE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "skystream.secretName" . }}
      key: clickhouse-password
{{- end -}}

{{/* Liveness and readiness on the metrics server (/metrics answers while the process does; /healthz when its dependencies do). */}}
{{- define "skystream.probe" -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
  {{- with .scheme }}
  scheme: {{ . }}
  {{- end }}
initialDelaySeconds: {{ .delay }}
periodSeconds: {{ .period }}
timeoutSeconds: 5
failureThreshold: 3
{{- end -}}

{{/* Security context of the non-root processes (pipeline, API): the image's user skystream. */}}
{{- define "skystream.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "skystream.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Scheduling fields of a component's pod spec; (dict "values" .Values.agent). */}}
{{- define "skystream.scheduling" -}}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

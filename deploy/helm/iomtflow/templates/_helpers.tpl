{{/* Names and labels ------------------------------------------------------------------------ */}}

{{- define "iomtflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "iomtflow.fullname" -}}
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

{{- define "iomtflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "iomtflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "iomtflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "iomtflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: pipeline
{{- end -}}

{{- define "iomtflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "iomtflow.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "iomtflow.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* What the sources ask for ---------------------------------------------------------------- */}}

{{/* "true" when config.source.<name> is present and not `enabled: false` (iomtflow's rule). */}}
{{- define "iomtflow.sourceEnabled" -}}
{{- $src := (get .root.Values.config "source") | default dict -}}
{{- if hasKey $src .name -}}
{{- $s := (get $src .name) | default dict -}}
{{- if or (not (hasKey $s "enabled")) (get $s "enabled") -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* "true" when Event Hubs partitions are balanced through ownership records (ownership: dynamic). */}}
{{- define "iomtflow.dynamicOwnership" -}}
{{- if include "iomtflow.sourceEnabled" (dict "root" . "name" "eventhubs") -}}
{{- $eh := get .Values.config.source "eventhubs" | default dict -}}
{{- if eq ((get $eh "ownership") | default "static") "dynamic" -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* "true" when Event Hubs partitions are split over the replicas by ordinal (static, no explicit list). */}}
{{- define "iomtflow.staticOwnership" -}}
{{- if and (include "iomtflow.sourceEnabled" (dict "root" . "name" "eventhubs")) (not (include "iomtflow.dynamicOwnership" .)) -}}
{{- $eh := get .Values.config.source "eventhubs" | default dict -}}
{{- if not (get $eh "partitions") -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{- define "iomtflow.bufferEnabled" -}}
{{- $b := (get .Values.config "buffer") | default dict -}}
{{- if get $b "enabled" -}}true{{- end -}}
{{- end -}}

{{/* StatefulSet when a pod needs a stable identity (partition ownership) or its own volume (durable buffer). */}}
{{- define "iomtflow.statefulSet" -}}
{{- if or (include "iomtflow.bufferEnabled" .) (include "iomtflow.staticOwnership" .) -}}true{{- end -}}
{{- end -}}

{{- define "iomtflow.kind" -}}
{{- if include "iomtflow.statefulSet" . -}}StatefulSet{{- else -}}Deployment{{- end -}}
{{- end -}}

{{/* Combinations the schema cannot express; fail with a message that says what to change. */}}
{{- define "iomtflow.validate" -}}
{{- $fhir := (get .Values.config "fhir") | default dict -}}
{{- if not (get $fhir "url") -}}
{{- fail "config.fhir.url is required: the FHIR server's base URL (https://.../fhir)" -}}
{{- end -}}
{{- if not .Values.mappings.device -}}
{{- fail "mappings.device is required: --set-file mappings.device=devicecontent.json" -}}
{{- end -}}
{{- if not .Values.mappings.fhir -}}
{{- fail "mappings.fhir is required: --set-file mappings.fhir=fhirmapping.json" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (include "iomtflow.staticOwnership" .) -}}
{{- fail "autoscaling.enabled cannot be combined with Event Hubs static partition ownership: each replica owns partition % replicaCount, fixed when the chart is rendered. Scale by changing replicaCount (and keep replicaCount <= partitions), or set config.source.eventhubs.ownership: dynamic (docs/scaling.md)." -}}
{{- end -}}
{{- if include "iomtflow.dynamicOwnership" . -}}
{{- $eh := get .Values.config.source "eventhubs" -}}
{{- if ne ((get $eh "checkpoint_store") | default "file") "blob" -}}
{{- fail "config.source.eventhubs.ownership dynamic keeps its ownership records next to the checkpoints in Azure Blob Storage: set config.source.eventhubs.checkpoint_store: blob and checkpoint_blob.container" -}}
{{- end -}}
{{- if get $eh "partitions" -}}
{{- fail "config.source.eventhubs.partitions is for ownership static: with ownership dynamic the replicas balance the partitions themselves (drop the list)" -}}
{{- end -}}
{{- end -}}
{{- if and (include "iomtflow.sourceEnabled" (dict "root" . "name" "eventhubs")) (get (get .Values.config.source "eventhubs" | default dict) "partitions") (gt (int .Values.replicaCount) 1) -}}
{{- fail "config.source.eventhubs.partitions lists the partitions explicitly, so every replica would read the same ones: use replicaCount: 1, or drop the list and let the replicas share the partitions by ordinal" -}}
{{- end -}}
{{- if and (include "iomtflow.sourceEnabled" (dict "root" . "name" "eventhubs")) (eq ((get (get .Values.config.source "eventhubs") "checkpoint_store") | default "file") "blob") (not .Values.secrets.checkpointBlobConnectionString.secretName) -}}
{{- fail "config.source.eventhubs.checkpoint_store is blob: set secrets.checkpointBlobConnectionString.secretName/secretKey (the Secret holding the storage connection string or SAS URL)" -}}
{{- end -}}
{{- $http := (get ((get .Values.config "source") | default dict) "http") | default dict -}}
{{- $httpOn := or (not (hasKey $http "enabled")) (get $http "enabled") -}}
{{- if and $httpOn (contains "sas" ((get $http "auth") | default "sas")) (not .Values.secrets.sasKeys) -}}
{{- fail "secrets.sasKeys is empty but config.source.http.auth is sas: name at least one existing Secret holding a SAS key (or set config.source.http.auth: none, for local use only)" -}}
{{- end -}}
{{- $auth := (get $fhir "auth") | default dict -}}
{{- if and (eq ((get $auth "mode") | default "none") "oauth2") (not .Values.secrets.fhirClientSecret.secretName) -}}
{{- fail "config.fhir.auth.mode is oauth2: set secrets.fhirClientSecret.secretName/secretKey (the Secret holding the client secret)" -}}
{{- end -}}
{{- if and (eq ((get $auth "mode") | default "none") "bearer") (not .Values.secrets.fhirToken.secretName) -}}
{{- fail "config.fhir.auth.mode is bearer: set secrets.fhirToken.secretName/secretKey (the Secret holding the token)" -}}
{{- end -}}
{{- if and (eq ((get $auth "mode") | default "none") "smart") (not .Values.secrets.fhirSmartKey.secretName) -}}
{{- fail "config.fhir.auth.mode is smart: set secrets.fhirSmartKey.secretName/secretKey (the Secret holding the PEM private key)" -}}
{{- end -}}
{{- if and (eq ((get $auth "mode") | default "none") "workload_identity") (not .Values.workloadIdentity.enabled) -}}
{{- fail "config.fhir.auth.mode is workload_identity: set workloadIdentity.enabled and workloadIdentity.clientId (the webhook provides the federated token)" -}}
{{- end -}}
{{- if and .Values.workloadIdentity.enabled (not .Values.workloadIdentity.clientId) -}}
{{- fail "workloadIdentity.enabled: set workloadIdentity.clientId (the identity's client id)" -}}
{{- end -}}
{{- if and $httpOn (contains "jwt" ((get $http "auth") | default "sas")) (not (get ((get $http "jwt") | default dict) "issuer")) -}}
{{- fail "config.source.http.auth includes jwt: set config.source.http.jwt.issuer, audiences and roles (or scopes)" -}}
{{- end -}}
{{- if and (include "iomtflow.sourceEnabled" (dict "root" . "name" "eventhubs")) (not .Values.secrets.eventhubsConnectionString.secretName) -}}
{{- fail "config.source.eventhubs is set: secrets.eventhubsConnectionString.secretName/secretKey must name the Secret holding the connection string" -}}
{{- end -}}
{{- if and (eq .Values.service.type "LoadBalancer") (not .Values.tls.enabled) (not .Values.service.allowPlainHTTP) -}}
{{- fail "service.type LoadBalancer would expose plain HTTP ingest beyond the cluster: set tls.enabled=true with tls.secretName (a cert-manager Certificate's Secret), or service.allowPlainHTTP=true when a TLS-terminating load balancer is in front" -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) -}}
{{- fail "tls.enabled needs tls.secretName: the Secret holding tls.crt and tls.key (and ca.crt for tls.clientCertificates)" -}}
{{- end -}}
{{- if eq (int .Values.adminPort) (int .Values.port) -}}
{{- fail "adminPort must differ from port: /metrics, /healthz and /readyz have their own port" -}}
{{- end -}}
{{- if and .Values.podDisruptionBudget.enabled (not (kindIs "invalid" .Values.podDisruptionBudget.maxUnavailable)) (not (kindIs "invalid" .Values.podDisruptionBudget.minAvailable)) -}}
{{- fail "podDisruptionBudget: set maxUnavailable or minAvailable, not both (the other to null)" -}}
{{- end -}}
{{- end -}}

{{/* iomtflow.yaml: .Values.config plus what the chart owns (paths, port, *_env names). ------- */}}
{{- define "iomtflow.config" -}}
{{- $c := deepCopy .Values.config -}}
{{- $src := (get $c "source") | default dict -}}
{{- $_ := set $c "source" $src -}}
{{- $http := (get $src "http") | default dict -}}
{{- $_ := set $src "http" $http -}}
{{- $_ := set $http "listen" "0.0.0.0" -}}
{{- $_ := set $http "port" (int .Values.port) -}}
{{- if .Values.tls.enabled -}}
{{- $tls := dict "cert_file" "/etc/iomtflow-tls/tls.crt" "key_file" "/etc/iomtflow-tls/tls.key" "min_version" .Values.tls.minVersion -}}
{{- if .Values.tls.clientCertificates -}}
{{- $_ := set $tls "client_ca_file" "/etc/iomtflow-tls/ca.crt" -}}
{{- end -}}
{{- $_ := set $http "tls" $tls -}}
{{- end -}}
{{- $_ := set $c "admin" (dict "listen" "0.0.0.0" "port" (int .Values.adminPort)) -}}
{{- if .Values.secrets.sasKeys -}}
{{- $keys := list -}}
{{- range $i, $k := .Values.secrets.sasKeys -}}
{{- $keys = append $keys (dict "name" $k.name "key_env" (printf "IOMT_SAS_KEY_%d" $i)) -}}
{{- end -}}
{{- $_ := set $http "keys" $keys -}}
{{- end -}}
{{- if include "iomtflow.sourceEnabled" (dict "root" . "name" "eventhubs") -}}
{{- $eh := get $src "eventhubs" | default dict -}}
{{- $_ := set $src "eventhubs" $eh -}}
{{- $_ := set $eh "connection_string_env" "IOMT_EVENTHUBS_CONNECTION_STRING" -}}
{{- $_ := set $eh "checkpoint_dir" "/var/lib/iomtflow/checkpoints" -}}
{{- if include "iomtflow.staticOwnership" . -}}
{{- $_ := set $eh "replica_index" "auto" -}}
{{- $_ := set $eh "replica_count" (int .Values.replicaCount) -}}
{{- end -}}
{{- if eq ((get $eh "checkpoint_store") | default "file") "blob" -}}
{{- $cb := (get $eh "checkpoint_blob") | default dict -}}
{{- $_ := set $cb "connection_string_env" "IOMT_CHECKPOINT_BLOB_CONNECTION_STRING" -}}
{{- $_ := set $eh "checkpoint_blob" $cb -}}
{{- end -}}
{{- end -}}
{{- if and (include "iomtflow.sourceEnabled" (dict "root" . "name" "amqp")) .Values.secrets.amqpPassword.secretName -}}
{{- $_ := set (get $src "amqp") "password_env" "IOMT_AMQP_PASSWORD" -}}
{{- end -}}
{{- $_ := set $c "mapping" (dict "device" "/etc/iomtflow/devicecontent.json" "fhir" "/etc/iomtflow/fhirmapping.json") -}}
{{- $fhir := (get $c "fhir") | default dict -}}
{{- $auth := (get $fhir "auth") | default dict -}}
{{- if .Values.secrets.fhirClientSecret.secretName -}}
{{- $_ := set $auth "client_secret_env" "IOMT_FHIR_CLIENT_SECRET" -}}
{{- $_ := set $fhir "auth" $auth -}}
{{- end -}}
{{- if .Values.secrets.fhirToken.secretName -}}
{{- $_ := set $auth "token_env" "IOMT_FHIR_TOKEN" -}}
{{- $_ := set $fhir "auth" $auth -}}
{{- end -}}
{{- if .Values.secrets.fhirSmartKey.secretName -}}
{{- $_ := set $auth "private_key_file" "/var/run/secrets/iomtflow/fhir-smart/private-key.pem" -}}
{{- $_ := set $fhir "auth" $auth -}}
{{- end -}}
{{- $buffer := (get $c "buffer") | default dict -}}
{{- $_ := set $buffer "dir" "/var/lib/iomtflow/buffer" -}}
{{- $_ := set $c "buffer" $buffer -}}
{{- $deadletter := (get $c "deadletter") | default dict -}}
{{- $_ := set $deadletter "dir" "/var/lib/iomtflow/deadletter" -}}
{{- $_ := set $c "deadletter" $deadletter -}}
{{- toYaml $c -}}
{{- end -}}

{{/* env entries for the secrets (secretKeyRef) and extraEnv. */}}
{{- define "iomtflow.env" -}}
{{- range $i, $k := .Values.secrets.sasKeys }}
- name: {{ printf "IOMT_SAS_KEY_%d" $i }}
  valueFrom:
    secretKeyRef:
      name: {{ $k.secretName }}
      key: {{ $k.secretKey }}
{{- end }}
{{- with .Values.secrets.fhirClientSecret }}
{{- if .secretName }}
- name: IOMT_FHIR_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .secretKey }}
{{- end }}
{{- end }}
{{- with .Values.secrets.fhirToken }}
{{- if .secretName }}
- name: IOMT_FHIR_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .secretKey }}
{{- end }}
{{- end }}
{{- if include "iomtflow.sourceEnabled" (dict "root" . "name" "eventhubs") }}
- name: IOMT_EVENTHUBS_CONNECTION_STRING
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.eventhubsConnectionString.secretName }}
      key: {{ .Values.secrets.eventhubsConnectionString.secretKey }}
{{- end }}
{{- if .Values.secrets.checkpointBlobConnectionString.secretName }}
- name: IOMT_CHECKPOINT_BLOB_CONNECTION_STRING
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.checkpointBlobConnectionString.secretName }}
      key: {{ .Values.secrets.checkpointBlobConnectionString.secretKey }}
{{- end }}
{{- if and (include "iomtflow.sourceEnabled" (dict "root" . "name" "amqp")) .Values.secrets.amqpPassword.secretName }}
- name: IOMT_AMQP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.amqpPassword.secretName }}
      key: {{ .Values.secrets.amqpPassword.secretKey }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

#!/usr/bin/env bash
# tests/deploy/helm/chart.sh - checks of the Helm chart deploy/helm/iomtflow (CTest deploy_helm_chart).
#
# For every documented value set (deploy/helm/iomtflow/ci/*.yaml), with the workshop mappings:
#   helm lint --strict (values.schema.json), helm template (Kubernetes 1.30, monitoring.coreos.com/v1),
#   yamllint of the output, deploy/ci/validate-k8s.mjs (Kubernetes + prometheus-operator schemas,
#   cross-object and pod-security checks), and the facts each value set promises (kind, replicas,
#   volumes, env from Secrets, config keys).
# Then deliberate errors, each of which must be caught by the named check:
#   bad values -> the schema (lint and template); forbidden combinations -> the chart's `fail`;
#   broken rendered objects -> validate-k8s.mjs; a mapping change -> a new pod-template checksum.
# Tools: deploy/ci/setup (CTest fixture deploy_tools). Needs IOMT_SHARED_DIR for the mappings.
set -euo pipefail
src=${IOMT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
eval "$("$src/deploy/ci/setup" --print-env)"
chart=$src/deploy/helm/iomtflow
workshop="${IOMT_SHARED_DIR:-$src/../shared}/vectors/azure-health-data-services-workshop/Challenge-09 - MedTech service/SampleData/Answers"
[ -f "$workshop/devicecontent.json" ] || { echo "missing workshop mappings in $workshop (IOMT_SHARED_DIR)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/iomt-helm-test.XXXXXX")
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
maps=(--set-file "mappings.device=$workshop/devicecontent.json" --set-file "mappings.fhir=$workshop/fhirmapping.json")
render() {  # $1 out file, rest: helm args
  local out=$1; shift
  helm template iot "$chart" --namespace iomt --kube-version 1.30.0 --api-versions monitoring.coreos.com/v1 "$@" >"$out"
}
validate() { node "$src/deploy/ci/validate-k8s.mjs" --quiet "$@" 2>/dev/null; }
yamlconf='{extends: default, rules: {line-length: {max: 200}, document-start: disable, indentation: {indent-sequences: whatever}, comments: {min-spaces-from-content: 1}}}'
# object field of the rendered manifests: $1 file, $2 python expression over `objs` (list of dicts)
query() { python3 -c 'import sys, yaml; objs=[o for o in yaml.safe_load_all(open(sys.argv[1])) if o]; print(eval(sys.argv[2]))' "$1" "$2"; }
config_of() { python3 -c 'import sys, yaml; objs=[o for o in yaml.safe_load_all(open(sys.argv[1])) if o]; cm=[o for o in objs if o["kind"]=="ConfigMap"][0]; c=yaml.safe_load(cm["data"]["iomtflow.yaml"]); print(eval(sys.argv[2]))' "$1" "$2"; }
expect() {  # $1 name, $2 actual, $3 expected
  if [ "$2" = "$3" ]; then ok "$1 = $3"; else bad "$1: expected '$3', got '$2'"; fi
}

echo "helm $(helm version --short), yamllint $(yamllint --version | awk '{print $2}')"
if yamllint -s -d "$yamlconf" "$chart/Chart.yaml" "$chart/values.yaml" "$chart/ci" >"$work/err" 2>&1; then ok "yamllint Chart.yaml values.yaml ci/"
else bad "yamllint of the chart's own YAML"; cat "$work/err"; fi
if python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$chart/values.schema.json"; then ok "values.schema.json is JSON"; else bad "values.schema.json is not JSON"; fi

# ---- the documented value sets ---------------------------------------------------------------
for values in "$chart"/ci/*-values.yaml; do
  set_name=$(basename "$values" -values.yaml)
  out=$work/$set_name.yaml
  if lint=$(helm lint --strict "$chart" -f "$values" "${maps[@]}" 2>&1); then ok "$set_name: helm lint --strict"; else bad "$set_name: helm lint --strict"; echo "$lint"; fi
  if render "$out" -f "$values" "${maps[@]}" 2>"$work/err"; then ok "$set_name: helm template"; else bad "$set_name: helm template: $(cat "$work/err")"; continue; fi
  if yamllint -d "$yamlconf" "$out" >"$work/err" 2>&1; then ok "$set_name: yamllint"; else bad "$set_name: yamllint"; cat "$work/err"; fi
  if v=$(validate "$out"); then ok "$set_name: validate-k8s ($v)"; else bad "$set_name: validate-k8s"; echo "$v"; fi
  case "$set_name" in
    default)
      expect "default: kind" "$(query "$out" '[o["kind"] for o in objs if o["kind"] in ("Deployment","StatefulSet")]')" "['Deployment']"
      expect "default: ServiceMonitor selects the headless Service" "$(query "$out" '[o["spec"]["selector"]["matchLabels"]["iomtflow/service"] for o in objs if o["kind"]=="ServiceMonitor"]')" "['headless']"
      expect "default: oauth client secret env" "$(config_of "$out" 'c["fhir"]["auth"]["client_secret_env"]')" IOMT_FHIR_CLIENT_SECRET
      expect "default: SAS key env from the Secret" "$(query "$out" '[(e["name"], e["valueFrom"]["secretKeyRef"]["name"]) for o in objs if o["kind"]=="Deployment" for e in o["spec"]["template"]["spec"]["containers"][0]["env"]]')" "[('IOMT_SAS_KEY_0', 'iomtflow-ingest'), ('IOMT_FHIR_CLIENT_SECRET', 'iomtflow-fhir')]"
      expect "default: buffer off, data on emptyDir" "$(query "$out" '[v.get("emptyDir") is not None for o in objs if o["kind"]=="Deployment" for v in o["spec"]["template"]["spec"]["volumes"] if v["name"]=="data"]')" "[True]"
      expect "default: no secret value in the ConfigMap" "$(query "$out" '"key_env" in [o for o in objs if o["kind"]=="ConfigMap"][0]["data"]["iomtflow.yaml"]')" True
      expect "default: probes on the admin port" "$(query "$out" '[c[p]["httpGet"]["port"] for o in objs if o["kind"]=="Deployment" for c in o["spec"]["template"]["spec"]["containers"] for p in ("startupProbe","livenessProbe","readinessProbe")]')" "['admin', 'admin', 'admin']"
      expect "default: admin port in the config, plain HTTP ingest" "$(config_of "$out" '(c["admin"], "tls" in c["source"]["http"])')" "({'listen': '0.0.0.0', 'port': 9090}, False)"
      expect "default: ServiceMonitor scrapes the admin port" "$(query "$out" '[e["port"] for o in objs if o["kind"]=="ServiceMonitor" for e in o["spec"]["endpoints"]]')" "['admin']" ;;
    durable)
      expect "durable: kind" "$(query "$out" '[o["kind"] for o in objs if o["kind"] in ("Deployment","StatefulSet")]')" "['StatefulSet']"
      expect "durable: claim per pod" "$(query "$out" '[(t["metadata"]["name"], t["spec"]["resources"]["requests"]["storage"], t["spec"]["storageClassName"]) for o in objs if o["kind"]=="StatefulSet" for t in o["spec"]["volumeClaimTemplates"]]')" "[('data', '10Gi', 'fast-ssd')]"
      expect "durable: buffer on the volume" "$(config_of "$out" '(c["buffer"]["enabled"], c["buffer"]["dir"], c["deadletter"]["dir"])')" "(True, '/var/lib/iomtflow/buffer', '/var/lib/iomtflow/deadletter')"
      expect "durable: two SAS keys" "$(config_of "$out" '[k["key_env"] for k in c["source"]["http"]["keys"]]')" "['IOMT_SAS_KEY_0', 'IOMT_SAS_KEY_1']" ;;
    eventhubs)
      expect "eventhubs: StatefulSet of 4" "$(query "$out" '[(o["kind"], o["spec"]["replicas"]) for o in objs if o["kind"] in ("Deployment","StatefulSet")]')" "[('StatefulSet', 4)]"
      expect "eventhubs: ownership by ordinal" "$(config_of "$out" '(c["source"]["eventhubs"]["replica_index"], c["source"]["eventhubs"]["replica_count"], c["source"]["eventhubs"]["connection_string_env"], c["source"]["eventhubs"]["checkpoint_dir"])')" "('auto', 4, 'IOMT_EVENTHUBS_CONNECTION_STRING', '/var/lib/iomtflow/checkpoints')"
      expect "eventhubs: no HPA" "$(query "$out" 'sum(o["kind"]=="HorizontalPodAutoscaler" for o in objs)')" 0 ;;
    eventhubs-dynamic)
      expect "eventhubs-dynamic: a Deployment scaled by the HPA" "$(query "$out" '[(o["kind"], o["spec"].get("replicas")) for o in objs if o["kind"] in ("Deployment","StatefulSet")] + [(o["spec"]["scaleTargetRef"]["kind"], o["spec"]["maxReplicas"]) for o in objs if o["kind"]=="HorizontalPodAutoscaler"]')" "[('Deployment', None), ('Deployment', 8)]"
      expect "eventhubs-dynamic: no ordinal, records in blob" "$(config_of "$out" '(c["source"]["eventhubs"]["ownership"], "replica_index" in c["source"]["eventhubs"], c["source"]["eventhubs"]["checkpoint_store"], c["source"]["eventhubs"]["checkpoint_blob"]["connection_string_env"])')" "('dynamic', False, 'blob', 'IOMT_CHECKPOINT_BLOB_CONNECTION_STRING')"
      expect "eventhubs-dynamic: storage connection string from the Secret" "$(query "$out" '[e["valueFrom"]["secretKeyRef"]["name"] for o in objs if o["kind"]=="Deployment" for e in o["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"]=="IOMT_CHECKPOINT_BLOB_CONNECTION_STRING"]')" "['iomtflow-checkpoints']" ;;
    amqp)
      expect "amqp: kind" "$(query "$out" '[o["kind"] for o in objs if o["kind"] in ("Deployment","StatefulSet")]')" "['Deployment']"
      expect "amqp: password and token env" "$(config_of "$out" '(c["source"]["amqp"]["password_env"], c["fhir"]["auth"]["token_env"])')" "('IOMT_AMQP_PASSWORD', 'IOMT_FHIR_TOKEN')" ;;
    entra)
      expect "entra: workload identity pod label" "$(query "$out" '[o["spec"]["template"]["metadata"]["labels"].get("azure.workload.identity/use") for o in objs if o["kind"]=="Deployment"]')" "['true']"
      expect "entra: ServiceAccount annotations" "$(query "$out" '[(o["metadata"]["annotations"]["azure.workload.identity/client-id"], o["metadata"]["annotations"]["azure.workload.identity/tenant-id"]) for o in objs if o["kind"]=="ServiceAccount"]')" "[('00000000-0000-0000-0000-0000000000bb', '00000000-0000-0000-0000-0000000000aa')]"
      expect "entra: auth modes, no secret env" "$(config_of "$out" '(c["source"]["http"]["auth"], c["fhir"]["auth"]["mode"], "keys" in c["source"]["http"])')" "('jwt', 'workload_identity', False)" ;;
    smart)
      expect "smart: key file from the Secret" "$(config_of "$out" 'c["fhir"]["auth"]["private_key_file"]')" /var/run/secrets/iomtflow/fhir-smart/private-key.pem
      expect "smart: Secret volume and read-only mount" "$(query "$out" '[(v["secret"]["secretName"], v["secret"]["items"][0]["key"], m["mountPath"], m["readOnly"]) for o in objs if o["kind"]=="Deployment" for v in o["spec"]["template"]["spec"]["volumes"] if v["name"]=="fhir-smart-key" for m in o["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] if m["name"]=="fhir-smart-key"]')" "[('iomtflow-smart', 'private-key.pem', '/var/run/secrets/iomtflow/fhir-smart', True)]"
      expect "smart: the TLS Secret next to the SMART key" "$(query "$out" '[(v["name"], m["mountPath"], m["readOnly"]) for o in objs if o["kind"]=="Deployment" for v in o["spec"]["template"]["spec"]["volumes"] if v["name"] in ("tls", "fhir-smart-key") for m in o["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] if m["name"]==v["name"]]')" "[('tls', '/etc/iomtflow-tls', True), ('fhir-smart-key', '/var/run/secrets/iomtflow/fhir-smart', True)]"
      expect "smart: source.http.tls" "$(config_of "$out" 'c["source"]["http"]["tls"]["cert_file"]')" /etc/iomtflow-tls/tls.crt ;;
    hpa)
      expect "hpa: target and no fixed replicas" "$(query "$out" '[(o["spec"]["scaleTargetRef"]["kind"], o["spec"]["maxReplicas"]) for o in objs if o["kind"]=="HorizontalPodAutoscaler"] + [o["spec"].get("replicas") for o in objs if o["kind"]=="Deployment"]')" "[('Deployment', 10), None]"
      expect "hpa: TLS from the cert-manager Secret" "$(query "$out" '[(v["secret"]["secretName"], m["mountPath"]) for o in objs if o["kind"]=="Deployment" for v in o["spec"]["template"]["spec"]["volumes"] if v["name"]=="tls" for m in o["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] if m["name"]=="tls"]')" "[('iomtflow-ingest-tls', '/etc/iomtflow-tls')]"
      expect "hpa: source.http.tls and hosts" "$(config_of "$out" '(c["source"]["http"]["tls"]["cert_file"], c["source"]["http"]["tls"]["key_file"], c["source"]["http"]["hosts"])')" "('/etc/iomtflow-tls/tls.crt', '/etc/iomtflow-tls/tls.key', ['ingest.example.org'])"
      expect "hpa: the LoadBalancer exposes ingest only" "$(query "$out" '[p["name"] for o in objs if o["kind"]=="Service" and o["spec"].get("type")=="LoadBalancer" for p in o["spec"]["ports"]]')" "['http']"
      expect "hpa: image by digest" "$(query "$out" '[o["spec"]["template"]["spec"]["containers"][0]["image"] for o in objs if o["kind"]=="Deployment"]')" "['registry.example.org/iomtflow@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef']" ;;
  esac
done

# ---- iomtflow itself accepts every rendered iomtflow.yaml --------------------------------------
# The ConfigMap is written to a folder standing in for /etc/iomtflow (and one for /var/lib/iomtflow),
# the Secret-backed variables get dummy values, URLs point at a closed loopback port, and `iomtflow run` starts
# on a loopback port for 2 s: it must log "iomtflow started"; a config or mapping error stops it at
# once with "error: config: FIELD: ..." or "mappings are invalid".
if [ -x "${IOMTFLOW:-}" ]; then
  sets=()
  for values in "$chart"/ci/*-values.yaml; do
    set_name=$(basename "$values" -values.yaml)
    sets+=("$set_name")
    etc=$work/$set_name.etc
    mkdir -p "$etc" "$etc.data"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    admin_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # The TLS Secret (tls.enabled): a throw-away certificate where the Secret volume would be.
    mkdir -p "$etc.tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=ingest.example.org \
      -keyout "$etc.tls/tls.key" -out "$etc.tls/tls.crt" 2>/dev/null && cp "$etc.tls/tls.crt" "$etc.tls/ca.crt"
    python3 - "$work/$set_name.yaml" "$etc" "$port" "$admin_port" <<'EOF'
import re, sys, yaml
objs = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o]
cm = [o for o in objs if o["kind"] == "ConfigMap"][0]
for name, text in cm["data"].items():
    if name == "iomtflow.yaml":
        text = text.replace("/etc/iomtflow/", sys.argv[2] + "/").replace("/var/lib/iomtflow/", sys.argv[2] + ".data/")
        text = text.replace("/etc/iomtflow-tls/", sys.argv[2] + ".tls/")
        text = text.replace("/var/run/secrets/iomtflow/fhir-smart/", sys.argv[2] + "/")  # the SMART key Secret
        text = text.replace("listen: 0.0.0.0", "listen: 127.0.0.1").replace("port: 8080", "port: " + sys.argv[3])
        text = text.replace("port: 9090", "port: " + sys.argv[4])
        # no DNS look-ups of the example hosts, and no contact with the test peers (FHIR server,
        # broker): every URL points at a closed loopback port
        text = re.sub(r"((?:https?|amqps?)://)[^/\s]+", r"\g<1>127.0.0.1:9", text)
    open(f"{sys.argv[2]}/{name}", "w").write(text)
EOF
    # a SMART private key where the Secret volume would put it
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$etc/private-key.pem" 2>/dev/null
    # all at once: each is given 2 s
    ( st=0; env HOSTNAME=iot-iomtflow-3 IOMT_SAS_KEY_0=a2V5 IOMT_SAS_KEY_1=a2V5 IOMT_FHIR_CLIENT_SECRET=x IOMT_FHIR_TOKEN=x IOMT_AMQP_PASSWORD=x \
        IOMT_EVENTHUBS_CONNECTION_STRING='Endpoint=sb://127.0.0.1:1/;SharedAccessKeyName=k;SharedAccessKey=a2V5;EntityPath=devicedata' \
        IOMT_CHECKPOINT_BLOB_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1' \
        AZURE_CLIENT_ID=c AZURE_TENANT_ID=t AZURE_FEDERATED_TOKEN_FILE="$etc/azure-identity-token" AZURE_AUTHORITY_HOST=https://127.0.0.1:9/ \
        timeout -s TERM 2 "$IOMTFLOW" run --config "$etc/iomtflow.yaml" >"$etc.log" 2>&1 || st=$?; echo "$st" >"$etc.status" ) &
  done
  wait
  for set_name in "${sets[@]}"; do
    etc=$work/$set_name.etc
    # Checkpoints in Blob Storage are read at start-up: the closed port stops it right there, after
    # every config field was accepted.
    if grep -q 'error: config: source.eventhubs: .*127.0.0.1:9' "$etc.log" && ! grep -q 'error: config: [a-z_.]*: \(expected\|required\|must\|unknown\)' "$etc.log"; then
      ok "$set_name: iomtflow run accepts the rendered config (stops at the unreachable checkpoint storage: $(grep -o 'error: config: source.eventhubs: [^"]\{0,60\}' "$etc.log" | head -1))"
    elif grep -q 'error: config:\|mappings are invalid\|error: cannot' "$etc.log" || ! grep -q '"iomtflow started"' "$etc.log"; then
      bad "$set_name: iomtflow run rejects the rendered config:"; head -5 "$etc.log"
    else
      ok "$set_name: iomtflow run accepts the rendered config (exit $(cat "$etc.status") after 2 s)"
    fi
  done
  # ... and the check sees a rejected config (an unknown top-level key, as a typo would be)
  echo "bogus: 1" >>"$work/default.etc/iomtflow.yaml"
  timeout -s TERM 2 "$IOMTFLOW" run --config "$work/default.etc/iomtflow.yaml" >"$work/run.log" 2>&1 || true
  if grep -q 'error: config:' "$work/run.log"; then ok "caught: iomtflow rejects a config with an unknown key ($(head -1 "$work/run.log"))"
  else bad "iomtflow accepted a config with an unknown key: $(head -3 "$work/run.log")"; fi
else
  echo "skip iomtflow run on the rendered configs: IOMTFLOW is not set (CTest sets it)"
fi

# ---- a mapping change rolls the pods -----------------------------------------------------------
sed 's/"heartrate"/"heart-rate"/' "$workshop/devicecontent.json" >"$work/devicecontent-changed.json"
render "$work/changed.yaml" -f "$chart/ci/default-values.yaml" --set-file "mappings.device=$work/devicecontent-changed.json" --set-file "mappings.fhir=$workshop/fhirmapping.json"
sum_of() { query "$1" '[o["spec"]["template"]["metadata"]["annotations"]["checksum/config"] for o in objs if o["kind"]=="Deployment"][0]'; }
if [ "$(sum_of "$work/default.yaml")" != "$(sum_of "$work/changed.yaml")" ]; then ok "a mapping change changes checksum/config"; else bad "a mapping change leaves checksum/config unchanged"; fi

# ---- deliberate errors: each must be caught ------------------------------------------------------
must_fail() {  # $1 name, $2 text the error must contain, rest: command
  local name=$1 want=$2; shift 2
  if out=$("$@" 2>&1); then bad "$name: not caught"; echo "$out" | tail -5
  elif grep -qF -- "$want" <<<"$out"; then ok "caught: $name"
  else bad "$name: failed without '$want':"; echo "$out" | tail -5; fi
}
d=$chart/ci/default-values.yaml
must_fail "replicaCount: two (schema, lint)" "replicaCount: Invalid type. Expected: integer, given: string" \
  helm lint --strict "$chart" -f "$d" "${maps[@]}" --set replicaCount=two
must_fail "typo config.fhir.retyr (schema: config mirrors iomtflow's strict keys)" "Additional property retyr is not allowed" \
  render /dev/null -f "$d" "${maps[@]}" --set config.fhir.retyr.max_attempts=3
must_fail "chart-owned config key config.source.http.port" "Additional property port is not allowed" \
  render /dev/null -f "$d" "${maps[@]}" --set config.source.http.port=9000
must_fail "log level (enum)" "config.log.level" render /dev/null -f "$d" "${maps[@]}" --set config.log.level=verbose
must_fail "duration 'two-minutes'" "config.pipeline.flush_interval" render /dev/null -f "$d" "${maps[@]}" --set config.pipeline.flush_interval=two-minutes
must_fail "service.port 70000" "service.port: Must be less than or equal to 65535" render /dev/null -f "$d" "${maps[@]}" --set service.port=70000
must_fail "pullPolicy Sometimes" "image.pullPolicy" render /dev/null -f "$d" "${maps[@]}" --set image.pullPolicy=Sometimes
must_fail "a secret value instead of a reference" "Additional property value is not allowed" \
  render /dev/null -f "$d" "${maps[@]}" --set secrets.fhirClientSecret.value=hunter2
must_fail "HPA with Event Hubs partition ownership" "autoscaling.enabled cannot be combined with Event Hubs static partition ownership" \
  render /dev/null -f "$chart/ci/eventhubs-values.yaml" "${maps[@]}" --set autoscaling.enabled=true
must_fail "explicit partitions on 4 replicas" "every replica would read the same ones" \
  render /dev/null -f "$chart/ci/eventhubs-values.yaml" "${maps[@]}" --set 'config.source.eventhubs.partitions={0,1}'
must_fail "PodDisruptionBudget with both maxUnavailable and minAvailable" "set maxUnavailable or minAvailable, not both" \
  render /dev/null -f "$d" "${maps[@]}" --set podDisruptionBudget.minAvailable=1
must_fail "no FHIR URL" "config.fhir.url is required" render /dev/null "${maps[@]}" --set 'secrets.sasKeys[0].name=k' --set 'secrets.sasKeys[0].secretName=s' --set 'secrets.sasKeys[0].secretKey=k'
must_fail "no mappings" "mappings.device is required" render /dev/null -f "$d"
must_fail "sas without keys" "secrets.sasKeys is empty" render /dev/null -f "$d" "${maps[@]}" --set 'secrets.sasKeys=null'
must_fail "oauth2 without client secret" "secrets.fhirClientSecret.secretName" render /dev/null -f "$d" "${maps[@]}" --set 'secrets.fhirClientSecret=null'
must_fail "LoadBalancer without TLS" "would expose plain HTTP ingest beyond the cluster" \
  render /dev/null -f "$chart/ci/hpa-values.yaml" "${maps[@]}" --set tls.enabled=false
must_fail "TLS without a Secret" "tls.enabled needs tls.secretName" \
  render /dev/null -f "$d" "${maps[@]}" --set tls.enabled=true
must_fail "chart-owned config key config.source.http.tls" "Additional property tls is not allowed" \
  render /dev/null -f "$d" "${maps[@]}" --set config.source.http.tls.cert_file=/x
e=$chart/ci/entra-values.yaml
must_fail "smart without its key Secret" "secrets.fhirSmartKey.secretName" render /dev/null -f "$chart/ci/smart-values.yaml" "${maps[@]}" --set 'secrets.fhirSmartKey=null'
must_fail "workload_identity without workloadIdentity" "set workloadIdentity.enabled" render /dev/null -f "$e" "${maps[@]}" --set workloadIdentity.enabled=false
must_fail "auth jwt without an issuer" "config.source.http.auth includes jwt" render /dev/null -f "$d" "${maps[@]}" --set config.source.http.auth=jwt
must_fail "auth jwt with an http issuer (schema)" "config.source.http.jwt.issuer" render /dev/null -f "$e" "${maps[@]}" --set config.source.http.jwt.issuer=http://login.example.org/t
must_fail "auth jwt with HS256 (schema)" "config.source.http.jwt.algorithms" render /dev/null -f "$e" "${maps[@]}" --set 'config.source.http.jwt.algorithms[0]=HS256'
must_fail "Event Hubs without connection string" "secrets.eventhubsConnectionString.secretName" \
  render /dev/null -f "$chart/ci/eventhubs-values.yaml" "${maps[@]}" --set 'secrets.eventhubsConnectionString=null'
must_fail "dynamic ownership with file checkpoints" "ownership dynamic keeps its ownership records" \
  render /dev/null -f "$chart/ci/eventhubs-dynamic-values.yaml" "${maps[@]}" --set config.source.eventhubs.checkpoint_store=file
must_fail "dynamic ownership with an explicit partition list" "partitions is for ownership static" \
  render /dev/null -f "$chart/ci/eventhubs-dynamic-values.yaml" "${maps[@]}" --set 'config.source.eventhubs.partitions={0,1}'
must_fail "blob checkpoints without the storage Secret" "secrets.checkpointBlobConnectionString.secretName" \
  render /dev/null -f "$chart/ci/eventhubs-dynamic-values.yaml" "${maps[@]}" --set 'secrets.checkpointBlobConnectionString=null'
must_fail "ownership neither static nor dynamic" "config.source.eventhubs.ownership" \
  render /dev/null -f "$chart/ci/eventhubs-dynamic-values.yaml" "${maps[@]}" --set config.source.eventhubs.ownership=sticky

# Broken rendered objects (patched copies of the default rendering) -> validate-k8s.mjs
base=$work/eventhubs.yaml
patched() {  # $1 name, $2 text the report must contain, $3 python statement over `objs`
  python3 - "$base" "$work/patched.yaml" "$3" <<'EOF'
import sys, yaml
objs = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o]
def find(kind): return [o for o in objs if o["kind"] == kind][0]
exec(sys.argv[3])
yaml.safe_dump_all(objs, open(sys.argv[2], "w"), sort_keys=False)
EOF
  must_fail "$1" "$2" validate "$work/patched.yaml"
}
patched "replicas: \"four\"" "/spec/replicas must be integer" 'find("StatefulSet")["spec"]["replicas"] = "four"'
patched "kind: StatefulSett (unknown kinds fail closed)" "no schema for apps/v1/StatefulSett" 'find("StatefulSet")["kind"] = "StatefulSett"'
patched "container without a name" "must have required property name" 'del find("StatefulSet")["spec"]["template"]["spec"]["containers"][0]["name"]'
patched "memory limit 'lots'" "/resources/limits/memory" 'find("StatefulSet")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "lots"'
patched "ServiceMonitor interval 'thirty'" "/spec/endpoints/0/interval must match pattern" 'find("ServiceMonitor")["spec"]["endpoints"][0]["interval"] = "thirty"'
patched "Service protocol HTTP" "/spec/ports/0/protocol must be equal to one of the allowed values" 'find("Service")["spec"]["ports"][0]["protocol"] = "HTTP"'
patched "PodDisruptionBudget policy/v1beta1" "policy/v1beta1 is no longer served" 'find("PodDisruptionBudget")["apiVersion"] = "policy/v1beta1"'
patched "selector does not match the pod labels" "spec.selector.matchLabels does not match" 'find("StatefulSet")["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = "other"'
patched "Service targetPort that no container has" "targetPort 'metrics'" 'find("Service")["spec"]["ports"][0]["targetPort"] = "metrics"'
patched "ServiceMonitor matching no Service" "spec.selector matches no rendered Service" 'find("ServiceMonitor")["spec"]["selector"]["matchLabels"]["iomtflow/service"] = "none"'
patched "volumeMount without a volume" "volumeMount 'cache' has no volume" 'find("StatefulSet")["spec"]["template"]["spec"]["containers"][0]["volumeMounts"].append({"name": "cache", "mountPath": "/cache"})'
patched "writable root file system" "readOnlyRootFilesystem must be true" 'find("StatefulSet")["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False'
patched "capabilities not dropped" "capabilities.drop must contain ALL" 'del find("StatefulSet")["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"]'
patched "metadata.name Upper_Case" "is not a DNS-1123" 'find("ConfigMap")["metadata"]["name"] = "Upper_Case"'
patched "StatefulSet serviceName not headless" "is not a headless Service" 'find("StatefulSet")["spec"]["serviceName"] = find("Service")["metadata"]["name"]'
# The validator must not pass an empty input either.
: >"$work/empty.yaml"
must_fail "empty manifest" "0 objects passed" validate "$work/empty.yaml"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

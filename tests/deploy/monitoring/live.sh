#!/usr/bin/env bash
# tests/deploy/monitoring/live.sh - the Grafana dashboard and the alert rules against a real
# Prometheus scraping a running iomtflow under load (CTest deploy_monitoring_live).
#
#   IOMTFLOW=build/ci/pipeline/iomtflow tests/deploy/monitoring/live.sh [--keep]
#
# 1. Peers: the FHIR server of FHIR_URL (scripts/test starts it) or our own
#    (scripts/peers/start-fhir-server.sh); the RabbitMQ of AMQP_URL/AMQP_CA/AMQP_USER/AMQP_PASS/
#    AMQP_TLS_NAME (scripts/test) or our own (scripts/peers/start-amqp-broker.sh, ~12 s); always our
#    own Event Hubs emulator (scripts/peers/eh-emulator/start.sh, 4 partitions, ~1 s) with 100 workshop
#    messages put into it by eh-send.js (rhea, from the emulator's node_modules).
# 2. iomtflow run with the workshop's mappings (Challenge-09 devicecontent.json/fhirmapping.json),
#    HTTP ingest, an AMQP source on a queue of its own (iomt-monitoring-PID, so no other test's
#    messages are taken), the durable buffer and the dead-letter store, no FHIR retries
#    (max_attempts 1: an injected fault is a write error). With IOMT_AMQP_TOOL (bench/amqp's `amqp`)
#    the queue is first declared durable and filled with 200 messages (`amqp send`; Quantity
#    messages, which the workshop mapping drops), so that the AMQP counters move; without it the
#    broker declares the queue when iomtflow attaches and the counters stay at 0. An Event Hubs
#    source on the emulator (file checkpoints in the work dir, lag_interval 2s), so that the
#    per-partition lag and ownership series exist; the test waits for a lag sample of every
#    partition in Prometheus before the load.
# 3. Prometheus (Debian `prometheus`) on 127.0.0.1 with deploy/prometheus/prometheus.yml (1 s
#    scrapes), iomtflow-rules.yml and a deliberately broken rule group (bad/live-typo.rules.yml),
#    storage in a temp dir; waits for up == 1.
# 4. Load: loadgen.py posts workshop messages (10 % bad: not JSON, or no template) for
#    MONITORING_LOAD_SECONDS; meanwhile the FHIR server fails the next 6 Observation PUTs (500,
#    /admin/faults; pending ones are dropped on exit), so that FHIR write errors and non-2xx request
#    latencies exist.
# 5. Checks (check_monitoring.py), polled until they pass or --settle seconds have passed:
#    dashboard-live: every panel expression and variable query of deploy/grafana/iomtflow.json,
#    $job/$instance substituted with this scrape's values, returns data, and so does every series
#    selector in it; rules-live: every rule of group `iomtflow` is healthy and its expression,
#    transformed as check_monitoring.py's data_queries() documents (threshold comparisons get
#    `bool`, `and`/`or`/`unless` operands and `absent(X)`'s X are checked on their own), returns data.
# 6. Negative cases, which must FAIL naming the culprit: the dashboard with one metric misspelled
#    (iomtflow_measurements_total -> iomtflow_measurments_total, and the Event Hubs lag gauge
#    iomtflow_eventhubs_partition_lag_events -> iomtflow_eventhub_partition_lag_events), and rule group
#    `iomtflow-broken` (a misspelled metric, and one hidden behind `or`).
# Everything started here is stopped on exit (trap). Prints "N passed, N failed"; exit 1 on failure.
# Environment: IOMTFLOW, IOMT_SOURCE_DIR, IOMT_SHARED_DIR, FHIR_URL, AMQP_*, IOMT_AMQP_TOOL (optional),
# MONITORING_LOAD_SECONDS (default 12), MONITORING_SETTLE_SECONDS (default 40).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${IOMT_SOURCE_DIR:-$(cd "$here/../../.." && pwd)}
shared=${IOMT_SHARED_DIR:-$root/../shared}
bin=${IOMTFLOW:-$root/build/release/pipeline/iomtflow}
py=/usr/bin/python3
check=$here/check_monitoring.py
load_seconds=${MONITORING_LOAD_SECONDS:-12}
settle_seconds=${MONITORING_SETTLE_SECONDS:-40}
keep=0
[ "${1:-}" = --keep ] && keep=1

t_start=$(date +%s.%N)
log() { printf '[live %5.1fs] %s\n' "$(echo "$(date +%s.%N) - $t_start" | bc)" "$*"; }
passed=0 failed=0
pass() { passed=$((passed + 1)); log "PASS $*"; }
fail() { failed=$((failed + 1)); log "FAIL $*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/iomt-monitoring-live.XXXXXX")
pids=()       # processes started here
peer_dirs=()  # peers started here (stop-services.sh)
fault_origin=""
cleanup() {
  local status=$?
  [ -n "$fault_origin" ] && curl -s -X DELETE "$fault_origin/admin/faults" >/dev/null 2>&1 || true
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  for d in "${peer_dirs[@]}"; do "$root/scripts/peers/stop-services.sh" "$d" >/dev/null 2>&1 || true; done
  if [ "$status" != 0 ] || [ "$failed" != 0 ] || [ "$keep" = 1 ]; then
    echo "[live] logs kept in $work"
    for f in "$work/iomtflow.log" "$work/prometheus.log"; do
      [ -s "$f" ] && { echo "--- last lines of $f"; tail -n 15 "$f"; }
    done
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in prometheus promtool curl bc "$py"; do
  command -v "$tool" >/dev/null || { echo "live: $tool is missing (deploy/ci/setup installs prometheus)"; exit 1; }
done
command -v node >/dev/null || { echo "live: node is missing (the Event Hubs emulator needs it: scripts/setup)"; exit 1; }
[ -x "$bin" ] || { echo "live: iomtflow binary not found at $bin (set IOMTFLOW)"; exit 1; }
free_port() { "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---- 1. peers ----------------------------------------------------------------------------------
if [ -z "${FHIR_URL:-}" ]; then
  port=$(free_port)
  log "starting a FHIR server on 127.0.0.1:$port (no FHIR_URL)"
  peer_dirs+=("$work/fhir")
  "$root/scripts/peers/start-fhir-server.sh" --port "$port" --dir "$work/fhir" >/dev/null 2>"$work/fhir-start.log" \
    || { cat "$work/fhir-start.log"; exit 1; }
  FHIR_URL=http://127.0.0.1:$port/fhir
fi
fhir_url=${FHIR_URL%/}
fault_origin=$(echo "$fhir_url" | sed -E 's#^(https?://[^/]+).*#\1#')

if [ -z "${AMQP_URL:-}" ]; then
  port=$("$py" - <<'EOF'
import random, socket
for _ in range(500):  # the broker also takes PORT+10000 (epmd) and PORT+20000 (distribution)
    p = random.randint(20000, 39999)
    try:
        for q in (p, p + 10000, p + 20000):
            with socket.socket() as s:
                s.bind(("127.0.0.1", q))
        print(p)
        break
    except OSError:
        pass
EOF
)
  log "starting an AMQP broker on 127.0.0.1:$port (no AMQP_URL)"
  peer_dirs+=("$work/amqp")
  "$root/scripts/peers/start-amqp-broker.sh" --port "$port" --dir "$work/amqp" >/dev/null 2>"$work/amqp-start.log" \
    || { tail -n 20 "$work/amqp-start.log"; exit 1; }
  eval "$(set +u; . "$work/amqp/env.sh"; env | grep -E '^AMQP_(URL|CA|USER|PASS|TLS_NAME)=' | sed 's/^/export /')"
fi

eh_port=$(free_port)
peer_dirs+=("$work/eh")
"$root/scripts/peers/eh-emulator/start.sh" --port "$eh_port" --dir "$work/eh" --partitions 4 >/dev/null 2>"$work/eh-start.log" \
  || { tail -n 20 "$work/eh-start.log"; exit 1; }
eh() { (set +u; . "$work/eh/env.sh"; printenv "$1"); }   # a value of the emulator's env.sh
(set +u; . "$work/eh/env.sh"; NODE_PATH="$root/scripts/peers/eh-emulator/node_modules" node "$here/eh-send.js" 100) \
  >"$work/eh-send.log" 2>&1 || { echo "live: eh-send.js failed:"; cat "$work/eh-send.log"; exit 1; }
log "FHIR server $fhir_url, AMQP broker $AMQP_URL, Event Hubs emulator on $eh_port ($(cat "$work/eh-send.log"))"

# ---- 2. iomtflow -------------------------------------------------------------------------------
answers="$shared/vectors/azure-health-data-services-workshop/Challenge-09 - MedTech service/SampleData/Answers"
[ -f "$answers/devicecontent.json" ] || { echo "live: workshop mappings not found under $answers (IOMT_SHARED_DIR)"; exit 1; }
q() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }   # YAML double-quoted scalar
queue=iomt-monitoring-$$
address=/queue/$queue   # RabbitMQ declares it (not durable) on attach
if [ -n "${IOMT_AMQP_TOOL:-}" ] && [ -x "$IOMT_AMQP_TOOL" ]; then
  "$IOMT_AMQP_TOOL" send --url "$AMQP_URL" --ca "${AMQP_CA:-}" --user "${AMQP_USER:-}" --password "${AMQP_PASS:-}" \
    --queue "$queue" --count 200 --devices 10 >"$work/amqp-send.log" 2>&1 \
    || { echo "live: amqp send failed:"; cat "$work/amqp-send.log"; exit 1; }
  address=/amq/queue/$queue   # declared durable by `amqp send`
  log "200 messages sent to AMQP queue $queue"
fi
flow_port=$(free_port)
cat > "$work/iomtflow.yaml" <<EOF
source:
  http:
    listen: 127.0.0.1
    port: $flow_port
    hubs: [devicedata]
    auth: none
  amqp:
    url: $(q "$AMQP_URL")
    addresses: [$address]
    user: $(q "${AMQP_USER:-}")
    password_env: IOMT_MONITORING_AMQP_PASS
    ca_file: $(q "${AMQP_CA:-}")
    tls_server_name: $(q "${AMQP_TLS_NAME:-localhost}")
  eventhubs:
    connection_string_env: IOMT_MONITORING_EH_CONNECTION
    ca_file: $(q "$(eh EH_CA)")
    checkpoint_dir: eh-checkpoints
    lag_interval: 2s
mapping:
  device: $(q "$answers/devicecontent.json")
  fhir: $(q "$answers/fhirmapping.json")
pipeline:
  shards: 2
  flush_interval: 200ms
fhir:
  url: $(q "$fhir_url")
  identity: Create
  timeout: 10s
  retry:
    max_attempts: 1
buffer:
  enabled: true
  dir: buffer
  fsync: interval
deadletter:
  dir: deadletter
log:
  level: warn
EOF
IOMT_MONITORING_AMQP_PASS=${AMQP_PASS:-} IOMT_MONITORING_EH_CONNECTION=$(eh EH_CONNECTION_STRING) "$bin" run --config "$work/iomtflow.yaml" >"$work/iomtflow.log" 2>&1 &
pids+=($!)
flow=http://127.0.0.1:$flow_port
for _ in $(seq 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$flow/readyz")" = 200 ] && break
  kill -0 "${pids[-1]}" 2>/dev/null || { echo "live: iomtflow exited during start-up"; exit 1; }
  sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$flow/readyz")" = 200 ] || { echo "live: iomtflow not ready: $(curl -s "$flow/readyz")"; exit 1; }
log "iomtflow ready on $flow"

# ---- 3. Prometheus -----------------------------------------------------------------------------
mkdir -p "$work/prom"
cp "$root/deploy/prometheus/prometheus.yml" "$root/deploy/prometheus/iomtflow-rules.yml" "$work/prom/"
cp "$here/bad/live-typo.rules.yml" "$work/prom/"
sed -i 's#^  - iomtflow-rules.yml$#&\n  - live-typo.rules.yml#' "$work/prom/prometheus.yml"
grep -q live-typo "$work/prom/prometheus.yml" || { echo "live: could not add the broken rule group"; exit 1; }
printf '[{"targets": ["127.0.0.1:%s"], "labels": {"job": "iomtflow"}}]\n' "$flow_port" > "$work/prom/iomtflow-targets.json"
promtool check config "$work/prom/prometheus.yml" >"$work/promtool-config.log" 2>&1 \
  || { cat "$work/promtool-config.log"; exit 1; }
prom_port=$(free_port)
prom=http://127.0.0.1:$prom_port
prometheus --config.file="$work/prom/prometheus.yml" --storage.tsdb.path="$work/prom/data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
pq() { curl -s "$prom/api/v1/query" --data-urlencode "query=$1" | "$py" -c \
  'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'; }
for _ in $(seq 200); do curl -sf "$prom/-/ready" >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 300); do [ "$(pq 'up{job="iomtflow"}' 2>/dev/null)" = 1 ] && break; sleep 0.1; done
[ "$(pq 'up{job="iomtflow"}')" = 1 ] || { echo "live: Prometheus does not scrape iomtflow"; curl -s "$prom/api/v1/targets"; exit 1; }
log "Prometheus $prom scrapes iomtflow (up == 1)"

# Event Hubs: a lag sample for every partition (the first READs go out once the receivers attach).
parts=$(eh EH_PARTITIONS)
lag_deadline=$(( $(date +%s) + 15 ))
until [ "$(pq 'count(iomtflow_eventhubs_partition_lag_events{job="iomtflow"})' 2>/dev/null)" = "$parts" ] \
      || [ "$(date +%s)" -ge "$lag_deadline" ]; do
  sleep 0.2
done
n=$(pq 'count(iomtflow_eventhubs_partition_lag_events{job="iomtflow"})')
if [ "$n" = "$parts" ]; then
  pass "Event Hubs lag series for all $parts partitions (sum $(pq 'sum(iomtflow_eventhubs_partition_lag_events{job="iomtflow"})') events, owned $(pq 'sum(iomtflow_eventhubs_partition_owned{job="iomtflow"})'))"
else
  fail "Event Hubs lag series: ${n:-none} of $parts partitions after 15 s; /metrics has: $(curl -s "$flow/metrics" | grep -c '^iomtflow_eventhubs_') iomtflow_eventhubs_ lines"
fi

# /metrics in the text format Prometheus' own parser accepts (lint findings are only reported).
curl -s "$flow/metrics" > "$work/metrics.txt"
st=0; promtool check metrics < "$work/metrics.txt" >"$work/metrics-lint.txt" 2>&1 || st=$?
case $st in
  0) pass "/metrics: promtool check metrics" ;;
  3) pass "/metrics parses; lint notes: $(sort -u "$work/metrics-lint.txt" | head -n 5 | tr '\n' ';')" ;;
  *) fail "/metrics does not parse: $(head -n 3 "$work/metrics-lint.txt")" ;;
esac

# ---- 4. load -----------------------------------------------------------------------------------
log "load: ${load_seconds}s of workshop messages (10 % bad); the next 6 FHIR PUT Observation fail with 500"
"$py" "$here/loadgen.py" --url "$flow/devicedata/messages" --seconds "$load_seconds" --rate 150 --threads 4 \
  >"$work/loadgen.log" 2>&1 &
load_pid=$!
pids+=("$load_pid")
sleep 2
curl -sf -X POST "$fault_origin/admin/faults" -H 'Content-Type: application/json' \
  -d '[{"status": 500, "count": 6, "method": "PUT", "path": "Observation"}]' >/dev/null \
  || fail "could not queue FHIR faults at $fault_origin/admin/faults"
wait "$load_pid" || fail "loadgen: $(cat "$work/loadgen.log")"
log "$(cat "$work/loadgen.log")"

# ---- 5. every dashboard and rule expression returns data -------------------------------------
dash=$root/deploy/grafana/iomtflow.json
vars=(--var job=iomtflow --var "instance=127.0.0.1:$flow_port")
deadline=$(( $(date +%s) + settle_seconds ))
while :; do
  d_st=0; "$py" "$check" dashboard-live "$dash" --prometheus "$prom" "${vars[@]}" >"$work/dashboard-live.txt" 2>&1 || d_st=$?
  r_st=0; "$py" "$check" rules-live --prometheus "$prom" --group iomtflow >"$work/rules-live.txt" 2>&1 || r_st=$?
  { [ "$d_st" = 0 ] && [ "$r_st" = 0 ]; } && break
  [ "$(date +%s)" -ge "$deadline" ] && break
  sleep 1
done
if [ "$d_st" = 0 ]; then pass "dashboard: $(tail -n 1 "$work/dashboard-live.txt") (every expression and selector has data)"
else fail "dashboard expressions without data:"; grep '^FAIL' "$work/dashboard-live.txt" | sed 's/^/    /'; fi
if [ "$r_st" = 0 ]; then pass "rules: $(tail -n 1 "$work/rules-live.txt") (every rule healthy, every expression and selector has data)"
else fail "rule expressions without data:"; grep '^FAIL' "$work/rules-live.txt" | sed 's/^/    /'; fi

# ---- 6. negative cases: a misspelled metric must fail, named ---------------------------------
sed 's/iomtflow_measurements_total/iomtflow_measurments_total/' "$dash" > "$work/dashboard-typo.json"
st=0; "$py" "$check" dashboard-live "$work/dashboard-typo.json" --prometheus "$prom" "${vars[@]}" >"$work/dashboard-typo.txt" 2>&1 || st=$?
if [ "$st" != 0 ] && grep -q 'FAIL panel .*iomtflow_measurments_total' "$work/dashboard-typo.txt"; then
  pass "misspelled dashboard metric caught: $(grep -m1 '^FAIL' "$work/dashboard-typo.txt" | cut -c1-160)"
else
  fail "the misspelled dashboard metric was not caught (exit $st):"; cat "$work/dashboard-typo.txt"
fi
sed 's/iomtflow_eventhubs_partition_lag_events/iomtflow_eventhub_partition_lag_events/' "$dash" > "$work/dashboard-lag-typo.json"
st=0; "$py" "$check" dashboard-live "$work/dashboard-lag-typo.json" --prometheus "$prom" "${vars[@]}" >"$work/dashboard-lag-typo.txt" 2>&1 || st=$?
if [ "$st" != 0 ] && grep -q "FAIL panel .*Event Hubs consumer lag by partition.*iomtflow_eventhub_partition_lag_events" "$work/dashboard-lag-typo.txt"; then
  pass "misspelled Event Hubs lag metric caught: $(grep -m1 '^FAIL' "$work/dashboard-lag-typo.txt" | cut -c1-160)"
else
  fail "the misspelled Event Hubs lag metric was not caught (exit $st):"; cat "$work/dashboard-lag-typo.txt"
fi
st=0; "$py" "$check" rules-live --prometheus "$prom" --group iomtflow-broken >"$work/rules-typo.txt" 2>&1 || st=$?
if [ "$st" != 0 ] && grep -q 'FAIL group iomtflow-broken alerting IomtflowTypoDeadLetters' "$work/rules-typo.txt" \
   && grep -q 'FAIL group iomtflow-broken alerting IomtflowTypoHiddenBehindOr: selector iomtflow_devcie_events_total' "$work/rules-typo.txt"; then
  pass "misspelled rule metrics caught: $(grep -c '^FAIL' "$work/rules-typo.txt") failures naming IomtflowTypoDeadLetters and IomtflowTypoHiddenBehindOr"
else
  fail "the misspelled rule metrics were not caught (exit $st):"; cat "$work/rules-typo.txt"
fi

log "$passed passed, $failed failed"
[ "$failed" = 0 ]

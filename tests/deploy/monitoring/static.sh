#!/usr/bin/env bash
# tests/deploy/monitoring/static.sh - offline checks of the alert rules and the Grafana dashboard
# (CTest deploy_monitoring_static), each with deliberately broken inputs that must be caught.
#
#   tests/deploy/monitoring/static.sh
#
# Rules (deploy/prometheus): promtool check rules --lint-fatal; promtool test rules (a firing and a
# quiet case for every alert); promtool check config of prometheus.yml; the PrometheusRule manifest
# carries exactly the rule groups. Broken: bad/{syntax,duplicate,duration,unknown-field}.rules.yml
# must be refused; the unit tests must fail when a threshold or a `for` changes; a PrometheusRule
# whose groups drifted must be refused.
# Dashboard (deploy/grafana/iomtflow.json): strict JSON; check_monitoring.py dashboard (structure +
# PromQL syntax through promtool); broken_dashboards.py (one broken copy per kind of mistake).
# Needs promtool (Debian `prometheus`, deploy/ci/setup), python3 with python3-yaml.
# Prints "N passed, N failed"; exit 1 on any failure.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${IOMT_SOURCE_DIR:-$(cd "$here/../../.." && pwd)}
py=/usr/bin/python3
prom_dir=$root/deploy/prometheus
dash=$root/deploy/grafana/iomtflow.json
check=$here/check_monitoring.py

for tool in promtool "$py"; do
  command -v "$tool" >/dev/null || { echo "static: $tool is missing (deploy/ci/setup installs prometheus)"; exit 1; }
done
"$py" -c 'import yaml' 2>/dev/null || { echo "static: python3-yaml is missing (apt-get install python3-yaml)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/iomt-monitoring-static.XXXXXX")
trap 'rm -rf "$work"' EXIT

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
# expect_ok NAME CMD...: CMD must succeed; its output is shown on failure.
expect_ok() {
  local name=$1; shift
  if "$@" >"$work/out" 2>&1; then pass "$name: $(grep -v '^$' "$work/out" | tail -n 1 | sed 's/^ *//')"
  else fail "$name:"; sed 's/^/    /' "$work/out"; fi
}
# expect_fail NAME TEXT CMD...: CMD must fail and print TEXT.
expect_fail() {
  local name=$1 text=$2; shift 2
  if "$@" >"$work/out" 2>&1; then fail "$name: was accepted"; sed 's/^/    /' "$work/out"
  elif grep -qF -- "$text" "$work/out"; then pass "$name: refused ($(grep -F -m1 -- "$text" "$work/out" | sed 's/^ *//' | cut -c1-140))"
  else fail "$name: refused, but without '$text':"; sed 's/^/    /' "$work/out"; fi
}

# ---- rules -------------------------------------------------------------------------------------
expect_ok "promtool check rules --lint-fatal iomtflow-rules.yml" promtool check rules --lint-fatal "$prom_dir/iomtflow-rules.yml"
expect_ok "promtool test rules iomtflow-rules.test.yml" promtool test rules "$prom_dir/iomtflow-rules.test.yml"
cp "$prom_dir/prometheus.yml" "$prom_dir/iomtflow-rules.yml" "$work/"
echo '[{"targets": ["127.0.0.1:8080"], "labels": {"job": "iomtflow"}}]' > "$work/iomtflow-targets.json"
expect_ok "promtool check config prometheus.yml" promtool check config "$work/prometheus.yml"
expect_ok "PrometheusRule carries the rule groups" \
  "$py" "$check" prometheusrule "$prom_dir/iomtflow-rules.yml" "$prom_dir/iomtflow-prometheusrule.yaml"

expect_fail "broken: unbalanced parenthesis" "could not parse expression" promtool check rules --lint-fatal "$here/bad/syntax.rules.yml"
expect_fail "broken: duplicate alert (lint)" "duplicate rule(s) found" promtool check rules --lint-fatal "$here/bad/duplicate.rules.yml"
expect_fail "broken: \`for\` not a duration" "not a valid duration" promtool check rules --lint-fatal "$here/bad/duration.rules.yml"
expect_fail "broken: misspelled field" "field anotations not found" promtool check rules --lint-fatal "$here/bad/unknown-field.rules.yml"

# The unit tests have teeth: a changed threshold, `for` or annotation breaks them.
mutate_rules() {  # $1 sed expression applied to a copy of the rules; the copy's unit tests must fail
  mkdir -p "$work/mut"
  sed "$1" "$prom_dir/iomtflow-rules.yml" > "$work/mut/iomtflow-rules.yml"
  cmp -s "$work/mut/iomtflow-rules.yml" "$prom_dir/iomtflow-rules.yml" && { echo "mutation '$1' changed nothing"; return 0; }
  cp "$prom_dir/iomtflow-rules.test.yml" "$work/mut/"
  promtool test rules "$work/mut/iomtflow-rules.test.yml"
}
expect_fail "broken: error ratio threshold 0.05 -> 0.5" "IomtflowErrorRatioHigh" mutate_rules 's/^            > 0.05$/            > 0.5/'
expect_fail "broken: IomtflowNotReady for 5m -> 10m" "IomtflowNotReady" \
  mutate_rules '/alert: IomtflowNotReady/,/for:/ s/for: 5m/for: 10m/'
expect_fail "broken: lag threshold 60 -> 6000" "IomtflowConsumerLagHigh" mutate_rules 's/^            > 60$/            > 6000/'
expect_fail "broken: Event Hubs lag threshold 10000 -> 100000" "IomtflowEventHubsLagHigh" \
  mutate_rules '/alert: IomtflowEventHubsLagHigh/,/for:/ s/ > 10000$/ > 100000/'
expect_fail "broken: Event Hubs lag ignores draining (horizon 600 s -> 0)" "IomtflowEventHubsLagHigh" \
  mutate_rules 's/lag_events\[10m\], 600)/lag_events[10m], 0)/'
expect_fail "broken: back-pressure signal label" "IomtflowBackpressureSustained" mutate_rules 's/"durable_buffer"/"buffer"/'

# A PrometheusRule whose groups drifted from iomtflow-rules.yml.
sed 's/> 0.05$/> 0.1/' "$prom_dir/iomtflow-prometheusrule.yaml" > "$work/drift.yaml"
expect_fail "broken: PrometheusRule drifted" "spec.groups differ" "$py" "$check" prometheusrule "$prom_dir/iomtflow-rules.yml" "$work/drift.yaml"

# ---- dashboard ---------------------------------------------------------------------------------
expect_ok "iomtflow.json is strict JSON" "$py" -c 'import json,sys; d = json.load(open(sys.argv[1])); print(len(d["panels"]), "panels")' "$dash"
expect_ok "dashboard structure and PromQL syntax" "$py" "$check" dashboard "$dash"
expect_ok "broken dashboards are caught" "$py" "$here/broken_dashboards.py" "$dash"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

#!/usr/bin/env bash
# scripts/peers/stop-services.sh [DIR...] - stop what start-amqp-broker.sh / start-fhir-server.sh
# (this folder) started.
# Each DIR is a service directory holding *.pid files (broker.pid, epmd.pid, server.pid).
# Only the recorded PIDs are signalled: SIGTERM, wait up to 30 s, then SIGKILL.
# Without arguments: the default dirs (${TMPDIR:-/tmp}/iomt-amqp-broker-5671 and
# ${TMPDIR:-/tmp}/iomt-fhir-server-8080).
set -uo pipefail
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=("${TMPDIR:-/tmp}/iomt-amqp-broker-5671" "${TMPDIR:-/tmp}/iomt-fhir-server-8080")

stop_pid() {  # $1 pid  $2 label
  local pid=$1 label=$2
  if ! kill -0 "$pid" 2>/dev/null; then echo "[stop] $label: pid $pid not running" >&2; return 0; fi
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || { echo "[stop] $label: pid $pid stopped" >&2; return 0; }; sleep 0.1; done
  echo "[stop] $label: pid $pid ignored SIGTERM for 30 s, sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null
}

for d in "${dirs[@]}"; do
  [ -d "$d" ] || continue
  # order matters: the broker before its epmd
  for f in server.pid broker.pid epmd.pid; do
    [ -f "$d/$f" ] || continue
    stop_pid "$(cat "$d/$f")" "$d/$f"
    rm -f "$d/$f"
  done
done

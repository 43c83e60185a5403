#!/usr/bin/env bash
# scripts/peers/start-fhir-server.sh - start the in-memory FHIR R4 server that iomtflow's
# integration tests, benchmarks and quickstart write to:
# @medplum/fhir-router (FhirRouter + MemoryRepository, pinned 4.5.2: the last line that runs
# on Node 20) behind node:http (fhir-server/server.js next to this script).
#
#   start-fhir-server.sh [--port 8080] [--dir DIR] [--base /fhir] [--no-validate] [--timeout 60]
#
# Installs the npm packages (npm ci, from fhir-server/package-lock.json) if missing, starts
# the server in the background on 127.0.0.1:PORT, waits for GET /healthz, prints its PID on
# stdout (last line) and writes DIR/env.sh with FHIR_URL. Idempotent.
# Data is in memory only; POST {base}/$reset empties it. Stop: stop-services.sh DIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${FHIR_SERVER_SRC:-$HERE/fhir-server}
PORT=${FHIR_PORT:-8080}
BASE=${FHIR_BASE:-/fhir}
DIR=${FHIR_SERVER_DIR:-}
TIMEOUT=${FHIR_START_TIMEOUT:-60}
VALIDATE_ARG=()
[ "${FHIR_VALIDATE:-1}" = 0 ] && VALIDATE_ARG=(--no-validate)
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --base) BASE=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --no-validate) VALIDATE_ARG=(--no-validate); shift ;;   # ~3x faster writes, no structure checks
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
DIR=${DIR:-${TMPDIR:-/tmp}/iomt-fhir-server-$PORT}
log() { echo "[fhir-server] $*" >&2; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
healthy() (  # plain bash HTTP probe in a subshell, no curl needed
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
  printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  IFS= read -r -t 2 line <&3 || true
  [[ "$line" == *" 200 "* ]]
) 2>/dev/null
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

if [ -f "$DIR/server.pid" ]; then
  pid=$(cat "$DIR/server.pid")
  if alive "$pid" && healthy; then
    log "already running (pid $pid) on http://127.0.0.1:$PORT$BASE"; echo "$pid"; exit 0
  fi
  rm -f "$DIR/server.pid"
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  log "port $PORT is in use by another process"; exit 1
fi

# ---- install ---------------------------------------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "node/npm missing: running scripts/setup (note: @medplum 4.5.2 needs Node >= 20.19)"
  "$HERE/../setup" >&2
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  log "Node $(node -v) is too old: @medplum/fhir-router 4.5.2 needs ^20.19 or >=22.12"; exit 1
fi
if [ ! -f "$SRC/node_modules/@medplum/fhir-router/package.json" ]; then
  log "installing npm packages in $SRC"
  (cd "$SRC" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error >&2)
fi

# ---- start -----------------------------------------------------------------------------------
t0=$(date +%s.%N)
setsid node "$SRC/server.js" --port "$PORT" --host 127.0.0.1 --base "$BASE" "${VALIDATE_ARG[@]}" </dev/null >"$DIR/server.log" 2>&1 &
pid=$!
echo "$pid" > "$DIR/server.pid"
deadline=$(( $(date +%s) + TIMEOUT ))
until healthy; do
  if ! alive "$pid"; then
    log "server exited during startup:"; tail -n 30 "$DIR/server.log" >&2; rm -f "$DIR/server.pid"; exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "not ready after ${TIMEOUT}s; stopping it"; kill "$pid" 2>/dev/null || true; exit 1
  fi
  sleep 0.1
done
t1=$(date +%s.%N)
cat > "$DIR/env.sh" <<EOF
export FHIR_URL=http://127.0.0.1:$PORT$BASE
EOF
log "ready in $(awk "BEGIN{printf \"%.1f\", $t1-$t0}")s: http://127.0.0.1:$PORT$BASE (in-memory; env in $DIR/env.sh)"
echo "$pid"

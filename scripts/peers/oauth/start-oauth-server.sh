#!/usr/bin/env bash
# scripts/peers/oauth/start-oauth-server.sh - start the OAuth2 token server of the integration
# tests (server.mjs next to this script: the npm package oidc-provider, client credentials grant,
# JWT access tokens).
#
#   start-oauth-server.sh [--port 9090] [--dir DIR] [--client-id iomtflow]
#                         [--client-secret-env OAUTH_CLIENT_SECRET] [--audience urn:iomtflow:fhir]
#                         [--ttl 300] [--timeout 60]
#
# The client secret is read from the environment variable named by --client-secret-env.
# Installs the npm packages (npm ci, from package-lock.json) if missing, starts the server in the
# background on 127.0.0.1:PORT, waits for GET /healthz, prints its PID on stdout (last line) and
# writes DIR/env.sh with OAUTH_ISSUER and OAUTH_TOKEN_URL. Stop: ../stop-services.sh DIR
# A FHIR test server requires its tokens with: FHIR_REQUIRE_TOKEN_FROM=$OAUTH_ISSUER.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=9090 DIR= TIMEOUT=60
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --client-id|--client-secret-env|--audience|--ttl|--scopes) pass+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
DIR=${DIR:-${TMPDIR:-/tmp}/iomt-oauth-server-$PORT}
log() { echo "[oauth-server] $*" >&2; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
healthy() (
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
    log "already running (pid $pid) on http://127.0.0.1:$PORT"; echo "$pid"; exit 0
  fi
  rm -f "$DIR/server.pid"
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  log "port $PORT is in use by another process"; exit 1
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "node/npm missing: running scripts/setup"
  "$HERE/../../setup" >&2
fi
if [ ! -f "$HERE/node_modules/oidc-provider/package.json" ]; then
  log "installing npm packages in $HERE"
  (cd "$HERE" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error >&2)
fi

setsid node "$HERE/server.mjs" --port "$PORT" --host 127.0.0.1 "${pass[@]}" </dev/null >"$DIR/server.log" 2>&1 &
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
cat > "$DIR/env.sh" <<EOF
export OAUTH_ISSUER=http://127.0.0.1:$PORT
export OAUTH_TOKEN_URL=http://127.0.0.1:$PORT/token
EOF
log "ready: http://127.0.0.1:$PORT (token endpoint /token; env in $DIR/env.sh)"
echo "$pid"

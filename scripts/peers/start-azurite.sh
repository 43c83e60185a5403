#!/usr/bin/env bash
# scripts/peers/start-azurite.sh - start Azurite's Blob service (the Azure Storage emulator, npm
# package azurite pinned in azurite/package.json: 3.35.0 is the last release that runs on Node 20)
# for the Event Hubs blob checkpoint store's tests.
#
#   start-azurite.sh [--port 10000] [--dir DIR] [--tls] [--timeout 30]
#
# Installs the npm packages (npm ci, from azurite/package-lock.json) if missing, starts the Blob
# service in the background on 127.0.0.1:PORT with in-memory storage (nothing survives a restart),
# waits for the port, prints its PID on stdout (last line) and writes DIR/env.sh with
#   AZURITE_CONNECTION_STRING  DefaultEndpointsProtocol=..;AccountName=devstoreaccount1;AccountKey=..;BlobEndpoint=..
#   AZURITE_BLOB_ENDPOINT      http(s)://127.0.0.1:PORT/devstoreaccount1
#   AZURITE_ACCOUNT, AZURITE_KEY, AZURITE_CA (with --tls: a CA and a certificate for localhost and
#   127.0.0.1 made in DIR/pki; Azurite then speaks HTTPS only)
# Idempotent. Stop: stop-services.sh DIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${AZURITE_SRC:-$HERE/azurite}
PORT=10000 DIR="" TLS=0 TIMEOUT=30
ACCOUNT=devstoreaccount1
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --tls) TLS=1; shift ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
DIR=${DIR:-${TMPDIR:-/tmp}/iomt-azurite-$PORT}
log() { echo "[azurite] $*" >&2; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

if [ -f "$DIR/server.pid" ]; then
  pid=$(cat "$DIR/server.pid")
  if alive "$pid" && port_open "$PORT"; then log "already running (pid $pid) on $PORT"; echo "$pid"; exit 0; fi
  rm -f "$DIR/server.pid"
fi
if port_open "$PORT"; then log "port $PORT is in use by another process"; exit 1; fi

# ---- install ---------------------------------------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "node/npm missing: running scripts/setup"
  "$HERE/../setup" >&2
fi
if [ ! -f "$SRC/node_modules/azurite/package.json" ]; then
  log "installing npm packages in $SRC"
  (cd "$SRC" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error >&2)
fi

# ---- certificates (--tls) --------------------------------------------------------------------
TLS_ARGS=()
SCHEME=http
if [ "$TLS" = 1 ]; then
  PKI=$DIR/pki
  if [ ! -s "$PKI/ca.pem" ] || [ ! -s "$PKI/server.pem" ]; then
    mkdir -p "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=iomt-azurite-test-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$PKI/ca.key" -out "$PKI/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$PKI/server.key" -out "$PKI/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > "$PKI/server.ext"
    openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
      -days 3650 -extfile "$PKI/server.ext" -out "$PKI/server.pem" 2>/dev/null
    chmod 600 "$PKI"/*.key
  fi
  TLS_ARGS=(--cert "$PKI/server.pem" --key "$PKI/server.key")
  SCHEME=https
fi

# ---- start -----------------------------------------------------------------------------------
# In memory (no --location: Azurite refuses both); run in DIR so nothing lands elsewhere.
# --skipApiVersionCheck: the Azure SDK's storage client (the SDK processor of the scale tests) sends
# a newer x-ms-version than Azurite 3.35.0 (the last on Node 20) knows; the operations it uses are
# old ones.
cd "$DIR"
AZURITE_ACCOUNTS= setsid node "$SRC/node_modules/azurite/dist/src/blob/main.js" \
  --blobHost 127.0.0.1 --blobPort "$PORT" --inMemoryPersistence --disableTelemetry --silent --skipApiVersionCheck \
  "${TLS_ARGS[@]}" \
  </dev/null >"$DIR/server.log" 2>&1 &
pid=$!
echo "$pid" > "$DIR/server.pid"
deadline=$(( $(date +%s) + TIMEOUT ))
until port_open "$PORT"; do
  if ! alive "$pid"; then log "exited during startup:"; tail -n 20 "$DIR/server.log" >&2; rm -f "$DIR/server.pid"; exit 1; fi
  if [ "$(date +%s)" -ge "$deadline" ]; then log "not ready after ${TIMEOUT}s"; kill "$pid" 2>/dev/null || true; exit 1; fi
  sleep 0.1
done
ENDPOINT=$SCHEME://127.0.0.1:$PORT/$ACCOUNT
{
  echo "export AZURITE_CONNECTION_STRING='DefaultEndpointsProtocol=$SCHEME;AccountName=$ACCOUNT;AccountKey=$KEY;BlobEndpoint=$ENDPOINT;'"
  echo "export AZURITE_BLOB_ENDPOINT=$ENDPOINT AZURITE_ACCOUNT=$ACCOUNT AZURITE_KEY=$KEY AZURITE_PORT=$PORT"
  [ "$TLS" = 0 ] || echo "export AZURITE_CA=$DIR/pki/ca.pem"
} > "$DIR/env.sh"
log "ready: $ENDPOINT (in memory; env in $DIR/env.sh)"
echo "$pid"

#!/usr/bin/env bash
# scripts/peers/eh-emulator/start.sh - start the Event Hubs-like AMQP endpoint (eh-emulator.js next
# to this script) for iomtflow's Event Hubs tests.
#
#   start.sh [--port 5681] [--plain-port 0] [--dir DIR] [--hubs devicedata] [--partitions 4] [--timeout 30]
#
# Installs the npm packages (npm ci, from package-lock.json) if missing, generates a CA and a
# server certificate (localhost, 127.0.0.1) in DIR/pki, starts the emulator in the background on
# 127.0.0.1, waits for the port, prints its PID (last line) and writes DIR/env.sh with
#   EH_CONNECTION_STRING  Endpoint=sb://localhost:PORT/;SharedAccessKeyName=...;SharedAccessKey=...;EntityPath=HUB
#   EH_PLAIN_CONNECTION_STRING (with --plain-port: ...;UseDevelopmentEmulator=true, for the Azure SDK)
#   EH_CA, EH_KEY_NAME, EH_KEY, EH_HUB, EH_PARTITIONS
# The log is in memory only (a restart empties it). Idempotent. Stop: ../stop-services.sh DIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=5681 PLAIN_PORT=0 DIR="" HUBS=devicedata PARTS=4 TIMEOUT=30
KEY_NAME=${EH_KEY_NAME:-iomt} KEY=${EH_KEY:-aW9tdC10ZXN0LWtleQ==}
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT=$2; shift 2 ;;
    --plain-port) PLAIN_PORT=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --hubs) HUBS=$2; shift 2 ;;
    --partitions) PARTS=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
DIR=${DIR:-${TMPDIR:-/tmp}/iomt-eh-emulator-$PORT}
log() { echo "[eh-emulator] $*" >&2; }
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

if [ ! -f "$HERE/node_modules/rhea/package.json" ] || [ ! -f "$HERE/node_modules/@azure/event-hubs/package.json" ] ||
   [ ! -f "$HERE/node_modules/@azure/eventhubs-checkpointstore-blob/package.json" ]; then
  log "installing npm packages in $HERE"
  (cd "$HERE" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error >&2)
fi

PKI=$DIR/pki
if [ ! -s "$PKI/ca.pem" ] || [ ! -s "$PKI/server.pem" ]; then
  mkdir -p "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=iomt-eh-test-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$PKI/ca.key" -out "$PKI/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$PKI/server.key" -out "$PKI/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > "$PKI/server.ext"
  openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -extfile "$PKI/server.ext" -out "$PKI/server.pem" 2>/dev/null
  chmod 600 "$PKI"/*.key
fi

EH_PORT=$PORT EH_PLAIN_PORT=$PLAIN_PORT EH_TLS_KEY=$PKI/server.key EH_TLS_CERT=$PKI/server.pem \
EH_HUBS=$HUBS EH_PARTITIONS=$PARTS EH_KEY_NAME=$KEY_NAME EH_KEY=$KEY \
  setsid node "$HERE/eh-emulator.js" </dev/null >"$DIR/server.log" 2>&1 &
pid=$!
echo "$pid" > "$DIR/server.pid"
deadline=$(( $(date +%s) + TIMEOUT ))
until port_open "$PORT" && { [ "$PLAIN_PORT" = 0 ] || port_open "$PLAIN_PORT"; }; do
  if ! alive "$pid"; then log "exited during startup:"; tail -n 20 "$DIR/server.log" >&2; rm -f "$DIR/server.pid"; exit 1; fi
  if [ "$(date +%s)" -ge "$deadline" ]; then log "not ready after ${TIMEOUT}s"; kill "$pid" 2>/dev/null || true; exit 1; fi
  sleep 0.1
done
hub=${HUBS%%,*}
{
  echo "export EH_CONNECTION_STRING='Endpoint=sb://localhost:$PORT/;SharedAccessKeyName=$KEY_NAME;SharedAccessKey=$KEY;EntityPath=$hub'"
  [ "$PLAIN_PORT" = 0 ] || echo "export EH_PLAIN_CONNECTION_STRING='Endpoint=sb://localhost:$PLAIN_PORT/;SharedAccessKeyName=$KEY_NAME;SharedAccessKey=$KEY;EntityPath=$hub;UseDevelopmentEmulator=true'"
  echo "export EH_CA=$PKI/ca.pem EH_KEY_NAME=$KEY_NAME EH_KEY=$KEY EH_HUB=$hub EH_PARTITIONS=$PARTS EH_PORT=$PORT"
} > "$DIR/env.sh"
log "ready: amqps://localhost:$PORT (hubs $HUBS, $PARTS partitions), env in $DIR/env.sh"
echo "$pid"

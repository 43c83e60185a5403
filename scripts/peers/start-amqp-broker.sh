#!/usr/bin/env bash
# scripts/peers/start-amqp-broker.sh - start the real AMQP 1.0 broker for iomtflow's integration tests:
# Debian's rabbitmq-server 3.10 + rabbitmq_amqp1_0 plugin, TLS on loopback (self-signed CA
# generated here), SASL PLAIN user/password, durable queues declared at boot.
#
#   start-amqp-broker.sh [--port 5671] [--plain-port 0] [--dir DIR] [--queues a,b]
#                        [--queue-type classic|quorum] [--clean] [--timeout 90]
#
# Installs rabbitmq-server from apt if missing, starts it in the background (own data dir,
# own epmd on loopback), waits until it accepts connections, prints the broker PID on stdout
# (last line) and writes DIR/env.sh with AMQP_URL, AMQP_CA, AMQP_USER, AMQP_PASS, ...
# Idempotent: if the broker recorded in DIR is already up, just prints its PID.
# Stop: stop-services.sh DIR   (kills the PIDs recorded in DIR/*.pid).
#
# Addresses (RabbitMQ 3.10 AMQP 1.0 plugin): use /amq/queue/NAME for queues declared here
# (a bare "NAME" or /queue/NAME makes the plugin declare it NON-durable -> PRECONDITION_FAILED).
set -euo pipefail

TLS_PORT=${AMQP_TLS_PORT:-5671}
PLAIN_PORT=${AMQP_PLAIN_PORT:-0}          # 0 = no cleartext listener
DIR=${AMQP_BROKER_DIR:-}
QUEUES=${AMQP_QUEUES:-device-events}
QUEUE_TYPE=${AMQP_QUEUE_TYPE:-classic}
AUSER=${AMQP_USER:-iomt}
APASS=${AMQP_PASS:-iomt-secret}
TIMEOUT=${AMQP_START_TIMEOUT:-90}
CLEAN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --port) TLS_PORT=$2; shift 2 ;;
    --plain-port) PLAIN_PORT=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --queues) QUEUES=$2; shift 2 ;;
    --queue-type) QUEUE_TYPE=$2; shift 2 ;;
    --clean) CLEAN=1; shift ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
DIR=${DIR:-${TMPDIR:-/tmp}/iomt-amqp-broker-$TLS_PORT}
EPMD_PORT=${AMQP_EPMD_PORT:-$((TLS_PORT + 10000))}
DIST_PORT=${AMQP_DIST_PORT:-$((TLS_PORT + 20000))}
NODE=iomt$TLS_PORT@localhost
log() { echo "[amqp-broker] $*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

# ---- already running? ------------------------------------------------------------------
if [ -f "$DIR/broker.pid" ]; then
  pid=$(cat "$DIR/broker.pid")
  if alive "$pid" && port_open "$TLS_PORT"; then
    log "already running (pid $pid) on 127.0.0.1:$TLS_PORT"
    echo "$pid"
    exit 0
  fi
  rm -f "$DIR/broker.pid"
fi
if port_open "$TLS_PORT"; then
  log "port $TLS_PORT is in use by another process"; exit 1
fi

# ---- install ------------------------------------------------------------------------------
apt_install() {
  local created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then   # keep the package from starting a system broker
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created_policy=1
  fi
  local rc=0
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "$@" >&2 ||
    { apt-get -o DPkg::Lock::Timeout=600 update -q >&2 &&
      apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "$@" >&2; } || rc=$?
  [ $created_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  return $rc
}
need=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
command -v openssl >/dev/null || need+=(openssl)   # only if missing: naming it would upgrade it
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} (apt)"
  apt_install "${need[@]}"
fi
EPMD=$(ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -1)
[ -x "$EPMD" ] || EPMD=$(command -v epmd)

# ---- TLS material (self-signed CA + server cert for localhost/127.0.0.1) -----------------
PKI=$DIR/pki
if [ ! -s "$PKI/ca.pem" ] || [ ! -s "$PKI/server.pem" ] || [ ! -s "$PKI/server.key" ]; then
  log "generating CA and server certificate in $PKI"
  mkdir -p "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=iomt-test-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$PKI/ca.key" -out "$PKI/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$PKI/server.key" -out "$PKI/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > "$PKI/server.ext"
  openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -extfile "$PKI/server.ext" -out "$PKI/server.pem" 2>/dev/null
  chmod 600 "$PKI"/*.key
fi

# ---- configuration -------------------------------------------------------------------------
if [ "$CLEAN" = 1 ]; then rm -rf "$DIR/mnesia"; fi
mkdir -p "$DIR/mnesia" "$DIR/log"
{
  if [ "$PLAIN_PORT" = 0 ]; then echo "listeners.tcp = none"; else echo "listeners.tcp.default = 127.0.0.1:$PLAIN_PORT"; fi
  cat <<EOF
listeners.ssl.default = 127.0.0.1:$TLS_PORT
ssl_options.cacertfile = $PKI/ca.pem
ssl_options.certfile = $PKI/server.pem
ssl_options.keyfile = $PKI/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
loopback_users = none
load_definitions = $DIR/definitions.json
amqp1_0.default_user = none
amqp1_0.default_vhost = /
log.console = false
log.file.level = info
EOF
} > "$DIR/rabbitmq.conf"
{
  printf '{"users":[{"name":"%s","password":"%s","tags":["administrator"]}],\n' "$AUSER" "$APASS"
  printf ' "vhosts":[{"name":"/"}],\n'
  printf ' "permissions":[{"user":"%s","vhost":"/","configure":".*","write":".*","read":".*"}],\n' "$AUSER"
  printf ' "queues":['
  sep=""
  IFS=',' read -r -a qs <<< "$QUEUES"
  for q in "${qs[@]}"; do
    [ -n "$q" ] || continue
    printf '%s{"name":"%s","vhost":"/","durable":true,"auto_delete":false,"arguments":{"x-queue-type":"%s"}}' "$sep" "$q" "$QUEUE_TYPE"
    sep=","
  done
  printf ']}\n'
} > "$DIR/definitions.json"
echo '[rabbitmq_amqp1_0].' > "$DIR/enabled_plugins"

cat > "$DIR/env.sh" <<EOF
# source this file: connection details + what rabbitmqctl needs to reach this node
export AMQP_URL=amqps://127.0.0.1:$TLS_PORT
export AMQP_HOST=127.0.0.1 AMQP_PORT=$TLS_PORT AMQP_TLS_NAME=localhost
export AMQP_CA=$PKI/ca.pem
export AMQP_USER=$AUSER AMQP_PASS=$APASS
export AMQP_QUEUES=$QUEUES AMQP_ADDRESS_PREFIX=/amq/queue/
export HOME=$DIR
export RABBITMQ_CONF_ENV_FILE=/dev/null
export RABBITMQ_CONFIG_FILE=$DIR/rabbitmq.conf
export RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/enabled_plugins
export RABBITMQ_MNESIA_BASE=$DIR/mnesia
export RABBITMQ_LOG_BASE=$DIR/log
export RABBITMQ_NODENAME=$NODE
export RABBITMQ_DIST_PORT=$DIST_PORT
export ERL_EPMD_PORT=$EPMD_PORT
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
# e.g.: (. $DIR/env.sh; /usr/lib/rabbitmq/bin/rabbitmqctl -n $NODE list_queues name messages)
EOF
# shellcheck disable=SC1091
. "$DIR/env.sh"

# ---- epmd (Erlang port mapper) of our own, on loopback, so the stop script can end it ------
epmd_pid=""
[ -f "$DIR/epmd.pid" ] && epmd_pid=$(cat "$DIR/epmd.pid")
if ! alive "$epmd_pid" || ! port_open "$EPMD_PORT"; then
  if port_open "$EPMD_PORT"; then
    log "reusing an epmd already listening on $EPMD_PORT"; rm -f "$DIR/epmd.pid"
  else
    setsid "$EPMD" -port "$EPMD_PORT" -address 127.0.0.1 </dev/null >>"$DIR/log/epmd.log" 2>&1 &
    echo $! > "$DIR/epmd.pid"
    for _ in $(seq 50); do port_open "$EPMD_PORT" && break; sleep 0.1; done
  fi
fi

# ---- start ---------------------------------------------------------------------------------
rm -f "$DIR/log/$NODE.log"
t0=$(date +%s.%N)
setsid /usr/lib/rabbitmq/bin/rabbitmq-server </dev/null >"$DIR/log/stdout.log" 2>&1 &
pid=$!
echo "$pid" > "$DIR/broker.pid"
deadline=$(( $(date +%s) + TIMEOUT ))
until grep -q "Server startup complete" "$DIR/log/$NODE.log" 2>/dev/null && port_open "$TLS_PORT"; do
  if ! alive "$pid"; then
    log "broker exited during startup; last log lines:"; tail -n 30 "$DIR/log/stdout.log" "$DIR/log/$NODE.log" >&2 || true
    rm -f "$DIR/broker.pid"; exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "not ready after ${TIMEOUT}s; stopping it"; kill "$pid" 2>/dev/null || true
    tail -n 30 "$DIR/log/$NODE.log" >&2 || true; exit 1
  fi
  sleep 0.2
done
t1=$(date +%s.%N)
log "ready in $(awk "BEGIN{printf \"%.1f\", $t1-$t0}")s: amqps://127.0.0.1:$TLS_PORT (SASL PLAIN $AUSER), CA $PKI/ca.pem, queues [$QUEUES] as /amq/queue/NAME, env in $DIR/env.sh"
echo "$pid"

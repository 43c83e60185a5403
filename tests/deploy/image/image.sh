#!/usr/bin/env bash
# tests/deploy/image/image.sh - build deploy/Dockerfile with podman and run the image the way the
# Helm chart runs it (CTest deploy_image).
#
#  1. podman build (the real Dockerfile: iomtflow compiled in the build stage) -> localhost/iomtflow:ci
#  2. the image's metadata: user 10001, entrypoint iomtflow, default command, port, OCI labels; no
#     compiler or headers in the runtime stage; every linked library present
#  3. the config: the Helm chart rendered (helm template) with the FHIR server of the tests
#     (FHIR_URL, from scripts/test) and a SAS key Secret reference; the ConfigMap's files
#     (iomtflow.yaml + the workshop mappings) are mounted read-only at /etc/iomtflow
#  4. podman run --read-only --cap-drop ALL --security-opt no-new-privileges, tmpfs for
#     /var/lib/iomtflow (the chart's data volume) and /tmp, --network host with the ingest port on
#     127.0.0.1; GET /healthz and /readyz answer 200; the root file system refuses writes
#  5. a workshop message (Challenge-09 BP sample, with a device id unique to this run) POSTed with a
#     SAS token -> 201; its Observation is then found on the FHIR server
#  6. podman stop: iomtflow drains on SIGTERM as PID 1 and exits 0
# The container is removed on exit (trap); the image stays, so a rerun is a cached build.
set -euo pipefail
src=${IOMT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
eval "$("$src/deploy/ci/setup" --print-env)"
: "${FHIR_URL:?FHIR_URL is not set: run through scripts/test, which starts the FHIR server}"
shared=${IOMT_SHARED_DIR:-$src/../shared}
workshop="$shared/vectors/azure-health-data-services-workshop/Challenge-09 - MedTech service/SampleData"
image=localhost/iomtflow:ci
name=iomt-image-test-$$
work=$(mktemp -d "${TMPDIR:-/tmp}/iomt-image-test.XXXXXX")
cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
fail() {
  echo "FAIL $*"
  if podman container exists "$name" 2>/dev/null; then echo "--- podman logs $name (last 30 lines)"; podman logs "$name" 2>&1 | tail -30; fi
  exit 1
}
now() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(now) - $1" | bc)"; }

# ---- 1. build ---------------------------------------------------------------------------------
# IOMT_IMAGE_PRESET (default ci here; the Dockerfile's own default is release) picks the CMake
# preset compiled in the image. IOMT_IMAGE_CCACHE=DIR|auto (default auto = `ccache -k cache_dir`,
# empty = off) lets the build stage use the host's ccache folder (bind-mounted) instead of its own
# cache mount. After scripts/test has built the ci preset (with CCACHE_BASEDIR, as in the image) the
# image then compiles almost nothing.
preset=${IOMT_IMAGE_PRESET:-ci}
IOMT_IMAGE_CCACHE=${IOMT_IMAGE_CCACHE-auto}
build_args=(--build-arg PRESET="$preset")
if [ "$IOMT_IMAGE_CCACHE" = auto ]; then
  IOMT_IMAGE_CCACHE=$(ccache -k cache_dir 2>/dev/null || true)   # the host's own (CCACHE_DIR or ~/.cache/ccache)
fi
if [ -n "${IOMT_IMAGE_CCACHE:-}" ]; then
  mkdir -p "$IOMT_IMAGE_CCACHE"
  build_args+=(-v "$IOMT_IMAGE_CCACHE:/host-ccache" --build-arg CCACHE_DIR=/host-ccache)
fi
t0=$(now)
revision=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)
if ! podman build --network=host -f "$src/deploy/Dockerfile" -t "$image" "${build_args[@]}" \
      --build-arg REVISION="$revision" --build-arg VERSION="$(sed -n 's/^appVersion: *"\(.*\)"/\1/p' "$src/deploy/helm/iomtflow/Chart.yaml")" \
      "$src" >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log"
  fail "podman build -f deploy/Dockerfile"
fi
grep -E '^(Cacheable calls|  Hits|  Misses)' "$work/build.log" | sed 's/^/     ccache: /' || true
# earlier builds of this image, now untagged (the build stage's layers stay: they are the cache)
podman image prune -f --filter label=org.opencontainers.image.title=iomtflow >/dev/null 2>&1 || true
ok "podman build -f deploy/Dockerfile, preset $preset ($(since "$t0") s, $(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"

# ---- 2. image metadata and contents ------------------------------------------------------------
inspect() { podman image inspect --format "$1" "$image"; }
expect() { if [ "$2" = "$3" ]; then ok "$1 = $3"; else fail "$1: expected '$3', got '$2'"; fi; }
expect "User" "$(inspect '{{.Config.User}}')" "10001:10001"
expect "Entrypoint" "$(inspect '{{json .Config.Entrypoint}}')" '["iomtflow"]'
expect "Cmd" "$(inspect '{{json .Config.Cmd}}')" '["run","--config","/etc/iomtflow/iomtflow.yaml"]'
expect "ExposedPorts" "$(inspect '{{range $p, $v := .Config.ExposedPorts}}{{$p}} {{end}}')" "8080/tcp 9090/tcp "
expect "label org.opencontainers.image.revision" "$(inspect '{{index .Config.Labels "org.opencontainers.image.revision"}}')" "$revision"
expect "label org.opencontainers.image.title" "$(inspect '{{index .Config.Labels "org.opencontainers.image.title"}}')" "iomtflow"
expect "iomtflow version" "$(podman run --rm --network=none "$image" version)" "iomtflow 0.1.0"
leftovers=$(podman run --rm --network=none --entrypoint /bin/sh "$image" -c \
  'for f in /usr/bin/g++ /usr/bin/cmake /usr/bin/c++ /usr/include/boost /usr/include/simdjson.h /src; do [ -e "$f" ] && echo "$f"; done; true')
expect "build tools and headers in the runtime image" "$leftovers" ""
missing=$(podman run --rm --network=none --entrypoint /bin/sh "$image" -c 'ldd /usr/local/bin/iomtflow | grep "not found"; true')
expect "libraries not found by ldd" "$missing" ""

# ---- 3. config: the Helm chart's ConfigMap -----------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
admin_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/etc"
helm template iot "$src/deploy/helm/iomtflow" --namespace iomt \
  --set-string config.fhir.url="$FHIR_URL" --set config.pipeline.flush_interval=500ms --set config.pipeline.shards=2 \
  --set port="$port" --set adminPort="$admin_port" --set 'secrets.sasKeys[0].name=RootManageSharedAccessKey' \
  --set 'secrets.sasKeys[0].secretName=iomtflow-ingest' --set 'secrets.sasKeys[0].secretKey=sas-key' \
  --set-file mappings.device="$workshop/Answers/devicecontent.json" \
  --set-file mappings.fhir="$workshop/Answers/fhirmapping.json" >"$work/chart.yaml"
python3 - "$work/chart.yaml" "$work/etc" <<'EOF'
import sys, yaml
objs = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o]
cm = [o for o in objs if o["kind"] == "ConfigMap"][0]
for name, text in cm["data"].items():
    if name == "iomtflow.yaml":
        # --network host: listen on loopback only (the pod listens on 0.0.0.0 in its own namespace)
        text = text.replace("listen: 0.0.0.0", "listen: 127.0.0.1")
    open(f"{sys.argv[2]}/{name}", "w").write(text)
EOF
chmod -R a+rX "$work/etc"
ok "config from helm template (ConfigMap: $(ls "$work/etc" | tr '\n' ' '))"

# ---- 4. run read-only ------------------------------------------------------------------------
IOMT_SAS_KEY=$(openssl rand -base64 32)
podman run -d --name "$name" --network=host --read-only --cap-drop ALL --security-opt no-new-privileges \
  -v "$work/etc:/etc/iomtflow:ro" \
  --tmpfs /var/lib/iomtflow:rw,size=256m,U \
  --tmpfs /tmp:rw,size=64m,mode=1777 \
  -e IOMT_SAS_KEY_0="$IOMT_SAS_KEY" "$image" >/dev/null || fail "podman run"
base=http://127.0.0.1:$port
admin=http://127.0.0.1:$admin_port   # /healthz, /readyz, /metrics (the chart's adminPort)
code() { curl -s -o "$work/answer" -w '%{http_code}' "$@" 2>/dev/null || true; }
t0=$(now)
deadline=$(( $(date +%s) + 90 ))
until [ "$(code "$admin/readyz")" = 200 ]; do
  [ "$(podman inspect --format '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || fail "the container exited during start-up"
  [ "$(date +%s)" -lt "$deadline" ] || fail "GET /readyz not 200 after 90 s: $(cat "$work/answer" 2>/dev/null)"
  sleep 0.2
done
ok "GET /readyz = 200 ($(since "$t0") s after start)"
expect "GET /healthz" "$(code "$admin/healthz")" 200
expect "process user in the container (user, host uid)" "$(podman top "$name" user huser | sed -n 2p | xargs)" "iomtflow 10001"
# as root in the container, so that only the read-only mount can refuse the write
if out=$(podman exec --user 0 "$name" /bin/sh -c 'touch /usr/local/bin/x' 2>&1); then fail "the root file system is writable"; fi
case "$out" in *"Read-only file system"*) ok "the root file system is read-only (touch as root: Read-only file system)" ;;
  *) fail "touch on the root file system failed for another reason: $out" ;; esac

# ---- 5. a workshop message -> FHIR -------------------------------------------------------------
urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
sas_token() {  # $1 resource URI (as the Azure SDKs and the workshop's Postman script sign it)
  local sr se sig
  sr=$(urlencode "$1"); se=$(( $(date +%s) + 3600 ))
  sig=$(printf '%s\n%s' "$sr" "$se" | openssl dgst -sha256 -hmac "$IOMT_SAS_KEY" -binary | openssl base64 -A)
  printf 'SharedAccessSignature sr=%s&sig=%s&se=%s&skn=RootManageSharedAccessKey' "$sr" "$(urlencode "$sig")" "$se"
}
device=IMG$$-$(openssl rand -hex 4)
# The BP message of Three-Sample-Message-Types.json, with this run's device and patient ids.
awk '/^=+ *BP *=+/ {on = 1; next} /^=+/ {on = 0} on' "$workshop/Three-Sample-Message-Types.json" \
  | sed -e "s/MSFT00002BP/$device/" -e "s/PatientMary/P-$device/" >"$work/bp.json"
grep -q "$device" "$work/bp.json" || fail "could not cut the BP message out of Three-Sample-Message-Types.json"
expect "POST /devicedata/messages (workshop BP message)" \
  "$(code -X POST "$base/devicedata/messages" -H "Authorization: $(sas_token "$base/devicedata")" \
       -H 'Content-Type: application/json' --data-binary "@$work/bp.json")" 201
expect "POST without a SAS token" "$(code -X POST "$base/devicedata/messages" --data-binary "@$work/bp.json")" 401
found=$(python3 - "$FHIR_URL" "$device" <<'EOF'
import json, sys, time, urllib.request, urllib.parse
fhir, device = sys.argv[1], sys.argv[2]
def get(path):
    with urllib.request.urlopen(fhir + path, timeout=10) as r:
        return json.load(r)
deadline = time.time() + 30
while time.time() < deadline:
    devices = [e["resource"] for e in get("/Device?identifier=" + urllib.parse.quote(device)).get("entry", [])]
    if devices:
        ref = "Device/" + devices[0]["id"]
        obs = [e["resource"] for e in get("/Observation?device=" + urllib.parse.quote(ref) + "&_count=100").get("entry", [])]
        obs = [o for o in obs if o.get("device", {}).get("reference") == ref]
        if obs:
            o = obs[0]
            what = ", ".join(sorted(f'{x["code"].get("text", "?")} {x.get("valueQuantity", {}).get("value", "")}'.strip() for x in obs))
            print(f'{len(obs)} Observation(s) for {ref}: {what}')
            sys.exit(0)
    time.sleep(0.5)
print("none")
sys.exit(1)
EOF
) || fail "no Observation for device $device on $FHIR_URL"
ok "FHIR server: $found"

# ---- 6. graceful stop --------------------------------------------------------------------------
t0=$(now)
podman stop -t 30 "$name" >/dev/null
expect "exit code after SIGTERM" "$(podman inspect --format '{{.State.ExitCode}}' "$name")" 0
ok "stopped in $(since "$t0") s"
echo "$pass passed, 0 failed"

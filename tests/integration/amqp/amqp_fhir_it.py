#!/usr/bin/env python3
"""50,000 device messages from RabbitMQ (AMQP 1.0 over TLS, SASL PLAIN) through `iomtflow run`
(source.amqp) to the in-memory FHIR server: every message becomes exactly one Observation, every
delivery is accepted only after its Observation is written, and the queue ends empty.
(iomt issue 5; bounded: about a minute on the 2-core test machine, at most 110 s.)

Environment:
  IOMTFLOW        the iomtflow binary (built with the source.amqp wiring)
  IOMT_AMQP_TOOL  bench/amqp's binary `amqp` (the AMQP load generator: `amqp send`)
  IOMT_SOURCE_DIR the source tree (scripts/peers, bench/e2e mappings)
  AMQP_URL AMQP_CA AMQP_USER AMQP_PASS   the broker (scripts/test starts it); else one is started
  The FHIR server is always one of its own, with structural validation off (the single-threaded
  server is the bottleneck, docs/benchmarks.md), so the run stays within its time bound.
  AMQP_FHIR_COUNT messages (default 50000)
Standard library only. Exit status 0 when every check holds.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

SOURCE = os.environ.get("IOMT_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PEERS = os.path.join(SOURCE, "scripts", "peers")
COUNT = int(os.environ.get("AMQP_FHIR_COUNT", "50000"))
DEVICES = 100
DEADLINE = time.monotonic() + 110
started = []


def log(m):
    print(f"[amqp-fhir] {m}", flush=True)


def fail(m):
    log("FAILED: " + m)
    sys.exit(1)


def read_env_sh(path):
    env = {}
    for line in open(path):
        if line.startswith("export "):
            for word in line[7:].split():
                if "=" in word:
                    k, v = word.split("=", 1)
                    env[k] = v.strip("'\"")
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, body=None, timeout=60):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    c.request(method, u.path + ("?" + u.query if u.query else ""), body=body,
              headers={"Content-Type": "application/fhir+json"} if body is not None else {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def metric(text, name, labels=""):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (not labels or labels in line):
            m = re.match(r"^" + re.escape(name) + r"(\{[^}]*\})?\s+(\S+)$", line)
            if m:
                total += float(m.group(2))
    return total


def main():
    iomtflow = os.environ.get("IOMTFLOW")
    tool = os.environ.get("IOMT_AMQP_TOOL")
    if not iomtflow or not tool:
        fail("set IOMTFLOW and IOMT_AMQP_TOOL")
    work = tempfile.mkdtemp(prefix="iomt-amqp-fhir-")

    # Peers: the ones scripts/test started, or our own.
    if os.environ.get("AMQP_URL"):
        amqp = {k: os.environ[k] for k in ("AMQP_URL", "AMQP_CA", "AMQP_USER", "AMQP_PASS")}
    else:
        d = os.path.join(work, "broker")
        subprocess.run([os.path.join(PEERS, "start-amqp-broker.sh"), "--port", "5696", "--dir", d], check=True,
                       stdout=subprocess.DEVNULL)
        started.append(d)
        amqp = read_env_sh(os.path.join(d, "env.sh"))
    if True:
        d = os.path.join(work, "fhir")
        # Structural validation off: the single-threaded server is the bottleneck (docs/benchmarks.md).
        subprocess.run([os.path.join(PEERS, "start-fhir-server.sh"), "--port", str(free_port()), "--dir", d, "--no-validate"],
                       check=True, stdout=subprocess.DEVNULL)
        started.append(d)
        fhir = read_env_sh(os.path.join(d, "env.sh"))["FHIR_URL"]
    status, _ = request("POST", fhir + "/$reset", b"")
    if status // 100 != 2:
        fail(f"FHIR $reset answered {status}")

    # The queue (declared durable by the first send) gets COUNT Quantity messages: one per device
    # and second, so each becomes one Observation (bench/e2e/quantity-*.json).
    queue = f"amqp-fhir-it-{os.getpid()}"
    common = ["--url", amqp["AMQP_URL"], "--ca", amqp["AMQP_CA"], "--user", amqp["AMQP_USER"],
              "--password", amqp["AMQP_PASS"], "--queue", queue]
    t0 = time.monotonic()
    subprocess.run([tool, "send", *common, "--count", str(COUNT), "--devices", str(DEVICES)], check=True)
    log(f"sent {COUNT} messages in {time.monotonic() - t0:.1f}s")

    port = free_port()
    config = os.path.join(work, "iomtflow.yaml")
    with open(config, "w") as f:
        f.write(f"""source:
  http: {{listen: 127.0.0.1, port: {port}, auth: none}}
  amqp:
    url: {amqp["AMQP_URL"]}
    addresses: [/amq/queue/{queue}]
    user: {amqp["AMQP_USER"]}
    password_env: IOMT_IT_AMQP_PASSWORD
    ca_file: {amqp["AMQP_CA"]}
    tls_server_name: localhost
mapping:
  device: {SOURCE}/bench/e2e/quantity-device.json
  fhir: {SOURCE}/bench/e2e/quantity-fhir.json
pipeline: {{shards: 2, flush_interval: 500ms}}
fhir: {{url: '{fhir}', identity: Create, bundles: true}}
log: {{level: warn}}
buffer: {{enabled: false}}
deadletter: {{dir: '{work}/deadletter'}}
""")
    env = dict(os.environ, IOMT_IT_AMQP_PASSWORD=amqp["AMQP_PASS"])
    out = open(os.path.join(work, "iomtflow.log"), "w")
    proc = subprocess.Popen([iomtflow, "run", "--config", config], stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        accepted = 0
        while time.monotonic() < DEADLINE:
            if proc.poll() is not None:
                fail(f"iomtflow exited with {proc.returncode}; see {out.name}")
            try:
                _, text = request("GET", base + "/metrics", timeout=5)
                text = text.decode()
                accepted = metric(text, "iomtflow_amqp_settled_total", 'outcome="accepted"')
                unsettled = metric(text, "iomtflow_amqp_unsettled")
                if accepted >= COUNT and unsettled == 0:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        secs = time.monotonic() - t0
        if accepted < COUNT:
            fail(f"only {accepted:.0f} of {COUNT} deliveries accepted within the time bound; see {out.name}")
        saved = metric(text, "iomtflow_fhir_resources_saved_total")
        log(f"{accepted:.0f} deliveries accepted, {saved:.0f} Observations saved in {secs:.1f}s "
            f"({COUNT / secs:.0f} messages/s)")
        for kind in ("released", "modified", "rejected"):
            n = metric(text, "iomtflow_amqp_settled_total", f'outcome="{kind}"')
            if n:
                fail(f"{n:.0f} deliveries {kind}")
        errors = metric(text, "iomtflow_errors_total")
        if errors:
            fail(f"{errors:.0f} pipeline errors; see {out.name}")
        # Settled means written: the FHIR server holds one Observation per message now.
        status, body = request("GET", fhir + "/Observation?_summary=count", timeout=60)
        total = json.loads(body).get("total")
        if total != COUNT:
            fail(f"the FHIR server holds {total} Observations, expected {COUNT}")
        log(f"FHIR server: {total} Observations")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = -9
        out.close()
    if rc != 0:
        fail(f"iomtflow exited with {rc} after SIGTERM")
    # Nothing left in the queue.
    r = subprocess.run([tool, "drain", *common, "--count", "1"], capture_output=True, text=True)
    if "drain (bare Proton receiver): 1 messages" in r.stderr:
        fail("the queue still holds messages after every delivery was accepted")
    log("ok")


if __name__ == "__main__":
    try:
        main()
    finally:
        if started:
            subprocess.run([os.path.join(PEERS, "stop-services.sh"), *started], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

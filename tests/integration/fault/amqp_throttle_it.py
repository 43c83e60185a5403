#!/usr/bin/env python3
"""A 429 storm through the AMQP source (iomt issue 12): RabbitMQ (AMQP 1.0 over TLS) -> `iomtflow
run` (source.amqp, no buffer) -> the in-memory FHIR server answering 429 + Retry-After: 1 to 300
writes (PUT: the test's own reads must not meet them), far beyond the client's retry budget (fhir.retry.max_attempts: 2).

Checks: no delivery is settled as accepted before its Observation is written (polled all along:
the FHIR server always holds at least as many Observations as deliveries were accepted); none is
released, modified or rejected (waiting events stay unsettled in iomtflow's hands); nothing is
dead-lettered; at the end every message is one Observation and the queue is empty. Bounded: at
most BOUND seconds.

Environment: IOMTFLOW, IOMT_AMQP_TOOL (bench/amqp's `amqp`), IOMT_SOURCE_DIR, AMQP_URL AMQP_CA
AMQP_USER AMQP_PASS (scripts/test starts the broker; else one is started). AMQP_THROTTLE_COUNT
messages (default 5000).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "amqp"))
from amqp_fhir_it import PEERS, SOURCE, free_port, metric, read_env_sh, request  # noqa: E402

COUNT = int(os.environ.get("AMQP_THROTTLE_COUNT", "5000"))
BOUND = 240
started = []


def log(m):
    print(f"[amqp-throttle] {m}", flush=True)


def fail(m):
    log("FAILED: " + m)
    sys.exit(1)


def fhir_count(fhir):
    status, body = request("GET", fhir + "/Observation?_summary=count", timeout=60)
    if status != 200:
        fail(f"FHIR count answered {status}")
    return json.loads(body).get("total", 0)


def main():
    deadline = time.monotonic() + BOUND
    iomtflow, tool = os.environ.get("IOMTFLOW"), os.environ.get("IOMT_AMQP_TOOL")
    if not iomtflow or not tool:
        fail("set IOMTFLOW and IOMT_AMQP_TOOL")
    work = tempfile.mkdtemp(prefix="iomt-amqp-throttle-")
    if os.environ.get("AMQP_URL"):
        amqp = {k: os.environ[k] for k in ("AMQP_URL", "AMQP_CA", "AMQP_USER", "AMQP_PASS")}
    else:
        d = os.path.join(work, "broker")
        subprocess.run([os.path.join(PEERS, "start-amqp-broker.sh"), "--port", "5697", "--dir", d], check=True,
                       stdout=subprocess.DEVNULL)
        started.append(d)
        amqp = read_env_sh(os.path.join(d, "env.sh"))
    d = os.path.join(work, "fhir")
    subprocess.run([os.path.join(PEERS, "start-fhir-server.sh"), "--port", str(free_port()), "--dir", d, "--no-validate"],
                   check=True, stdout=subprocess.DEVNULL)
    started.append(d)
    fhir = read_env_sh(os.path.join(d, "env.sh"))["FHIR_URL"]
    origin = fhir.rsplit("/fhir", 1)[0]
    request("POST", fhir + "/$reset", b"")

    queue = f"amqp-throttle-it-{os.getpid()}"
    common = ["--url", amqp["AMQP_URL"], "--ca", amqp["AMQP_CA"], "--user", amqp["AMQP_USER"],
              "--password", amqp["AMQP_PASS"], "--queue", queue]
    subprocess.run([tool, "send", *common, "--count", str(COUNT), "--devices", "50"], check=True)
    log(f"sent {COUNT} messages")
    status, _ = request("POST", origin + "/admin/faults",
                        json.dumps({"status": 429, "count": 300, "retryAfter": "1", "method": "PUT"}).encode())
    if status != 200:
        fail(f"POST /admin/faults answered {status}")

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
    max_unsettled: 1000
mapping:
  device: {SOURCE}/bench/e2e/quantity-device.json
  fhir: {SOURCE}/bench/e2e/quantity-fhir.json
pipeline: {{shards: 2, flush_interval: 300ms}}
fhir:
  url: '{fhir}'
  identity: Create
  retry: {{max_attempts: 2, base_delay: 50ms, max_delay: 200ms, resubmit_delay: 200ms, resubmit_max_delay: 2s}}
log: {{level: warn}}
buffer: {{enabled: false}}
deadletter: {{dir: '{work}/deadletter'}}
""")
    env = dict(os.environ, IOMT_IT_AMQP_PASSWORD=amqp["AMQP_PASS"])
    out = open(os.path.join(work, "iomtflow.log"), "w")
    proc = subprocess.Popen([iomtflow, "run", "--config", config], stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    polls = max_waiting = 0
    accepted = unsettled = 0
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                fail(f"iomtflow exited with {proc.returncode}; see {out.name}")
            try:
                _, text = request("GET", base + "/metrics", timeout=5)
            except OSError:
                time.sleep(0.3)
                continue
            text = text.decode()
            accepted = metric(text, "iomtflow_amqp_settled_total", 'outcome="accepted"')
            unsettled = metric(text, "iomtflow_amqp_unsettled")
            max_waiting = max(max_waiting, metric(text, "iomtflow_waiting_events"))
            written = fhir_count(fhir)  # read after the settlement count
            polls += 1
            if written < accepted:
                fail(f"{accepted:.0f} deliveries accepted but only {written} Observations written")
            if accepted >= COUNT and unsettled == 0:
                break
            time.sleep(0.3)
        if accepted < COUNT:
            fail(f"only {accepted:.0f} of {COUNT} deliveries accepted within {BOUND} s; see {out.name}")
        for kind in ("released", "modified", "rejected"):
            n = metric(text, "iomtflow_amqp_settled_total", f'outcome="{kind}"')
            if n:
                fail(f"{n:.0f} deliveries {kind}")
        dead = metric(text, "iomtflow_deadletter_events_total")
        if dead:
            fail(f"{dead:.0f} events dead-lettered")
        total = fhir_count(fhir)
        if total != COUNT:
            fail(f"the FHIR server holds {total} Observations, expected {COUNT}")
        status, body = request("GET", origin + "/admin/stats")
        injected = json.loads(body).get("faultsInjected", 0)
        if injected < 300:
            fail(f"only {injected} of the 300 faults were played")
        if max_waiting == 0:
            fail("no event ever waited: the storm did not outlast the client's retries")
        log(json.dumps({"sent": COUNT, "accepted": int(accepted), "written": total, "dead_lettered": 0,
                        "duplicates": 0, "faults_played": injected, "max_waiting": int(max_waiting),
                        "polls_accepted_le_written": polls}))
    finally:
        proc.send_signal(15)
        try:
            rc = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = -9
        out.close()
    if rc != 0:
        fail(f"iomtflow exited with {rc} after SIGTERM")
    r = subprocess.run([tool, "drain", *common, "--count", "1"], capture_output=True, text=True)
    if "drain (bare Proton receiver): 1 messages" in r.stderr:
        fail("the queue still holds messages after every delivery was accepted")
    log("ok: the queue is empty")


if __name__ == "__main__":
    try:
        main()
    finally:
        if started:
            subprocess.run([os.path.join(PEERS, "stop-services.sh"), *started], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

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
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipeline"))
from harness import AmqpQueue, Services, metric, observation_count, request, unaccepted_deliveries  # noqa: E402

COUNT = int(os.environ.get("AMQP_THROTTLE_COUNT", "5000"))
BOUND = 240


def log(m):
    print(f"[amqp-throttle] {m}", flush=True)


def fail(m):
    log("FAILED: " + m)
    sys.exit(1)


def main(peers):
    deadline = time.monotonic() + BOUND
    iomtflow, tool = os.environ.get("IOMTFLOW"), os.environ.get("IOMT_AMQP_TOOL")
    if not iomtflow or not tool:
        fail("set IOMTFLOW and IOMT_AMQP_TOOL")
    amqp = peers.amqp_broker(5697)
    fhir = peers.fhir_server()
    origin = fhir.rsplit("/fhir", 1)[0]

    queue = AmqpQueue(tool, amqp, f"amqp-throttle-it-{os.getpid()}")
    queue.send(COUNT, 50)
    log(f"sent {COUNT} messages")
    status, _ = request("POST", origin + "/admin/faults",
                        json.dumps({"status": 429, "count": 300, "retryAfter": "1", "method": "PUT"}).encode())
    if status != 200:
        fail(f"POST /admin/faults answered {status}")

    retry = "{max_attempts: 2, base_delay: 50ms, max_delay: 200ms, resubmit_delay: 200ms, resubmit_max_delay: 2s}"
    with queue.run_iomtflow(iomtflow, peers.work, f"{{url: '{fhir}', identity: Create, retry: {retry}}}", "300ms",
                            max_unsettled=1000) as flow:
        polls = max_waiting = 0
        accepted = unsettled = 0
        while time.monotonic() < deadline:
            if not flow.alive():
                fail(f"iomtflow exited with {flow.proc.returncode}; see {flow.logfile}")
            v = flow.metrics()
            if v is None:
                time.sleep(0.3)
                continue
            values = v
            accepted = metric(values, "iomtflow_amqp_settled_total", outcome="accepted")
            unsettled = metric(values, "iomtflow_amqp_unsettled")
            max_waiting = max(max_waiting, metric(values, "iomtflow_waiting_events"))
            written = observation_count(fhir)  # read after the settlement count
            polls += 1
            if written < accepted:
                fail(f"{accepted:.0f} deliveries accepted but only {written} Observations written")
            if accepted >= COUNT and unsettled == 0:
                break
            time.sleep(0.3)
        if accepted < COUNT:
            fail(f"only {accepted:.0f} of {COUNT} deliveries accepted within {BOUND} s; see {flow.logfile}")
        problem = unaccepted_deliveries(values)
        if problem:
            fail(problem)
        dead = metric(values, "iomtflow_deadletter_events_total")
        if dead:
            fail(f"{dead:.0f} events dead-lettered")
        total = observation_count(fhir)
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
        problem = queue.stop(flow)
    if problem:
        fail(problem)
    log("ok: the queue is empty")


if __name__ == "__main__":
    with Services(tempfile.mkdtemp(prefix="iomt-amqp-throttle-")) as services:
        main(services)

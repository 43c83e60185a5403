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

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipeline"))
from harness import AmqpQueue, Services, metric, observation_count, unaccepted_deliveries  # noqa: E402

COUNT = int(os.environ.get("AMQP_FHIR_COUNT", "50000"))
DEVICES = 100
DEADLINE = time.monotonic() + 110


def log(m):
    print(f"[amqp-fhir] {m}", flush=True)


def fail(m):
    log("FAILED: " + m)
    sys.exit(1)


def main(peers):
    iomtflow = os.environ.get("IOMTFLOW")
    tool = os.environ.get("IOMT_AMQP_TOOL")
    if not iomtflow or not tool:
        fail("set IOMTFLOW and IOMT_AMQP_TOOL")
    # Peers: the broker scripts/test started, or our own; the FHIR server always ours.
    amqp = peers.amqp_broker(5696)
    fhir = peers.fhir_server()

    # The queue (declared durable by the first send) gets COUNT Quantity messages: one per device
    # and second, so each becomes one Observation (bench/e2e/quantity-*.json).
    queue = AmqpQueue(tool, amqp, f"amqp-fhir-it-{os.getpid()}")
    t0 = time.monotonic()
    queue.send(COUNT, DEVICES)
    log(f"sent {COUNT} messages in {time.monotonic() - t0:.1f}s")

    fhir_yaml = f"{{url: '{fhir}', identity: Create, bundles: true}}"
    with queue.run_iomtflow(iomtflow, peers.work, fhir_yaml, "500ms") as flow:
        t0 = time.monotonic()
        accepted, values = 0, {}
        while time.monotonic() < DEADLINE:
            if not flow.alive():
                fail(f"iomtflow exited with {flow.proc.returncode}; see {flow.logfile}")
            values = flow.metrics() or values
            if values:
                accepted = metric(values, "iomtflow_amqp_settled_total", outcome="accepted")
                if accepted >= COUNT and metric(values, "iomtflow_amqp_unsettled") == 0:
                    break
            time.sleep(0.5)
        secs = time.monotonic() - t0
        if accepted < COUNT:
            fail(f"only {accepted:.0f} of {COUNT} deliveries accepted within the time bound; see {flow.logfile}")
        saved = metric(values, "iomtflow_fhir_resources_saved_total")
        log(f"{accepted:.0f} deliveries accepted, {saved:.0f} Observations saved in {secs:.1f}s "
            f"({COUNT / secs:.0f} messages/s)")
        problem = unaccepted_deliveries(values)
        if problem:
            fail(problem)
        errors = metric(values, "iomtflow_errors_total")
        if errors:
            fail(f"{errors:.0f} pipeline errors; see {flow.logfile}")
        # Settled means written: the FHIR server holds one Observation per message now.
        total = observation_count(fhir)
        if total != COUNT:
            fail(f"the FHIR server holds {total} Observations, expected {COUNT}")
        log(f"FHIR server: {total} Observations")
        problem = queue.stop(flow)
    if problem:
        fail(problem)
    log("ok")


if __name__ == "__main__":
    with Services(tempfile.mkdtemp(prefix="iomt-amqp-fhir-")) as services:
        main(services)

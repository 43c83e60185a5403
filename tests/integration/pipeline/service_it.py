#!/usr/bin/env python3
"""The service around the pipeline (`iomtflow run`):
- GET /healthz, /readyz, /metrics (the documented metric names), ingest auth errors;
- SIGTERM drains: an accepted event still waiting in a flush window is written, its request
  answered 201, and the process exits 0;
- back-pressure: a tiny queue in front of a slow FHIR server -> some requests answered 503 with
  Retry-After, and every accepted event is written exactly once."""

import os
import re
import signal
import sys
import tempfile
import threading
import time

from harness import (SOURCE_DIR, FhirServer, Iomtflow, check, check_eq, concurrently, http_call, log, metric, run,
                     workshop_mappings, workshop_messages)
from merge_it import readings, write_quantity_mappings

# Names the service documents (issue 3 §5, pipeline/metrics.hpp, docs/metrics.md when present).
METRIC_NAMES = [
    "iomtflow_device_events_total", "iomtflow_device_ingress_bytes_total", "iomtflow_normalized_events_total",
    "iomtflow_dropped_events_total", "iomtflow_measurements_total", "iomtflow_measurement_groups_total",
    "iomtflow_fhir_resources_saved_total", "iomtflow_errors_total", "iomtflow_stage_duration_seconds",
    "iomtflow_ingest_to_persisted_seconds", "iomtflow_queue_depth", "iomtflow_fhir_request_duration_seconds",
    "iomtflow_ready", "iomtflow_http_requests_total", "iomtflow_backpressure_rejections_total",
]


def documented_metric_names():
    names = set(METRIC_NAMES)
    doc = os.path.join(SOURCE_DIR, "docs", "metrics.md")
    if os.path.exists(doc):
        with open(doc, encoding="utf-8") as f:
            names |= set(re.findall(r"`(iomtflow_[a-z0-9_]+)", f.read()))
    return sorted(names)


def probes_and_metrics(fhir):
    fhir.reset()
    device, mapping = workshop_mappings()
    with Iomtflow(fhir.url, device, mapping, identity="Create") as flow:
        check_eq(flow.get("/healthz")[0], 200, "GET /healthz")
        check_eq(flow.get("/readyz")[0], 200, "GET /readyz")
        # Ingest authentication and routing.
        name, text = workshop_messages()[2]
        status, _, body = http_call(f"{flow.base}/devicedata/messages", "POST", text, {"Content-Type": "application/json"})
        check_eq(status, 401, f"POST without Authorization ({body[:200]!r})")
        bad = flow.token().replace("sig=", "sig=AAAA")
        status, _, body = http_call(f"{flow.base}/devicedata/messages", "POST", text, {"Authorization": bad})
        check_eq(status, 401, f"POST with a bad signature ({body[:200]!r})")
        status, _, _ = flow.post(text, hub="otherhub")
        check_eq(status, 404, "POST to a hub that is not configured")
        for _, message in workshop_messages():
            flow.send(message)
        values, text = flow.metrics()
        present = {n for (n, _) in values}
        missing = []
        # Metrics of parts this service does not run (the durable buffer is off in this harness, no
        # AMQP or Event Hubs source) appear only with them: their own suites check them
        # (fault_durability, the amqp suites, deploy_monitoring_live; auth: jwt: security_jwt_ingest).
        optional = ("iomtflow_buffer_", "iomtflow_amqp_", "iomtflow_eventhubs_", "iomtflow_ingest_bearer_",
                    "iomtflow_jwks_")
        for n in documented_metric_names():
            if n.startswith(optional):
                continue
            if not ({n, n + "_count", n + "_bucket", n + "_total"} & present) and f"# TYPE {n} " not in text:
                missing.append(n)
        check(not missing, f"/metrics lacks {missing}")
        check_eq(metric(values, "iomtflow_ready"), 1.0, "iomtflow_ready")
        check_eq(metric(values, "iomtflow_device_events_total"), 3.0, "iomtflow_device_events_total")
        check(metric(values, "iomtflow_ingest_to_persisted_seconds_count") >= 3, "ingest-to-persisted latency samples")
        check(metric(values, "iomtflow_http_requests_total", status="401") >= 2, "401s in iomtflow_http_requests_total")
        log(f"/healthz, /readyz ok; /metrics has the {len(documented_metric_names())} documented names")
        check_eq(flow.stop(), 0, "exit status after SIGTERM")


def sigterm_drains(fhir):
    fhir.reset()
    device, mapping = workshop_mappings()
    # A long flush window: the event is still waiting in it when SIGTERM arrives.
    window = 4.0
    with Iomtflow(fhir.url, device, mapping, identity="Create",
                  config={"pipeline": {"flush_interval": f"{window}s"}}) as flow:
        name, text = workshop_messages()[2]
        answer = {}
        t = threading.Thread(target=lambda: answer.update(status=flow.post(text)[0]))
        t.start()
        time.sleep(0.3)
        check("status" not in answer, f"answered before the flush window ended: {answer}")
        check_eq(fhir.search("Observation"), [], "Observations before SIGTERM")
        t0 = time.monotonic()
        code = flow.stop(signal.SIGTERM, timeout=20)
        t.join(20)
        elapsed = time.monotonic() - t0
        check_eq(code, 0, "exit status after SIGTERM")
        check_eq(answer.get("status"), 201, "answer to the request in flight at SIGTERM")
        # (Today the HTTP server's graceful shutdown runs before the pipeline is told to stop, so the
        # drain waits out the flush window; it must not take longer than that.)
        check(elapsed < window + 5, f"drain took {elapsed:.1f} s with a {window} s flush window")
        check_eq(len(fhir.search("Observation")), 1, "Observations written by the drain")
        msgs = [r.get("msg") for r in flow.log_records()]
        check("iomtflow stopped" in msgs, f"no 'iomtflow stopped' log line:\n{flow.log_tail()}")
        log(f"SIGTERM: in-flight event written, 201, exit 0 after {elapsed:.1f} s")


def backpressure(fhir):
    fhir.reset()
    with tempfile.TemporaryDirectory(prefix="iomt-it-bp-") as folder:
        device, mapping = write_quantity_mappings(folder)
        cfg = {"pipeline": {"shards": 1, "queue_capacity": 16, "flush_interval": "50ms", "max_concurrent_devices": 1}}
        with Iomtflow(fhir.url, device, mapping, identity="Create", config=cfg) as flow:
            fhir.faults({"delayMs": 60, "count": 100000})  # a slow FHIR server, one request at a time
            n = 48
            busy, retry_after, accepted, answers = [], [], [], []
            lock = threading.Lock()

            def client(i):
                ts = f"2021-06-01T10:{i // 60:02d}:{i % 60:02d}Z"
                body = readings("bp-dev", "bp-pat", [(ts, str(60 + i))])
                deadline = time.monotonic() + 45
                while time.monotonic() < deadline:
                    status, headers, text = flow.post(body)
                    if status == 201:
                        with lock:
                            accepted.append(i)
                        return
                    check_eq(status, 503, f"client {i}: answer ({text[:200]})")
                    with lock:
                        busy.append(i)
                        retry_after.append(headers.get("retry-after"))
                    time.sleep(float(headers.get("retry-after") or 1))
                raise AssertionError(f"client {i}: not accepted within 45 s")

            # A first event keeps the shard busy writing (a new device: 4 identity requests, then
            # the Observation, each slowed down) while the burst arrives and fills the queue.
            t0 = time.monotonic()
            blocker = threading.Thread(target=lambda: answers.append(
                flow.post(readings("bp-blocker", "bp-pat", [("2021-06-01T09:00:00Z", "1")]))[0]))
            blocker.start()
            time.sleep(0.15)
            concurrently([lambda i=i: client(i) for i in range(n)])
            blocker.join(30)
            elapsed = time.monotonic() - t0
            check_eq(answers, [201], "answer to the first event")
            check(busy, "no request was refused with 503 (the queue never filled)")
            check(all(r and r.isdigit() for r in retry_after), f"503 without a Retry-After: {set(retry_after)}")
            check_eq(sorted(accepted), list(range(n)), "accepted clients")
            obs = fhir.search("Observation")
            values = sorted(int(o["valueQuantity"]["value"]) for o in obs)
            check_eq(values, [1] + [60 + i for i in range(n)], "Observation values (each accepted event once)")
            for o in obs:
                check_eq(len(fhir.history("Observation", o["id"])), 1, f"versions of {o['id']}")
            m, _ = flow.metrics()
            check(metric(m, "iomtflow_backpressure_rejections_total") >= 1, "back-pressure rejections not counted")
            log(f"{n + 1} events accepted, {len(busy)} answers 503 + Retry-After, {len(obs)} Observations, {elapsed:.1f} s")
            check_eq(flow.stop(), 0, "exit status after SIGTERM")


if __name__ == "__main__":
    with FhirServer() as server:
        sys.exit(run([probes_and_metrics, sigterm_drains, backpressure], server))

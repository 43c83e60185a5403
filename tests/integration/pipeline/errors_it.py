#!/usr/bin/env python3
"""Failures through `iomtflow run` against the real FHIR server:
- Lookup miss: an unknown device is reported as FhirResourceNotFoundException (iomt-spec §11,
  §13.2), counted in /metrics, nothing is written, and the HTTP request is still answered 201;
- the FHIR server answering 429 and then 503 with Retry-After for a while (fault injection in the
  test server), then recovering: every Observation is written exactly once."""

import sys
import time

from harness import (FhirServer, Iomtflow, check, check_eq, concurrently, log, metric, run, sha256_hex,
                     workshop_mappings, workshop_messages)
from workshop_it import check_observations

NOT_FOUND_TYPES = ("FhirResourceNotFoundException", "DeviceNotFoundException")


def lookup_miss(fhir):
    fhir.reset()
    device, mapping = workshop_mappings()
    with Iomtflow(fhir.url, device, mapping, identity="Lookup") as flow:
        name, text = workshop_messages()[2]  # WEIGHT: one measurement of device MSFT00003WT
        flow.send(text)  # 201: the event has its final outcome (a reported error)
        for t in ("Observation", "Device", "Patient"):
            check_eq(fhir.search(t), [], f"{t} resources written")
        values, text_metrics = flow.metrics()
        counted = sum(metric(values, "iomtflow_errors_total", type=t) for t in NOT_FOUND_TYPES)
        check(counted >= 1, "iomtflow_errors_total{type=FhirResourceNotFoundException} not counted:\n" +
              "\n".join(line for line in text_metrics.splitlines() if "errors_total" in line))
        records = [r for r in flow.log_records() if r.get("level") == "error"]
        check(any("FhirResourceNotFoundException" in str(r) for r in records),
              f"no error log naming FhirResourceNotFoundException:\n{flow.log_tail()}")
        check(any("MSFT00003WT" in str(r) for r in records), "the error log does not name the device")
        check_eq(metric(values, "iomtflow_fhir_resources_saved_total"), 0.0, "saved resources")
        log(f"{name}: 201, nothing written, error counted and logged")
        check_eq(flow.stop(), 0, "exit status after SIGTERM")


def fhir_throttling_recovers(fhir):
    fhir.reset()
    device, mapping = workshop_mappings()
    # One shard: the three devices share Patient Mary, and two shards would both create her at
    # once (a race the server may answer with a conflict, retried as an event: its Observations
    # written before then count as no-op, not created). This scenario is about throttling.
    with Iomtflow(fhir.url, device, mapping, identity="Create", config={"pipeline": {"shards": 1}}) as flow:
        # Ready: now the server throttles the next requests, whichever they are, then fails
        # over, then recovers (each answer with Retry-After: 1).
        fhir.faults([{"status": 429, "count": 4, "retryAfter": 1}, {"status": 503, "count": 4, "retryAfter": 1}])
        t0 = time.monotonic()
        concurrently([lambda t=text: flow.send(t) for _, text in workshop_messages()])
        elapsed = time.monotonic() - t0
        stats = fhir.stats()
        check_eq(stats["faultsInjected"], 8, f"faults played (stats {stats})")
        check(elapsed >= 1.0, f"answers came after {elapsed:.2f} s: Retry-After was not honoured")
        log(f"3 messages answered 201 after {elapsed:.1f} s; FHIR server stats {stats}")
        check_observations(fhir, sha256_hex("_PatientMary"),
                           {d: sha256_hex("_" + d) for d in ("MSFT00001", "MSFT00002BP", "MSFT00003WT")})
        for o in fhir.search("Observation"):
            check_eq(len(fhir.history("Observation", o["id"])), 1, f"versions of {o['identifier'][0]['value']}")
        values, _ = flow.metrics()
        check_eq(metric(values, "iomtflow_fhir_resources_saved_total", operation="created"), 9.0, "created")
        # The one expected error: VITALS' bloodPulseWave has no FHIR template.
        errors = metric(values, "iomtflow_errors_total") - metric(values, "iomtflow_errors_total",
                                                                  type="TemplateNotFoundException")
        check_eq(errors, 0.0, "errors other than TemplateNotFoundException (all faults retried)")
        throttled = sum(metric(values, "iomtflow_fhir_request_duration_seconds_count", status=s) for s in ("429", "503"))
        check_eq(throttled, 8.0, "FHIR requests answered 429/503 in iomtflow_fhir_request_duration_seconds")
        check_eq(flow.stop(), 0, "exit status after SIGTERM")


if __name__ == "__main__":
    with FhirServer() as server:
        sys.exit(run([lookup_miss, fhir_throttling_recovers], server))

#!/usr/bin/env python3
"""Bounds of the dead-letter store (issue 12), `iomtflow run` against the real in-memory FHIR
server. CTest label `fault`, its own time limit (tests.cmake).

- flood_stays_under_max_bytes: 20,000 unmappable events (bodies that are not JSON, ~300 bytes)
  over HTTP with the durable buffer on and deadletter.max_bytes: 1MiB. The store's files never
  exceed the bound (sampled after every batch and at the end), the oldest files are dropped and
  counted in iomtflow_deadletter_dropped_total{reason="max_bytes"}, dropped files are logged
  (rate-limited), and every event is either still in the store (`deadletter list`) or counted as dropped.
  A grouped entry is shown whole by `deadletter show`.
- count_policy_does_not_store: deadletter.policy {InvalidDataFormatException: count}, buffer off
  (the dead_letter_sink path): 2,000 such events are counted in
  iomtflow_deadletter_dropped_total{reason="policy"}, logged rate-limited, and not stored.

`python3 deadletter_bounds_it.py SCENARIO...` runs a subset.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipeline"))
from harness import (FhirServer, Iomtflow, check, check_eq, log, metric, run, wait_until,  # noqa: E402
                     workshop_mappings)

BATCH_HEADERS = {"Content-Type": "application/vnd.microsoft.servicebus.json"}
MAX_BYTES = 1 << 20


def store_bytes(path):
    """Bytes of the store's files. A listing races the service (a file dropped after it was listed,
    another grown after the first was measured), so a sum over the bound is measured again: a
    store really over its bound stays over."""
    def once():
        total = 0
        for f in os.listdir(path) if os.path.isdir(path) else []:
            try:
                total += os.path.getsize(os.path.join(path, f))
            except FileNotFoundError:
                pass
        return total
    n = once()
    for _ in range(3):
        if n <= MAX_BYTES:
            break
        n = min(n, once())
    return n


def bad_body(i):
    return f"not json: reading {i:06d} " + "x" * 270


def send_batch(flow, items):
    body = json.dumps([{"Body": b} for b in items])
    deadline = time.monotonic() + 60
    while True:
        status, hdrs, text = flow.post(body, headers=BATCH_HEADERS, timeout=30)
        if status == 201:
            return
        check(status == 503 and "retry-after" in hdrs, f"POST answered {status}: {text}")
        check(time.monotonic() < deadline, "batch not accepted within 60 s")
        time.sleep(0.2)


def deadletter_cli(flow, *args):
    r = subprocess.run([flow.binary, "deadletter", *args, "--config", flow.config_path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    check_eq(r.returncode, 0, f"iomtflow deadletter {' '.join(args)}: {r.stderr}")
    return r.stdout


def flood_stays_under_max_bytes(fhir):
    n, batch = 20000, 100
    dev, fh = workshop_mappings()
    cfg = {"buffer": {"enabled": True}, "log": {"level": "warn"},
           "deadletter": {"max_bytes": "1MiB", "max_entries_per_submission": 10}}
    with Iomtflow(fhir.url, dev, fh, config=cfg) as flow:
        store = os.path.join(flow.dir, "deadletter")
        largest = gauge = 0
        for s in range(0, n, batch):
            send_batch(flow, [bad_body(i) for i in range(s, s + batch)])
            largest = max(largest, store_bytes(store))
            if s % 2000 == 0:
                m, _ = flow.metrics()
                gauge = max(gauge, metric(m, "iomtflow_deadletter_bytes"))  # exact at each instant

        def all_dead_lettered():
            m, _ = flow.metrics()
            return metric(m, "iomtflow_deadletter_events_total") >= n
        wait_until(all_dead_lettered, 120, f"{n} dead-lettered events", interval=0.5)
        time.sleep(0.5)
        largest = max(largest, store_bytes(store))
        log(f"largest store seen: {largest} bytes (bound {MAX_BYTES}); now {store_bytes(store)} bytes in "
            f"{len(os.listdir(store))} files")
        check(largest <= MAX_BYTES, f"the store grew to {largest} bytes, over deadletter.max_bytes {MAX_BYTES}")
        check(gauge <= MAX_BYTES, f"iomtflow_deadletter_bytes reached {gauge}, over {MAX_BYTES}")

        m, _ = flow.metrics()
        dropped = metric(m, "iomtflow_deadletter_dropped_total", reason="max_bytes")
        check(dropped > 0, "nothing was dropped although 20,000 events cannot fit 1 MiB")
        check_eq(metric(m, "iomtflow_deadletter_dropped_total", reason="policy"), 0, "policy drops")
        check_eq(metric(m, "iomtflow_deadletter_bytes"), store_bytes(store), "iomtflow_deadletter_bytes")

        # Every event is either still in the store or counted as dropped.
        entries = [json.loads(line) for line in deadletter_cli(flow, "list", "--json").splitlines() if line.strip()]
        kept = sum(e.get("events", 1) for e in entries)
        log(f"{kept} events kept in {len(entries)} entries, {int(dropped)} dropped")
        check_eq(kept + int(dropped), n, "kept + dropped events")
        check(any("events" in e for e in entries), "no grouped entry")

        # A log line per dropped file, naming it and its events - rate-limited like every repeating
        # warning (a burst, then one per interval with the suppressed count); the metric counts all.
        drops = [r for r in flow.log_records() if r.get("msg") == "dead-letter file dropped (deadletter.max_bytes)"]
        files = [r["detail"].split(":")[0] for r in drops]
        check(drops, "no log line for the dropped files")
        check_eq(len(files), len(set(files)), "files logged more than once")
        logged = sum(int(r["detail"].split(": ")[1].split(" ")[0]) for r in drops)
        check(0 < logged <= int(dropped), f"events named in the drop log lines: {logged} of {int(dropped)} dropped")
        check(len(drops) <= 25, f"{len(drops)} drop lines: not rate-limited")

        # A grouped entry is shown whole; the newest events are still there.
        group = next(e for e in reversed(entries) if "events" in e)
        shown = json.loads(deadletter_cli(flow, "show", group["id"], "--json"))
        check_eq(len(shown["items"]), group["events"], "events shown of a grouped entry")
        check(any(bad_body(n - 1) == i["event"]["body"] for e in [shown] for i in e["items"])
              or any(e.get("event", {}).get("body") == bad_body(n - 1) for e in entries), "the newest event is gone")
        check_eq(flow.stop(), 0, "exit status")


def count_policy_does_not_store(fhir):
    n = 2000
    dev, fh = workshop_mappings()
    cfg = {"buffer": {"enabled": False}, "log": {"level": "warn"},
           "deadletter": {"policy": {"InvalidDataFormatException": "count"}}}
    with Iomtflow(fhir.url, dev, fh, config=cfg) as flow:
        for s in range(0, n, 200):
            send_batch(flow, [bad_body(i) for i in range(s, s + 200)])
        def counted():
            m, _ = flow.metrics()
            return metric(m, "iomtflow_deadletter_events_total") >= n
        wait_until(counted, 60, f"{n} failed events", interval=0.5)
        m, _ = flow.metrics()
        check_eq(metric(m, "iomtflow_deadletter_dropped_total", reason="policy"), n, "events counted by the policy")
        check_eq(metric(m, "iomtflow_deadletter_events_total", type="InvalidDataFormatException"), n,
                 "iomtflow_deadletter_events_total")
        out = deadletter_cli(flow, "list")
        check("0 dead-lettered event(s)" in out, out)
        lines = [r for r in flow.log_records() if "deadletter.policy" in r.get("msg", "")]
        check(1 <= len(lines) <= 3, f"{len(lines)} policy log lines for {n} events (rate-limited)")
        check_eq(flow.stop(), 0, "exit status")


if __name__ == "__main__":
    with FhirServer() as server:
        sys.exit(run([flood_stays_under_max_bytes, count_policy_does_not_store], server))

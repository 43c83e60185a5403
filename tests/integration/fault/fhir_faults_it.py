#!/usr/bin/env python3
"""A FHIR server that is slow, throttles and fails (iomt issue 12): `iomtflow run` (HTTP ingest,
durable buffer) against the real in-memory FHIR server, whose fault injection (POST /admin/faults)
plays the failures mid-stream. CTest label `fault`.

Every scenario sends a stream of device events and, after a third of it was acknowledged, turns
the server bad for longer than the client's own retry budget (fhir.retry.max_attempts: 3). For
each: zero dead letters, every measurement present afterwards, no duplicated Quantity Observation
or SampledData point.

- throttle_429:        429 + Retry-After: 1 on 150 requests.
- unavailable_503:     503 without Retry-After on 150 requests.
- slower_than_timeout: answers delayed 2.5 s with fhir.timeout 1 s (8 requests).
- token_endpoint_down: OAuth2 client credentials; the token endpoint goes away and the FHIR
                       server answers 401 (the cached token must be renewed) for 15 s.
- forbidden_403:       the FHIR server refuses our credentials (403) on 150 requests: events wait,
                       /readyz says why, nothing is dead-lettered.
- poison_device_id:    a 1 MB device id among 10,000 good events: the good ones are all written,
                       the poison one is dead-lettered with a clear reason, ingest never answers
                       503, the log stays small.

Each scenario has its own time bound (SCENARIO_BOUND s). `python3 fhir_faults_it.py SCENARIO...`
runs a subset.
"""

import json
import os
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pipeline"))
sys.path.insert(0, HERE)
from durability_it import (Proxy, Sender, Workdir, batches, deadletter_entries, observations_complete)  # noqa: E402
from harness import (FhirServer, Iomtflow, OAuthServer, check, check_eq, http_call, log, metric, run,  # noqa: E402
                     wait_until)

N = int(os.environ.get("IOMT_FAULT_FHIR_EVENTS", "3000"))
SCENARIO_BOUND = 240  # seconds, per scenario
CLIENT_ID = "iomtflow-fault"


def config(w, **fhir):
    c = w.config()
    c["fhir"] = {"timeout": "5s",
                 "retry": {"max_attempts": 3, "base_delay": "50ms", "max_delay": "200ms",
                           "resubmit_delay": "200ms", "resubmit_max_delay": "2s"}}
    for k, v in fhir.items():
        c["fhir"][k] = v
    return c


class Watch:
    """Polls /metrics in the background: the most events seen waiting, whether the server was
    seen failing for everyone."""

    def __init__(self, flow):
        self.flow, self.max_waiting, self.failing_seen, self.stop = flow, 0, False, threading.Event()
        self.unready = []  # /readyz 503 texts seen
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                values, _ = self.flow.metrics()
                self.max_waiting = max(self.max_waiting, metric(values, "iomtflow_waiting_events"))
                self.failing_seen = self.failing_seen or metric(values, "iomtflow_fhir_failing") > 0
                status, text = self.flow.get("/readyz")
                if status == 503 and len(self.unready) < 100:
                    self.unready.append(text.strip())
            except Exception:  # noqa: BLE001 - the process may be stopping
                pass
            self.stop.wait(0.2)

    def close(self):
        self.stop.set()
        self.t.join(5)


def faults_played(fhir):
    status, _, data = http_call(f"{fhir.origin}/admin/faults")
    check_eq(status, 200, "GET /admin/faults")
    return not json.loads(data)["pending"]


def stream_with_fault(fhir, flow, inject, heal=None, hold=0):
    """Sends N events; after the first third is acknowledged calls inject(); after `hold` more
    seconds calls heal() (if given); then waits for every measurement. Returns a summary dict."""
    t_end = time.monotonic() + SCENARIO_BOUND
    thirds = [range(0, N // 3), range(N // 3, N)]
    sender = Sender(flow)
    watch = Watch(flow)
    try:
        sender.send_all(batches(thirds[0]), threads=2, timeout=SCENARIO_BOUND)
        inject()
        t_fault = time.monotonic()
        sender.send_all(batches(thirds[1]), threads=2, timeout=max(10, t_end - time.monotonic()))
        if heal:
            time.sleep(max(0, hold - (time.monotonic() - t_fault)))
            heal()
        # The test's own reads would meet the injected faults too: read once they are played.
        wait_until(lambda: faults_played(fhir) and observations_complete(fhir, N), max(10, t_end - time.monotonic()),
                   "every measurement written", interval=1)
        observations_complete(fhir, N, final=True)
    finally:
        watch.close()
    dead = deadletter_entries(flow)
    check_eq(dead, [], "dead letters")
    values, _ = flow.metrics()
    summary = {"sent": N, "acknowledged": sender.acked, "refused_503": sender.refused,
               "dead_lettered": len(dead), "duplicates": 0, "max_waiting": int(watch.max_waiting),
               "failing_seen": watch.failing_seen, "readyz_503": [t for t in watch.unready if "403" in t][:1]
               or watch.unready[:1],
               "resubmitted": int(metric(values, "iomtflow_buffer_redelivered_events_total"))}
    log("outcome: " + json.dumps(summary))
    return summary


def throttle_429(fhir):
    fhir.reset()
    with Workdir() as w, Iomtflow(fhir.url, w.device, w.fhir, config=config(w)) as flow:
        s = stream_with_fault(fhir, flow, lambda: fhir.faults({"status": 429, "count": 150, "retryAfter": "1"}))
        injected = fhir.stats()["faultsInjected"]
        check(injected >= 150, f"only {injected} faults played")
        check(s["max_waiting"] > 0 or s["resubmitted"] > 0, "no event ever waited: the storm did not outlast the retries")
        check_eq(flow.stop(), 0, "exit status")


def unavailable_503(fhir):
    fhir.reset()
    with Workdir() as w, Iomtflow(fhir.url, w.device, w.fhir, config=config(w)) as flow:
        s = stream_with_fault(fhir, flow, lambda: fhir.faults({"status": 503, "count": 150}))
        check(s["max_waiting"] > 0 or s["resubmitted"] > 0, "no event ever waited")
        check_eq(flow.stop(), 0, "exit status")


def slower_than_timeout(fhir):
    fhir.reset()
    with Workdir() as w, Iomtflow(fhir.url, w.device, w.fhir, config=config(w, timeout="1s")) as flow:
        stream_with_fault(fhir, flow, lambda: fhir.faults({"delayMs": 2500, "count": 8}))
        check_eq(flow.stop(), 0, "exit status")


def forbidden_403(fhir):
    fhir.reset()
    with Workdir() as w, Iomtflow(fhir.url, w.device, w.fhir, config=config(w)) as flow:
        s = stream_with_fault(fhir, flow, lambda: fhir.faults({"status": 403, "count": 150}))
        # /readyz said why while the server refused us.
        check(any("403" in t for t in s["readyz_503"]), f"/readyz never named the 403: {s['readyz_503']}")
        check(s["max_waiting"] > 0 or s["resubmitted"] > 0, "no event ever waited")
        check_eq(flow.stop(), 0, "exit status")


def token_endpoint_down(_fhir):
    secret = os.urandom(18).hex()
    with OAuthServer(CLIENT_ID, secret) as oauth, \
            FhirServer(env={"FHIR_REQUIRE_TOKEN_FROM": oauth.issuer, "FHIR_TOKEN_AUDIENCE": oauth.audience}) as fhir:
        fhir.token = oauth.token()
        fhir.reset()
        u = urllib.parse.urlsplit(oauth.token_url)
        proxy = Proxy(u.hostname, u.port)
        token_url = f"http://127.0.0.1:{proxy.port}{u.path}"
        with Workdir() as w:
            cfg = config(w, auth={"mode": "oauth2", "token_url": token_url, "client_id": CLIENT_ID,
                                  "client_secret_env": "IOMT_IT_CLIENT_SECRET",
                                  "scope": "system/*.read system/*.write",
                                  "allow_insecure_token_url": True})  # plain HTTP on loopback (issue 15)
            with Iomtflow(fhir.url, w.device, w.fhir, config=cfg, env={"IOMT_IT_CLIENT_SECRET": secret}) as flow:
                def inject():
                    proxy.down()
                    fhir.faults({"status": 401, "count": 40})  # tokens "expire": iomtflow must get new ones
                    log("token endpoint unreachable; the FHIR server asks for new tokens")

                def heal():
                    proxy.up()
                    log("token endpoint back")
                s = stream_with_fault(fhir, flow, inject, heal, hold=15)
                check(s["max_waiting"] > 0 or s["resubmitted"] > 0, "no event ever waited")
                text = flow.log_text()
                check("AuthenticationFailedException" in text, "the token failures were not logged")
                check(secret not in text, "the client secret was logged")
                check_eq(flow.stop(), 0, "exit status")
        proxy.down()


def poison_device_id(fhir):
    fhir.reset()
    good = 10_000
    with Workdir() as w, Iomtflow(fhir.url, w.device, w.fhir, config=config(w)) as flow:
        sender = Sender(flow)
        stream = batches(range(good), 200)
        poison = {"device": "p" * 1_000_000, "patient": "poison-patient", "time": "2024-05-01T10:00:00Z", "hr": 80}
        stream.insert(len(stream) // 2, [poison])
        t0 = time.monotonic()
        sender.send_all(stream, threads=2, timeout=SCENARIO_BOUND)
        check_eq(sender.refused, 0, "503 answers (ingest must not push back for one bad event)")
        wait_until(lambda: observations_complete(fhir, good), max(10, SCENARIO_BOUND - (time.monotonic() - t0)),
                   "the good events written", interval=1)
        observations_complete(fhir, good, final=True)
        dead = deadletter_entries(flow)
        check_eq(len(dead), 1, "dead letters")
        entry = dead[0]
        why = json.dumps(entry)[:2000]
        check("DeviceId is 1000000 bytes long" in why, f"the dead letter does not say why: {why}")
        log_bytes = os.path.getsize(flow.log_path)
        longest = max((len(line) for line in flow.log_text().splitlines()), default=0)
        check(log_bytes < 512 * 1024, f"the log grew to {log_bytes} bytes")
        check(longest < 8 * 1024, f"a log line of {longest} bytes")
        log("outcome: " + json.dumps({"sent": good + 1, "written": good, "dead_lettered": len(dead),
                                      "duplicates": 0, "refused_503": sender.refused, "log_bytes": log_bytes,
                                      "longest_log_line": longest, "type": entry.get("type") or entry.get("last", {})}))
        check_eq(flow.stop(), 0, "exit status")


if __name__ == "__main__":
    with FhirServer() as server:
        sys.exit(run([throttle_429, unavailable_503, slower_than_timeout, forbidden_403, token_endpoint_down,
                      poison_device_id], server))

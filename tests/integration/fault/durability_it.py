#!/usr/bin/env python3
"""Fault tests of the durable buffer and the dead-letter store (iomt issue 4), `iomtflow run`
against the real in-memory FHIR server. CTest label `fault`.

- kill9_mid_stream: 100,000 events over HTTP; `kill -9` of iomtflow in the middle; a new
  process on the same buffer directory; the senders retry what was not answered 201. Every
  measurement is in the Observations (SampledData slot values), none twice (Quantity Observations
  unique by identifier and time).
- fhir_down_30s: the FHIR server unreachable for 30 s mid-stream (a TCP proxy in front of it
  stops listening and drops its connections): ingest keeps answering 201 from the buffer, the
  backlog drains afterwards, nothing is lost, nothing is dead-lettered.
- buffer_read_only / buffer_disk_full: ingest answers 503 + Retry-After, never 201, and the log
  says why (errno text and path).
- corrupted_tail: garbage after the last record of the newest segment (a torn write): the restart
  cuts it, reports it (segment, offset, bytes dropped), keeps a copy, and goes on.
- deadletter_replay: unknown devices (Lookup) are dead-lettered with their event; after the
  Devices are created, `iomtflow deadletter replay` re-injects them and they are written.

Config used (proposed fields, docs/configuration.md):
  buffer:     {dir, max_bytes, segment_bytes, fsync: always|interval|never, fsync_interval}
  deadletter: {dir}
`python3 durability_it.py SCENARIO...` runs a subset. IOMT_FAULT_EVENTS scales kill9_mid_stream
(default 100000).
"""

import calendar
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipeline"))
from harness import (FhirServer, Iomtflow, TestFailure, check, check_eq, free_port, http_call, log,  # noqa: E402
                     run, wait_until)

DEVICES = 20
T0 = 1714557600  # 2024-05-01T10:00:00Z

DEVICE_MAPPING = {
    "templateType": "CollectionContent",
    "template": [
        {"templateType": "JsonPathContent", "template": {
            "typeName": "heartrate", "typeMatchExpression": "$..[?(@hr)]", "timestampExpression": "$.time",
            "deviceIdExpression": "$.device", "patientIdExpression": "$.patient",
            "values": [{"valueName": "hr", "valueExpression": "$.hr", "required": True}]}},
        {"templateType": "JsonPathContent", "template": {
            "typeName": "spo2", "typeMatchExpression": "$..[?(@spo2)]", "timestampExpression": "$.time",
            "deviceIdExpression": "$.device", "patientIdExpression": "$.patient",
            "values": [{"valueName": "spo2", "valueExpression": "$.spo2", "required": True}]}},
    ],
}
FHIR_MAPPING = {
    "templateType": "CollectionFhir",
    "template": [
        {"templateType": "CodeValueFhir", "template": {
            "typeName": "heartrate", "periodInterval": 60,
            "codes": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}],
            "value": {"valueType": "SampledData", "valueName": "hr", "defaultPeriod": 1000, "unit": "count/min"}}},
        {"templateType": "CodeValueFhir", "template": {
            "typeName": "spo2", "periodInterval": 0,
            "codes": [{"system": "http://loinc.org", "code": "59408-5", "display": "SpO2"}],
            "value": {"valueType": "Quantity", "valueName": "spo2", "unit": "%",
                      "system": "http://unitsofmeasure.org", "code": "%"}}},
    ],
}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def hr_of(d, k):
    return 40 + (k * 7 + d * 13) % 150


def event(i):
    """Event i: device i % DEVICES, second k = i // DEVICES of that device; every 50th has SpO2."""
    d, k = i % DEVICES, i // DEVICES
    body = {"device": f"fault-dev-{d}", "patient": f"fault-pat-{d}", "time": iso(T0 + k), "hr": hr_of(d, k)}
    if i % 50 == 0:
        body["spo2"] = 90 + k % 10
    return body


def batches(r, size=100):
    """Events of range r in batches of `size`."""
    return [[event(i) for i in range(s, min(r.stop, s + size))] for s in range(r.start, r.stop, size)]


def batch_body(events):
    return json.dumps([{"Body": e} for e in events])


BATCH_HEADERS = {"Content-Type": "application/vnd.microsoft.servicebus.json"}


class Workdir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="iomt-fault-")
        self.buffer = os.path.join(self.path, "buffer")
        self.deadletter = os.path.join(self.path, "deadletter")
        self.device, self.fhir = os.path.join(self.path, "devicecontent.json"), os.path.join(self.path, "fhirmapping.json")
        with open(self.device, "w", encoding="utf-8") as f:
            json.dump(DEVICE_MAPPING, f)
        with open(self.fhir, "w", encoding="utf-8") as f:
            json.dump(FHIR_MAPPING, f)

    def config(self, **buffer):
        b = {"enabled": True, "dir": self.buffer, "fsync": "always"}
        b.update(buffer)
        return {"buffer": b, "deadletter": {"dir": self.deadletter},
                "pipeline": {"flush_interval": "300ms"}}

    def close(self):
        if os.path.ismount(self.buffer):
            subprocess.run(["umount", "-l", self.buffer], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.environ.get("IOMT_IT_KEEP") != "1":
            subprocess.run(["chattr", "-R", "-i", self.path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Sender:
    """Posts batches until each is answered 201, retrying 503 / connection errors (an Event Hubs
    client does the same); the target (an Iomtflow) can be swapped while it runs."""

    def __init__(self, flow):
        self.flow = flow
        self.acked = 0
        self.refused = 0
        self.lock = threading.Lock()

    def post(self, events, deadline):
        body = batch_body(events)
        while True:
            flow = self.flow
            try:
                status, hdrs, text = flow.post(body, headers=BATCH_HEADERS, timeout=30)
            except OSError:
                status, hdrs, text = 0, {}, ""
            if status == 201:
                with self.lock:
                    self.acked += len(events)
                return
            if status not in (0, 503):
                raise TestFailure(f"POST answered {status}: {text}")
            if status == 503:
                check("retry-after" in hdrs, "503 without Retry-After")
                with self.lock:
                    self.refused += 1
            if time.monotonic() > deadline:
                raise TestFailure(f"events not accepted before the deadline (last status {status})")
            time.sleep(0.2)

    def send_all(self, batches, threads=4, timeout=600):
        deadline = time.monotonic() + timeout
        errors = []
        it = iter(batches)
        it_lock = threading.Lock()

        def work():
            try:
                while True:
                    with it_lock:
                        b = next(it, None)
                    if b is None:
                        return
                    self.post(b, deadline)
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
        ts = [threading.Thread(target=work) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errors:
            raise errors[0]


def expected(n):
    """{device: {k: hr}}, {(device, k): spo2}"""
    hr, spo2 = {}, {}
    for i in range(n):
        e = event(i)
        d = i % DEVICES
        hr.setdefault(d, {})[i // DEVICES] = e["hr"]
        if "spo2" in e:
            spo2[(d, i // DEVICES)] = e["spo2"]
    return hr, spo2


def search_all(fhir, query, page=1000):
    """Every resource of a search: the test FHIR server gives no `next` links, so page with _offset
    (harness.FhirServer.search stops at the first page)."""
    out, offset = [], 0
    while True:
        bundle = fhir.get(f"{query}{'&' if '?' in query else '?'}_count={page}&_offset={offset}")
        entries = [e["resource"] for e in bundle.get("entry", []) if "resource" in e]
        out.extend(entries)
        if len(entries) < page:
            return out
        offset += page


def observations_complete(fhir, n, final=False):
    """True when every measurement of events [0, n) is in the Observations. With final=True,
    mismatches, extra points and duplicates raise."""
    want_hr, want_spo2 = expected(n)
    obs = search_all(fhir, "Observation")
    got_hr, quantity = {}, {}
    dup = []
    for o in obs:
        code = o["code"]["coding"][0]["code"]
        if code == "8867-4":
            start = o["effectivePeriod"]["start"]
            t = calendar.timegm(time.strptime(start[:19], "%Y-%m-%dT%H:%M:%S"))
            tokens = o["valueSampledData"]["data"].split(" ")
            for slot, tok in enumerate(tokens):
                if tok == "E":
                    continue
                k = int(t) - T0 + slot
                key = (o["subject"]["reference"], k)
                if key in got_hr:
                    dup.append(key)
                got_hr[key] = int(float(tok))
        elif code == "59408-5":
            key = (o["subject"]["reference"], o["effectivePeriod"]["start"])
            if key in quantity:
                dup.append(key)
            quantity[key] = o["valueQuantity"]["value"]
    total_hr = sum(len(v) for v in want_hr.values())
    if final:
        check(not dup, f"duplicated measurements: {dup[:5]}")
        check_eq(len(got_hr), total_hr, "SampledData points")
        check_eq(len(quantity), len(want_spo2), "Quantity Observations (SpO2)")
        # Values: each device's points, by subject (the Patient id is the hash of the patient id).
        by_subject = {}
        for (subject, k), v in got_hr.items():
            by_subject.setdefault(subject, {})[k] = v
        check_eq(len(by_subject), DEVICES, "patients with heart-rate points")
        wanted = sorted(tuple(sorted(v.items())) for v in want_hr.values())
        got = sorted(tuple(sorted(v.items())) for v in by_subject.values())
        check(wanted == got, "SampledData values differ from the events sent")
        return True
    return len(got_hr) >= total_hr and len(quantity) >= len(want_spo2)


def deadletter_entries(flow):
    r = subprocess.run([flow.binary, "deadletter", "list", "--json", "--config", flow.config_path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    check_eq(r.returncode, 0, f"iomtflow deadletter list: {r.stderr}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


# ---- scenarios ---------------------------------------------------------------------------------

def kill9_mid_stream(fhir):
    fhir.reset()
    n = int(os.environ.get("IOMT_FAULT_EVENTS", "100000"))
    stream = batches(range(n), 200)
    with Workdir() as w:
        a = Iomtflow(fhir.url, w.device, w.fhir, config=w.config())
        b = None
        try:
            sender = Sender(a)
            done = threading.Event()
            result = []

            def send():
                try:
                    sender.send_all(stream, threads=4)
                except BaseException as e:  # noqa: BLE001
                    result.append(e)
                done.set()
            t = threading.Thread(target=send)
            t.start()
            wait_until(lambda: sender.acked >= n * 0.4 or done.is_set(), 300, "40% of the stream acknowledged")
            a.proc.send_signal(signal.SIGKILL)
            a.proc.wait()
            log(f"kill -9 after {sender.acked} acknowledged events")
            b = Iomtflow(fhir.url, w.device, w.fhir, config=w.config())
            sender.flow = b
            t.join(900)
            check(done.is_set(), "senders did not finish")
            if result:
                raise result[0]
            log(f"all {n} events acknowledged ({sender.refused} refusals retried); waiting for FHIR")
            wait_until(lambda: observations_complete(fhir, n), 600, "every measurement in FHIR", interval=2)
            observations_complete(fhir, n, final=True)
            check_eq(deadletter_entries(b), [], "dead letters")
            log("every measurement present once")
            check_eq(b.stop(), 0, "exit status")
        finally:
            a.close()
            if b:
                b.close()


class Proxy:
    """TCP proxy 127.0.0.1:port -> target; down() stops listening and cuts every connection."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.conns = []
        self.lock = threading.Lock()
        self.srv = None
        self.up()

    def up(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.srv.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.srv.listen(64)
        threading.Thread(target=self._accept, args=(self.srv,), daemon=True).start()

    def down(self):
        try:
            self.srv.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread, frees the port
        except OSError:
            pass
        self.srv.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self.conns = []

    def _accept(self, srv):
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.target)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            for x, y in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(x, y), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def fhir_down_30s(fhir):
    fhir.reset()
    from urllib.parse import urlsplit
    u = urlsplit(fhir.url)
    proxy = Proxy(u.hostname, u.port)
    n = int(os.environ.get("IOMT_FAULT_DOWN_EVENTS", "6000"))
    thirds = [range(0, n // 3), range(n // 3, 2 * n // 3), range(2 * n // 3, n)]
    with Workdir() as w:
        cfg = w.config()
        with Iomtflow(f"http://127.0.0.1:{proxy.port}{u.path}", w.device, w.fhir, config=cfg) as flow:
            sender = Sender(flow)
            sender.send_all(batches(thirds[0]))
            proxy.down()
            log("FHIR server unreachable")
            t_down = time.monotonic()
            sender.send_all(batches(thirds[1]))
            check_eq(sender.refused, 0, "503 answers while FHIR is down (the buffer takes the events)")
            time.sleep(max(0, 30 - (time.monotonic() - t_down)))
            proxy.up()
            log("FHIR server reachable again")
            sender.send_all(batches(thirds[2]))
            wait_until(lambda: observations_complete(fhir, n), 300, "the backlog to drain", interval=2)
            observations_complete(fhir, n, final=True)
            check_eq(deadletter_entries(flow), [], "dead letters")
            check_eq(flow.stop(), 0, "exit status")


def _mount_tmpfs(path, opts):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return r.returncode == 0


def _expect_never_201(flow, why, posts=20):
    codes = []
    for i in range(posts):
        status, hdrs, text = flow.post(batch_body([event(i)]), headers=BATCH_HEADERS, timeout=30)
        codes.append(status)
        if status == 503:
            check("retry-after" in hdrs, "503 without Retry-After")
        time.sleep(0.05)
    check(201 not in codes, f"a request was answered 201 although {why}: {codes}")
    check(all(c == 503 for c in codes), f"expected 503 answers, got {codes}")


def buffer_read_only(fhir):
    fhir.reset()
    with Workdir() as w:
        os.makedirs(w.buffer)
        how = None
        if os.geteuid() == 0 and _mount_tmpfs(w.buffer, "ro,size=1m"):
            how = "read-only tmpfs"
        elif os.geteuid() != 0:
            os.chmod(w.buffer, 0o555)
            how = "mode 0555"
        elif subprocess.run(["chattr", "+i", w.buffer], stderr=subprocess.DEVNULL).returncode == 0:
            how = "immutable attribute"
        if not how:
            log("SKIP: cannot make a read-only directory here")
            return
        log(f"buffer directory read-only ({how})")
        flow = Iomtflow(fhir.url, w.device, w.fhir, config=w.config(), wait_ready=False)
        try:
            flow.wait_listening()
            _expect_never_201(flow, "the buffer directory is read-only")
            text = flow.log_text()
            check(w.buffer in text, f"the log does not name the buffer directory:\n{flow.log_tail()}")
            check(any(s in text for s in ("Read-only file system", "Permission denied", "Operation not permitted")),
                  f"the log does not give the system error:\n{flow.log_tail()}")
            check_eq(flow.get("/readyz")[0], 503, "GET /readyz")
        finally:
            flow.close()


def buffer_disk_full(fhir):
    fhir.reset()
    if os.geteuid() != 0:
        log("SKIP: needs root to mount a small tmpfs")
        return
    with Workdir() as w:
        if not _mount_tmpfs(w.buffer, "size=2m"):
            log("SKIP: mount not permitted")
            return
        from urllib.parse import urlsplit
        u = urlsplit(fhir.url)
        proxy = Proxy(u.hostname, u.port)
        with Iomtflow(f"http://127.0.0.1:{proxy.port}{u.path}", w.device, w.fhir,
                      config=w.config(max_bytes=1 << 30)) as flow:
            proxy.down()  # nothing is consumed: the disk fills up before the size bound
            acked, i, first_503 = 0, 0, None
            big = "x" * 8000
            while i < 2000:
                status, hdrs, _ = flow.post(batch_body([dict(event(i), pad=big) for _ in range(10)]),
                                            headers=BATCH_HEADERS, timeout=30)
                if status == 201:
                    check(first_503 is None, "201 after the disk was full")
                    acked += 10
                else:
                    check_eq(status, 503, "answer when the disk is full")
                    check("retry-after" in hdrs, "503 without Retry-After")
                    first_503 = first_503 or i
                    if i - first_503 > 20:
                        break
                i += 1
            check(first_503 is not None, "the disk never filled up")
            check("No space left on device" in flow.log_text(), f"ENOSPC not logged:\n{flow.log_tail()}")
            log(f"{acked} events acknowledged, then 503 (disk full)")


def corrupted_tail(fhir):
    fhir.reset()
    with Workdir() as w:
        with Iomtflow(fhir.url, w.device, w.fhir, config=w.config()) as a:
            Sender(a).send_all(batches(range(0, 1000)))
            wait_until(lambda: observations_complete(fhir, 1000), 120, "the first 1000 events in FHIR", interval=1)
            check_eq(a.stop(), 0, "exit status")
        segs = sorted(f for f in os.listdir(w.buffer) if f.endswith(".seg"))
        check(segs, "no segment files")
        newest = os.path.join(w.buffer, segs[-1])
        size = os.path.getsize(newest)
        with open(newest, "ab") as f:
            f.write(bytes(random.Random(4).getrandbits(8) for _ in range(333)))
        with Iomtflow(fhir.url, w.device, w.fhir, config=w.config()) as b:
            text = b.log_text()
            check("333" in text and "dropped" in text and segs[-1] in text,
                  f"the recovery is not reported (segment, bytes dropped):\n{b.log_tail()}")
            check_eq(os.path.getsize(newest), size, "segment cut back to its last valid record")
            check(os.path.isdir(os.path.join(w.buffer, "dropped")), "no copy of the dropped bytes")
            Sender(b).send_all(batches(range(1000, 2000)))
            wait_until(lambda: observations_complete(fhir, 2000), 120, "all 2000 events in FHIR", interval=1)
            observations_complete(fhir, 2000, final=True)
            check_eq(b.stop(), 0, "exit status")


def deadletter_replay(fhir):
    fhir.reset()
    with Workdir() as w:
        with Iomtflow(fhir.url, w.device, w.fhir, identity="Lookup", config=w.config()) as flow:
            Sender(flow).send_all([[event(i) for i in range(0, DEVICES)]])  # one event per device, none exists
            # One entry per event up to deadletter.max_entries_per_submission, the rest in one grouped entry.
            entries = wait_until(lambda: sum(e.get("events", 1) for e in deadletter_entries(flow)) == DEVICES
                                 and deadletter_entries(flow), 60, "one dead letter per event")
            types = {e["type"] for e in entries}
            check(types <= {"FhirResourceNotFoundException", "DeviceNotFoundException"}, f"types {types}")
            check(all(e["event"]["body"] for e in entries if "events" not in e), "dead letters without the original event")
            check_eq(fhir.search("Observation"), [], "Observations before the fix")
            # The fix: create the Patients and Devices, then replay.
            for d in range(DEVICES):
                fhir.put({"resourceType": "Patient", "id": f"fault-pat-{d}"})
                fhir.put({"resourceType": "Device", "id": f"fault-dev-{d}",
                          "identifier": [{"value": f"fault-dev-{d}"}],
                          "patient": {"reference": f"Patient/fault-pat-{d}"}})
            r = subprocess.run([flow.binary, "deadletter", "replay", "--config", flow.config_path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
            check_eq(r.returncode, 0, f"deadletter replay: {r.stderr}")
            check(f"replayed {DEVICES} event(s)" in r.stdout, r.stdout)
            wait_until(lambda: observations_complete(fhir, DEVICES), 60, "replayed events in FHIR", interval=1)
            observations_complete(fhir, DEVICES, final=True)
            check(all(e["status"] == "replayed" for e in deadletter_entries(flow)), "entries not marked replayed")
            check_eq(flow.stop(), 0, "exit status")


if __name__ == "__main__":
    with FhirServer() as server:
        sys.exit(run([kill9_mid_stream, fhir_down_30s, buffer_read_only, buffer_disk_full, corrupted_tail,
                      deadletter_replay], server))

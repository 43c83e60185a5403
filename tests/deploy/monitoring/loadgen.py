#!/usr/bin/env python3
"""Load for the live monitoring check: posts the Azure workshop's three device message types
(VITALS, BP, WEIGHT; Challenge-09 Three-Sample-Message-Types.json shapes) to `iomtflow run`'s Event
Hubs REST ingest for a while, from several threads, with varied devices and current timestamps, plus
a share of bad messages so that the error and dead-letter series exist:
  - a body that is not JSON (normalization error, dead-lettered by the durable buffer),
  - a message of a type no template matches (a dropped event),
  - VITALS carries `bpw` (bloodPulseWave), which has no FHIR template (a fhir_conversion error).

  loadgen.py --url http://127.0.0.1:PORT/devicedata/messages [--seconds 10] [--threads 4]
             [--rate 200] [--devices 20] [--bad-every 10]

--rate is the total messages/s (0 = as fast as answers come); --bad-every N makes every Nth bad.

Standard library only. Prints one summary line: sent, answers by status. Exit status 1 if nothing
was accepted (201), or if the ingest could not be reached.
"""

import argparse
import collections
import datetime
import http.client
import json
import sys
import threading
import time
import urllib.parse


def message(kind, n, device, ts):
    if kind == 0:
        return {"type": "VITALS", "data": [{"patient_id": f"Patient{device}", "device_id": f"MON{device:04d}",
                                            "utctimestamp": ts, "spo2": 90 + n % 10, "hr": 60 + n % 40,
                                            "bloodperfusion": 1.14, "steps": n % 7, "bpw": 2.48, "rrate": 20,
                                            "bodytemp": 36}]}
    if kind == 1:
        return {"type": "BP", "data": [{"patient_id": f"Patient{device}", "device_id": f"MON{device:04d}BP",
                                        "sys": str(110 + n % 30), "dia": str(70 + n % 20), "utctimestamp": ts}]}
    return {"type": "WEIGHT", "data": [{"patient_id": f"Patient{device}", "device_id": f"MON{device:04d}WT",
                                        "weight": str(60 + n % 40), "unit": "kg", "utctimestamp": ts}]}


def bad_message(n):
    if n % 2 == 0:
        return b'{"type": "VITALS", "data": [ this is not json'
    return json.dumps({"type": "UNKNOWN", "data": [{"device_id": "MON9999", "x": n}]}).encode()


def worker(url, stop, devices, bad_every, offset, threads, rate, counts, lock):
    u = urllib.parse.urlsplit(url)
    gap = threads / rate if rate > 0 else 0.0
    next_at = time.monotonic()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    n = offset
    local = collections.Counter()
    while not stop.is_set():
        if gap:
            next_at += gap
            wait = next_at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        n += threads
        if bad_every and n % bad_every == 0:
            body = bad_message(n // bad_every)
        else:
            ts = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(milliseconds=n % 1000)).isoformat()
            body = json.dumps(message(n % 3, n, n % devices, ts)).encode()
        try:
            conn.request("POST", u.path, body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            local[r.status] += 1
            if r.status == 503:
                time.sleep(float(r.getheader("Retry-After") or 1))
        except (OSError, http.client.HTTPException) as e:
            local[type(e).__name__] += 1
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            time.sleep(0.1)
    conn.close()
    with lock:
        counts.update(local)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--devices", type=int, default=20)
    ap.add_argument("--bad-every", type=int, default=10)
    a = ap.parse_args()
    stop, lock, counts = threading.Event(), threading.Lock(), collections.Counter()
    ts = [threading.Thread(target=worker, args=(a.url, stop, a.devices, a.bad_every, i, a.threads, a.rate, counts, lock))
          for i in range(a.threads)]
    for t in ts:
        t.start()
    time.sleep(a.seconds)
    stop.set()
    for t in ts:
        t.join()
    total = sum(counts.values())
    print(f"loadgen: {total} posted in {a.seconds:g} s: " +
          ", ".join(f"{k}={v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))), flush=True)
    return 0 if counts.get(201) else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Scale-out with dynamic partition ownership (iomt issue 14, CTest label `scale`): three
`iomtflow run` replicas share one consumer group of an 8-partition hub (the project's Event Hubs
emulator; ownership records and checkpoints in Azurite) while 30,000 events flow in through the
Azure SDK's producer; then

  1. all partitions owned: every partition has one active owner, the load is 2-3-3, and each
     replica reads exactly the partitions the records give it;
  2. kill -9 one replica: its partitions are owned and read by the others again within the
     ownership expiry (+ generous slack);
  3. a fourth replica joins: the partitions rebalance over the three live ones (it gets its share);
  4. SIGTERM one replica: it exits 0, releases its records, and its partitions move to the others;
  5. at the end every checkpoint is at its partition's last event, and the FHIR server holds
     exactly one Quantity Observation per event (30,000: nothing lost, duplicates after the
     hand-overs merged by the idempotent upsert, none created twice) and, from the same readings,
     one hourly SampledData Observation per device whose data holds exactly its 300 points, each
     in its own one-second slot with its value (a re-read event merges into the same slot).

Asserts outcomes and ownership; times are measured and printed, bounded only generously.
Starts and stops its own peers on free ports (IOMT_SCALE_EH_PORT / IOMT_SCALE_EH_PLAIN_PORT /
IOMT_SCALE_BLOB_PORT / IOMT_SCALE_FHIR_PORT pin them). Environment: IOMTFLOW (the binary), IOMT_SOURCE_DIR,
IOMT_SCALE_COUNT (default 30000). About 2 minutes on the 2-core test machine.
"""

import collections
import json
import os
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "pipeline")]
import scale_support as s  # noqa: E402
from harness import TestFailure, metric, observation_count, request, wait_until  # noqa: E402

COUNT = int(os.environ.get("IOMT_SCALE_COUNT", "30000"))
RATE = int(os.environ.get("IOMT_SCALE_RATE", "400"))  # events/s: the flow lasts through every phase
INTERVAL_S, EXPIRY_S = 1.0, 8.0
DEVICES = 100
QUANTITY_CODE, SAMPLED_CODE = "8867-4", "8889-8"

# Each reading -> a Quantity Observation (heartrate) and a point of the device's hourly SampledData
# Observation (heartrate-sampled, one slot per second).
DEVICE_MAPPING = {"templateType": "CollectionContent", "template": [
    {"templateType": "JsonPathContent", "template": {
        "typeName": name, "typeMatchExpression": "$..[?(@hr)]", "timestampExpression": "$.utctimestamp",
        "deviceIdExpression": "$.device_id", "patientIdExpression": "$.patient_id",
        "values": [{"valueName": "heartRate", "valueExpression": "$.hr", "required": True}]}}
    for name in ("heartrate", "heartrate-sampled")]}
FHIR_MAPPING = {"templateType": "CollectionFhir", "template": [
    {"templateType": "CodeValueFhir", "template": {
        "typeName": "heartrate", "periodInterval": 0,
        "codes": [{"system": "http://loinc.org", "code": QUANTITY_CODE, "display": "Heart rate"}],
        "value": {"valueType": "Quantity", "valueName": "heartRate", "unit": "beats/minute",
                  "system": "http://unitsofmeasure.org", "code": "/min"}}},
    {"templateType": "CodeValueFhir", "template": {
        "typeName": "heartrate-sampled", "periodInterval": 60,
        "codes": [{"system": "http://loinc.org", "code": SAMPLED_CODE, "display": "Heart rate by pulse oximetry"}],
        "value": {"valueType": "SampledData", "valueName": "heartRate", "defaultPeriod": 1000, "unit": "/min"}}}]}


def check_sampled_data(peers, count):
    """One hourly SampledData Observation per device, each with exactly its readings in their slots."""
    url = (peers.fhir + "/Observation?code=" + urllib.parse.quote(f"http://loinc.org|{SAMPLED_CODE}", safe="")
           + f"&_count={DEVICES * 2}")
    status, body = request("GET", url, timeout=120)
    if status != 200:
        fail(f"SampledData search answered {status}")
    obs = [e["resource"] for e in json.loads(body).get("entry", [])]
    if len(obs) != DEVICES:
        fail(f"{len(obs)} SampledData Observations, expected one per device ({DEVICES})")
    ticks = count // DEVICES
    for o in obs:
        tokens = o["valueSampledData"]["data"].split(" ")
        filled = [(i, t) for i, t in enumerate(tokens) if t != "E"]
        if [i for i, _ in filled] != list(range(ticks)):
            fail(f"Observation/{o['id']}: points in slots {[i for i, _ in filled][:5]}..., "
                 f"expected exactly slots 0..{ticks - 1}")
        # Reading i = tick * DEVICES + device has hr 60 + i % 40: even and odd ticks alternate.
        a, b = int(filled[0][1]), int(filled[1][1])
        if b != 60 + (a - 60 + DEVICES) % 40 or any(int(t) != (a if i % 2 == 0 else b) for i, t in filled):
            fail(f"Observation/{o['id']}: values do not match the readings of one device")


def fail(m):
    s.log("scale", "FAILED: " + m)
    sys.exit(1)


def main():
    iomtflow = os.environ.get("IOMTFLOW")
    if not iomtflow:
        fail("set IOMTFLOW")
    work = s.make_work("scale")
    peers = s.Peers(work)
    replicas = []
    sender = None
    container = f"scale-{os.getpid()}"
    try:
        def active_owners():
            now = time.time()
            # Last-Modified has whole seconds: one second of slack on the expiry.
            return {p: o for p, (o, t) in peers.ownership(container).items() if o and now - t < EXPIRY_S + 1}

        def balanced(live):
            """The records give every partition to one of `live`, floor/ceil of the share each, and
            each live replica reads exactly its partitions."""
            owners = active_owners()
            if set(owners) != set(peers.partitions) or not set(owners.values()) <= {r.name for r in live}:
                return None
            load = collections.Counter(owners.values())
            lo = len(peers.partitions) // len(live)
            if any(load.get(r.name, 0) not in (lo, lo + 1) for r in live):
                return None
            for r in live:
                if r.reading() != {p for p, o in owners.items() if o == r.name}:
                    return None
            return owners

        mappings = (os.path.join(work, "devicecontent.json"), os.path.join(work, "fhirmapping.json"))
        json.dump(DEVICE_MAPPING, open(mappings[0], "w"))
        json.dump(FHIR_MAPPING, open(mappings[1], "w"))

        def replica(name):
            r = s.Replica(iomtflow, peers, name, container, work, interval=f"{int(INTERVAL_S * 1000)}ms",
                          expiry=f"{int(EXPIRY_S)}s", mappings=mappings, flush="1s")
            replicas.append(r)
            return r

        for i in range(3):
            replica(f"replica-{i}")
        r0, r1, r2 = replicas
        t0 = time.monotonic()
        owners = wait_until(lambda: balanced([r0, r1, r2]), 90, "three replicas own every partition, balanced",
                            interval=0.25)
        s.log("scale", f"phase 1: balanced after {time.monotonic() - t0:.1f} s: "
                       f"{dict(collections.Counter(owners.values()))}")

        sender = peers.send(COUNT, rate=RATE)
        wait_until(lambda: observation_count(peers.fhir, QUANTITY_CODE) >= COUNT // 8, 120,
                   "events reach the FHIR server", interval=1)

        # 2. kill -9: its records stay until they expire; then the others claim them.
        orphaned = {p for p, o in active_owners().items() if o == r1.name}
        t_kill = time.monotonic()
        r1.kill()

        def taken_over():
            owners = active_owners()
            reading = set().union(*[r.reading() or set() for r in (r0, r2)])
            return all(owners.get(p) in (r0.name, r2.name) for p in orphaned) and orphaned <= reading

        wait_until(taken_over, EXPIRY_S + 60, "the killed replica's partitions are read again", interval=0.25)
        takeover_s = time.monotonic() - t_kill
        s.log("scale", f"phase 2: kill -9 {r1.name}: partitions {sorted(orphaned)} read again after {takeover_s:.1f} s "
                       f"(expiry {EXPIRY_S:.0f} s)")
        if takeover_s < EXPIRY_S - 3:  # renewal gap + whole-second Last-Modified
            fail(f"taken over after {takeover_s:.1f} s, before the expiry: a live record was not respected")

        # 3. a fourth replica joins and gets its share.
        r3 = replica("replica-3")
        t_join = time.monotonic()
        owners = wait_until(lambda: balanced([r0, r2, r3]), 90, "the joining replica gets its share", interval=0.25)
        s.log("scale", f"phase 3: {r3.name} joined: balanced after {time.monotonic() - t_join:.1f} s: "
                       f"{dict(collections.Counter(owners.values()))}")

        # 4. SIGTERM: drain, checkpoint, release; the others take over within about one interval.
        moving = {p for p, o in owners.items() if o == r0.name}
        t_term = time.monotonic()
        rc = r0.terminate()
        if rc != 0:
            fail(f"{r0.name} exited with {rc} after SIGTERM; see {r0.logfile}")
        exited_s = time.monotonic() - t_term
        log_text = open(r0.logfile).read()
        for p in moving:
            if f"released partition {p} as" not in log_text:
                fail(f"{r0.name} did not release partition {p}; see {r0.logfile}")
        t_exit = time.monotonic()
        wait_until(lambda: balanced([r2, r3]), 60, "the terminated replica's partitions move", interval=0.25)
        s.log("scale", f"phase 4: SIGTERM {r0.name}: exited after {exited_s:.1f} s, partitions {sorted(moving)} "
                       f"read by the others {time.monotonic() - t_exit:.1f} s after it exited "
                       f"(interval {INTERVAL_S:.0f} s)")

        # 5. everything arrives once.
        if sender.wait(timeout=300) != 0:
            fail("the producer failed")
        sender = None
        per_partition = collections.Counter((i % DEVICES) % len(peers.partitions) for i in range(COUNT))
        last = {str(p): n - 1 for p, n in per_partition.items()}

        def done():
            cps = peers.checkpoints(container)
            return all(cps.get(p, -1) >= seq for p, seq in last.items())

        t_drain = time.monotonic()
        wait_until(done, 240, "every checkpoint reaches its partition's last event", interval=1)
        s.log("scale", f"phase 5: all checkpoints at the end {time.monotonic() - t_drain:.1f} s after the last send")
        total = observation_count(peers.fhir, QUANTITY_CODE)
        if total != COUNT:
            fail(f"the FHIR server holds {total} Quantity Observations, expected exactly {COUNT}")
        check_sampled_data(peers, COUNT)
        received = sum(metric(r.metrics() or {}, "iomtflow_amqp_received_total") for r in (r2, r3))
        for r in (r2, r3):
            values = r.metrics() or {}
            if metric(values, "iomtflow_errors_total"):
                fail(f"{r.name} counted pipeline errors; see {r.logfile}")
            for action in ("claim", "renew"):
                if not metric(values, "iomtflow_eventhubs_ownership_total", action=action):
                    fail(f"{r.name} counted no ownership {action}")
        if not metric(r3.metrics() or {}, "iomtflow_eventhubs_ownership_total", action="steal"):
            fail(f"{r3.name} joined a balanced group without stealing")
        s.log("scale", f"FHIR server: {total} Quantity Observations for {COUNT} events, {DEVICES} SampledData "
                       f"Observations with {COUNT // DEVICES} points each (the two survivors received {received:.0f})")
        for r in (r2, r3):
            rc = r.terminate()
            if rc != 0:
                fail(f"{r.name} exited with {rc} after SIGTERM; see {r.logfile}")
        left = {p: o for p, (o, _) in peers.ownership(container).items() if o}
        if left:
            fail(f"records still owned after every replica stopped: {left}")
        s.log("scale", "ok")
    except TestFailure as e:
        fail(f"{e}; logs in {work}")
    finally:
        if sender is not None and sender.poll() is None:
            sender.kill()
        for r in replicas:
            if r.alive():
                r.proc.kill()
                r.proc.wait()
        peers.stop()


if __name__ == "__main__":
    main()

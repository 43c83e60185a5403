#!/usr/bin/env python3
"""Dynamic partition ownership interoperates with the Azure SDK (iomt issue 14, CTest label
`scale`): an `iomtflow run` replica and an Azure SDK processor (EventHubConsumerClient with the
SDK's own BlobCheckpointStore, scripts/peers/eh-emulator/sdk-processor.js) share one consumer group
of an 8-partition hub, ownership records in Azurite:

  1. they balance to 4 + 4 through the same records, and at every sample over a few balancing
     rounds no partition is read by both (iomtflow's partition_owned metric vs the partitions the
     SDK processor has open);
  2. the SDK processor stops (it gives its records up): iomtflow takes all 8;
  3. the SDK processor comes back with a new id: they balance again, it steals from iomtflow and
     iomtflow lets the stolen partitions go.

Peers on free ports (as scale_it.py). Environment: IOMTFLOW, IOMT_SOURCE_DIR.
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "pipeline")]
import scale_support as s  # noqa: E402
from harness import TestFailure, metric, terminate, wait_until  # noqa: E402

INTERVAL_MS, EXPIRY_MS = 1000, 8000


def fail(m):
    s.log("sdk-interop", "FAILED: " + m)
    sys.exit(1)


class SdkProcessor:
    def __init__(self, peers, container, work, ident):
        self.state = os.path.join(work, f"{ident}.json")
        self.logfile = os.path.join(work, f"{ident}.log")
        self.out = open(self.logfile, "w")
        self.proc = subprocess.Popen(
            ["node", os.path.join(s.EMULATOR, "sdk-processor.js"), peers.eh["EH_PLAIN_CONNECTION_STRING"],
             peers.blob["AZURITE_CONNECTION_STRING"], container, self.state, "--id", ident,
             "--interval-ms", str(INTERVAL_MS), "--expiry-ms", str(EXPIRY_MS)],
            stdout=self.out, stderr=subprocess.STDOUT)
        self.ident = ident

    def reading(self):
        try:
            return set(json.load(open(self.state))["reading"])
        except (OSError, ValueError, KeyError):
            return None

    def stop(self):
        rc = terminate(self.proc, timeout=60)
        self.out.close()
        return rc


def main():
    iomtflow = os.environ.get("IOMTFLOW")
    if not iomtflow:
        fail("set IOMTFLOW")
    work = s.make_work("sdk-interop")
    peers = s.Peers(work)
    container = f"interop-{os.getpid()}"
    procs = []
    replica = None
    try:
        peers.send(2000, wait=True, prefix="interop")
        replica = s.Replica(iomtflow, peers, "iomtflow-0", container, work, interval=f"{INTERVAL_MS}ms",
                            expiry=f"{EXPIRY_MS}ms")
        sdk = SdkProcessor(peers, container, work, "sdk-0")
        procs.append(sdk)

        def split(sdk):
            now = time.time()
            owners = {p: o for p, (o, t) in peers.ownership(container).items()
                      if o and now - t < EXPIRY_MS / 1000 + 1}
            mine = {p for p, o in owners.items() if o == replica.name}
            theirs = {p for p, o in owners.items() if o == sdk.ident}
            if len(mine) != 4 or len(theirs) != 4:
                return None
            if replica.reading() != mine or sdk.reading() != theirs:
                return None
            return mine, theirs

        def never_both(sdk, seconds):
            end = time.monotonic() + seconds
            samples = 0
            while time.monotonic() < end:
                a, b = replica.reading(), sdk.reading()
                if a is not None and b is not None:
                    samples += 1
                    if a & b:
                        fail(f"partitions {sorted(a & b)} read by iomtflow and the SDK processor at once")
                time.sleep(0.2)
            return samples

        mine, theirs = wait_until(lambda: split(sdk), 90, "iomtflow and the SDK processor split 4 + 4",
                                  interval=0.25)
        n = never_both(sdk, 5 * INTERVAL_MS / 1000)
        s.log("sdk-interop", f"phase 1: iomtflow reads {sorted(mine)}, the SDK processor {sorted(theirs)}; "
                             f"{n} samples, never both")
        rc = sdk.stop()
        if rc != 0:
            fail(f"the SDK processor exited with {rc}; see {sdk.logfile}")
        t = time.monotonic()
        wait_until(lambda: replica.reading() == set(peers.partitions), 60, "iomtflow takes all 8", interval=0.25)
        s.log("sdk-interop", f"phase 2: SDK processor stopped; iomtflow reads all 8 after {time.monotonic() - t:.1f} s")
        sdk2 = SdkProcessor(peers, container, work, "sdk-1")
        procs.append(sdk2)
        mine, theirs = wait_until(lambda: split(sdk2), 90, "the new SDK processor steals its share", interval=0.25)
        n = never_both(sdk2, 5 * INTERVAL_MS / 1000)
        s.log("sdk-interop", f"phase 3: rebalanced: iomtflow {sorted(mine)}, SDK {sorted(theirs)}; {n} samples, never both")
        if not metric(replica.metrics() or {}, "iomtflow_eventhubs_ownership_total", action="lost"):
            fail("iomtflow counted no lost partition although the SDK processor stole some")
        rc = replica.terminate()
        if rc != 0:
            fail(f"iomtflow exited with {rc} after SIGTERM; see {replica.logfile}")
        sdk2.stop()
        s.log("sdk-interop", "ok")
    except TestFailure as e:
        fail(f"{e}; logs in {work}")
    finally:
        for p in procs:
            if p.proc.poll() is None:
                p.proc.kill()
                p.proc.wait()
        if replica is not None and replica.alive():
            replica.proc.kill()
            replica.proc.wait()
        peers.stop()


if __name__ == "__main__":
    main()

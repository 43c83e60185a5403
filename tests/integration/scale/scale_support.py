"""What the scale test (scale_it.py) and the scale benchmark (bench/scale/run) share: the real
peers (the project's Event Hubs emulator, Azurite, the in-memory FHIR server) started on free ports
and stopped again, iomtflow replicas with dynamic partition ownership, and the two views of who
reads what: the ownership records in Blob Storage (List Blobs with Shared Key, as the SDKs list
them) and each replica's iomtflow_eventhubs_partition_owned metric. Standard library only; the
generic parts (Services, IomtflowProcess, request, metric, wait_until) come from ../pipeline/harness.py.
"""

import base64
import email.utils
import hashlib
import hmac
import os
import subprocess
import sys
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipeline"))
from harness import PEERS, SOURCE_DIR, IomtflowProcess, Services, free_port, request  # noqa: E402

EMULATOR = os.path.join(PEERS, "eh-emulator")
HUB = "devicedata"
GROUP = "$Default"


def log(tag, m):
    print(f"[{tag}] {m}", flush=True)


class Peers(Services):
    """Emulator (8 partitions), Azurite and a FHIR server of our own; stop() ends them all."""

    def __init__(self, work, partitions=8):
        super().__init__(work)
        try:
            self.eh = self.start("eh", os.path.join("eh-emulator", "start.sh"),
                                 "--port", os.environ.get("IOMT_SCALE_EH_PORT") or str(free_port()),
                                 "--plain-port", os.environ.get("IOMT_SCALE_EH_PLAIN_PORT") or str(free_port()),
                                 "--partitions", str(partitions))
            self.blob = self.start("azurite", "start-azurite.sh",
                                   "--port", os.environ.get("IOMT_SCALE_BLOB_PORT") or str(free_port()))
            self.fhir = self.fhir_server(os.environ.get("IOMT_SCALE_FHIR_PORT"))
        except BaseException:
            self.stop()  # what did start
            raise
        self.partitions = [str(i) for i in range(partitions)]

    def send(self, count, rate=0, prefix="scale", wait=False):
        """The SDK producer (send.js), in the background unless `wait`."""
        cmd = ["node", os.path.join(EMULATOR, "send.js"), self.eh["EH_PLAIN_CONNECTION_STRING"], str(count),
               "--rate", str(rate), "--prefix", prefix]
        if wait:
            subprocess.run(cmd, check=True)
            return None
        return subprocess.Popen(cmd)

    # ---- ownership records and checkpoints in Azurite (the SDKs' layout) ----------------------
    def _list(self, container, kind):
        """The <Blob> elements under {ns}/{hub}/{group}/{kind}/ (List Blobs, Shared Key), and the prefix."""
        endpoint = self.blob["AZURITE_BLOB_ENDPOINT"]  # http://127.0.0.1:PORT/devstoreaccount1
        account, key = self.blob.get("AZURITE_ACCOUNT", "devstoreaccount1"), self.blob["AZURITE_KEY"]
        u = urllib.parse.urlsplit(endpoint)
        prefix = f"localhost/{HUB}/{GROUP}/{kind}/".lower()
        query = {"restype": "container", "comp": "list", "prefix": prefix, "include": "metadata"}
        path = u.path + "/" + container
        headers = {"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": "2021-12-02"}
        canon = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()))
        canon += f"/{account}{path}" + "".join(f"\n{k}:{query[k]}" for k in sorted(query))
        to_sign = "GET\n" + "\n" * 11 + canon
        sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()).decode()
        headers["Authorization"] = f"SharedKey {account}:{sig}"
        status, body = request("GET", f"{u.scheme}://{u.netloc}{path}?{urllib.parse.urlencode(query)}",
                               headers=headers, timeout=20)
        if status == 404:
            return [], prefix
        if status != 200:
            raise RuntimeError(f"List Blobs answered {status}: {body[:200]!r}")
        return list(ET.fromstring(body).iter("Blob")), prefix

    def ownership(self, container):
        """{partition: (owner, last_modified_s)} as listed from the ownership blobs."""
        blobs, prefix = self._list(container, "ownership")
        out = {}
        for b in blobs:
            meta = b.find("Metadata")
            owner = (meta.findtext("ownerid") if meta is not None else None) or ""
            modified = email.utils.parsedate_to_datetime(b.find("Properties").findtext("Last-Modified")).timestamp()
            out[b.findtext("Name")[len(prefix):]] = (owner, modified)
        return out

    def checkpoints(self, container):
        """{partition: sequence number} of the checkpoint blobs."""
        blobs, prefix = self._list(container, "checkpoint")
        out = {}
        for b in blobs:
            meta = b.find("Metadata")
            seq = meta.findtext("sequencenumber") if meta is not None else None
            if seq is not None:
                out[b.findtext("Name")[len(prefix):]] = int(seq)
        return out


class Replica(IomtflowProcess):
    """One `iomtflow run` with source.eventhubs ownership: dynamic."""

    def __init__(self, iomtflow, peers, name, container, work, interval="1s", expiry="8s", shards=1, mappings=None,
                 flush="200ms"):
        port = free_port()
        device, fhir = mappings or (os.path.join(SOURCE_DIR, "bench", "e2e", "quantity-device.json"),
                                    os.path.join(SOURCE_DIR, "bench", "e2e", "quantity-fhir.json"))
        config = f"""source:
  http: {{listen: 127.0.0.1, port: {port}, auth: none}}
  eventhubs:
    connection_string_env: IOMT_SCALE_EH_CONNECTION_STRING
    ca_file: {peers.eh["EH_CA"]}
    consumer_group: '{GROUP}'
    start_position: earliest
    checkpoint_store: blob
    checkpoint_blob: {{connection_string_env: IOMT_SCALE_BLOB_CONNECTION_STRING, container: {container}}}
    checkpoint_interval: 500ms
    lag_interval: 0s
    ownership: dynamic
    owner_id: {name}
    balance_interval: {interval}
    ownership_expiry: {expiry}
    drain_timeout: 20s
mapping:
  device: {device}
  fhir: {fhir}
pipeline: {{shards: {shards}, flush_interval: {flush}}}
fhir: {{url: '{peers.fhir}', identity: Create, bundles: true}}
log: {{level: info}}
buffer: {{enabled: false}}
deadletter: {{dir: '{work}/deadletter-{name}'}}
"""
        super().__init__(iomtflow, work, name, port, config,
                         {"IOMT_SCALE_EH_CONNECTION_STRING": peers.eh["EH_CONNECTION_STRING"],
                          "IOMT_SCALE_BLOB_CONNECTION_STRING": peers.blob["AZURITE_CONNECTION_STRING"]})

    def reading(self):
        """Partitions this replica reads now (its partition_owned gauge), or None when it does not answer."""
        values = self.metrics()
        if values is None:
            return None
        return {dict(labels).get("partition") for (name, labels), v in values.items()
                if name == "iomtflow_eventhubs_partition_owned" and v == 1}


def make_work(tag):
    return tempfile.mkdtemp(prefix=f"iomt-{tag}-")

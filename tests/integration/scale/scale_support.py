"""What the scale test (scale_it.py) and the scale benchmark (bench/scale/run) share: the real
peers (the project's Event Hubs emulator, Azurite, the in-memory FHIR server) started on free ports
and stopped again, iomtflow replicas with dynamic partition ownership, and the two views of who
reads what: the ownership records in Blob Storage (List Blobs with Shared Key, as the SDKs list
them) and each replica's iomtflow_eventhubs_partition_owned metric. Standard library only.
"""

import base64
import email.utils
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET

SOURCE = os.environ.get("IOMT_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PEERS = os.path.join(SOURCE, "scripts", "peers")
EMULATOR = os.path.join(PEERS, "eh-emulator")
HUB = "devicedata"
GROUP = "$Default"


def log(tag, m):
    print(f"[{tag}] {m}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_env_sh(path):
    env = {}
    for line in open(path):
        if line.startswith("export "):
            for word in line[7:].split():
                if "=" in word:
                    k, v = word.split("=", 1)
                    env[k] = v.strip("'\"")
    return env


def request(method, url, body=None, timeout=60, headers=None):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    h = dict(headers or {})
    if body is not None and "Content-Type" not in h:
        h["Content-Type"] = "application/fhir+json"
    c.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def metric(text, name, labels=""):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (not labels or labels in line):
            m = re.match(r"^" + re.escape(name) + r"(\{[^}]*\})?\s+(\S+)$", line)
            if m:
                total += float(m.group(2))
    return total


class Peers:
    """Emulator (8 partitions), Azurite and a FHIR server of our own; stop() ends them all."""

    def __init__(self, work, partitions=8):
        self.work = work
        self.dirs = []
        try:
            self._start(work, partitions)
        except BaseException:
            self.stop()  # what did start
            raise

    def _start(self, work, partitions):
        eh_port = int(os.environ.get("IOMT_SCALE_EH_PORT") or free_port())
        d = os.path.join(work, "eh")
        plain_port = int(os.environ.get("IOMT_SCALE_EH_PLAIN_PORT") or free_port())
        subprocess.run([os.path.join(EMULATOR, "start.sh"), "--port", str(eh_port), "--plain-port", str(plain_port),
                        "--dir", d, "--partitions", str(partitions)], check=True, stdout=subprocess.DEVNULL)
        self.dirs.append(d)
        self.eh = read_env_sh(os.path.join(d, "env.sh"))
        blob_port = int(os.environ.get("IOMT_SCALE_BLOB_PORT") or free_port())
        d = os.path.join(work, "azurite")
        subprocess.run([os.path.join(PEERS, "start-azurite.sh"), "--port", str(blob_port), "--dir", d], check=True,
                       stdout=subprocess.DEVNULL)
        self.dirs.append(d)
        self.blob = read_env_sh(os.path.join(d, "env.sh"))
        d = os.path.join(work, "fhir")
        fhir_port = int(os.environ.get("IOMT_SCALE_FHIR_PORT") or free_port())
        # Structural validation off: the single-threaded server is the bottleneck (docs/benchmarks.md).
        subprocess.run([os.path.join(PEERS, "start-fhir-server.sh"), "--port", str(fhir_port), "--dir", d,
                        "--no-validate"], check=True, stdout=subprocess.DEVNULL)
        self.dirs.append(d)
        self.fhir = read_env_sh(os.path.join(d, "env.sh"))["FHIR_URL"]
        self.partitions = [str(i) for i in range(partitions)]

    def stop(self):
        if self.dirs:
            subprocess.run([os.path.join(PEERS, "stop-services.sh"), *self.dirs], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            self.dirs = []

    def send(self, count, rate=0, prefix="scale", wait=False):
        """The SDK producer (send.js), in the background unless `wait`."""
        cmd = ["node", os.path.join(EMULATOR, "send.js"), self.eh["EH_PLAIN_CONNECTION_STRING"], str(count),
               "--rate", str(rate), "--prefix", prefix]
        if wait:
            subprocess.run(cmd, check=True)
            return None
        return subprocess.Popen(cmd)

    def fhir_count(self, code=None):
        """Observations on the FHIR server (of one LOINC code)."""
        query = "_summary=count" + ("&code=" + urllib.parse.quote(f"http://loinc.org|{code}", safe="") if code else "")
        status, body = request("GET", self.fhir + "/Observation?" + query, timeout=60)
        if status != 200:
            raise RuntimeError(f"FHIR count answered {status}")
        return json.loads(body).get("total")

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


class Replica:
    """One `iomtflow run` with source.eventhubs ownership: dynamic."""

    def __init__(self, iomtflow, peers, name, container, work, interval="1s", expiry="8s", shards=1, mappings=None,
                 flush="200ms"):
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = os.path.join(work, f"{name}.yaml")
        self.logfile = os.path.join(work, f"{name}.log")
        device, fhir = mappings or (os.path.join(SOURCE, "bench", "e2e", "quantity-device.json"),
                                    os.path.join(SOURCE, "bench", "e2e", "quantity-fhir.json"))
        with open(self.config, "w") as f:
            f.write(f"""source:
  http: {{listen: 127.0.0.1, port: {self.port}, auth: none}}
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
""")
        env = dict(os.environ, IOMT_SCALE_EH_CONNECTION_STRING=peers.eh["EH_CONNECTION_STRING"],
                   IOMT_SCALE_BLOB_CONNECTION_STRING=peers.blob["AZURITE_CONNECTION_STRING"])
        self.out = open(self.logfile, "w")
        self.proc = subprocess.Popen([iomtflow, "run", "--config", self.config], stdout=self.out,
                                     stderr=subprocess.STDOUT, env=env)

    def alive(self):
        return self.proc.poll() is None

    def metrics(self):
        try:
            status, text = request("GET", self.base + "/metrics", timeout=5)
            return text.decode() if status == 200 else ""
        except OSError:
            return ""

    def reading(self):
        """Partitions this replica reads now (its partition_owned gauge), or None when it does not answer."""
        text = self.metrics()
        if not text:
            return None
        out = set()
        for m in re.finditer(r'^iomtflow_eventhubs_partition_owned\{([^}]*)\}\s+(\S+)$', text, re.M):
            p = re.search(r'partition="([^"]*)"', m.group(1))
            if p and float(m.group(2)) == 1:
                out.add(p.group(1))
        return out

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.out.close()

    def terminate(self, timeout=60):
        """SIGTERM; the exit status (-9 when it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.out.close()
                return -9
        self.out.close()
        return self.proc.returncode


def wait_for(what, predicate, timeout, step=0.25):
    """Polls `predicate` until it returns a true value; that value, or raises TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(step)


def make_work(tag):
    return tempfile.mkdtemp(prefix=f"iomt-{tag}-")

"""Shared fixtures of the `iomtflow run` integration tests (standard library only).

- FhirServer: the project's in-memory FHIR server (scripts/peers/fhir-server/server.js). Reuses the
  one named by FHIR_URL (scripts/test starts it) unless a private one is needed (bearer tokens),
  otherwise starts its own with scripts/peers/start-fhir-server.sh on a free port. Test control:
  reset(), faults(...), stats().
- OAuthServer: scripts/peers/oauth (oidc-provider) on a free port.
- Iomtflow: writes a config, starts `iomtflow run`, waits for /readyz, posts Event Hubs REST
  messages with a SAS token, reads /metrics, stops it with SIGTERM.
- run(scenarios): runs the named scenario functions, prints one line per scenario and the
  closing "N passed, N failed" line; exit status 1 if any failed.
- For the suites that drive raw processes (amqp, fault/amqp_throttle, scale, bench/scale):
  Services (peers started by their scripts/peers scripts into folders of a work dir, all stopped
  again), IomtflowProcess (`iomtflow run` with a config written by the caller), AmqpQueue (a
  broker queue filled and drained with bench/amqp's tool, and its source.amqp config), terminate(),
  read_env_sh(), request(), observation_count().

Other suites import this file with ../pipeline on sys.path (tests.cmake runs each script from its
own folder; nothing sets PYTHONPATH).

Environment: IOMTFLOW (path of the binary), IOMT_SOURCE_DIR, IOMT_SHARED_DIR, FHIR_URL (optional).
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("IOMT_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SHARED_DIR = os.environ.get("IOMT_SHARED_DIR") or os.path.join(SOURCE_DIR, "..", "shared")
PEERS = os.path.join(SOURCE_DIR, "scripts", "peers")
WORKSHOP = os.path.join(SHARED_DIR, "vectors", "azure-health-data-services-workshop",
                        "Challenge-09 - MedTech service", "SampleData")
SERVICE_SYSTEM = "https://azure.microsoft.com/en-us/services/iomt-fhir-connector/"
SAS_KEY_NAME = "RootManageSharedAccessKey"
HUB = "devicedata"


class TestFailure(AssertionError):
    pass


def check(cond, message):
    if not cond:
        raise TestFailure(message)


def check_eq(actual, expected, what):
    if actual != expected:
        raise TestFailure(f"{what}: expected {expected!r}, got {actual!r}")


def log(msg):
    print(f"  {msg}", flush=True)


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TestFailure(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def http_call(url, method="GET", body=None, headers=None, timeout=30):
    """One HTTP request on a fresh connection -> (status, headers dict (lower-case), body bytes)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        target = u.path + ("?" + u.query if u.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        res = conn.getresponse()
        data = res.read()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, data
    finally:
        conn.close()


def sas_token(resource_uri, key_name, key, ttl=3600):
    """Authorization header value, as the Azure SDKs and the seed's Postman script make it."""
    sr = urllib.parse.quote(resource_uri, safe="")
    se = str(int(time.time()) + ttl)
    sig = base64.b64encode(hmac.new(key.encode(), f"{sr}\n{se}".encode(), hashlib.sha256).digest()).decode()
    return f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote(sig, safe='')}&se={se}&skn={key_name}"


def workshop_messages():
    """The three workshop sample messages (Three-Sample-Message-Types.json, split at its
    "=== NAME ===" header lines) -> [(name, text)]; texts are sent unchanged (one has a trailing comma)."""
    path = os.path.join(WORKSHOP, "Three-Sample-Message-Types.json")
    messages, name, lines = [], None, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\s*=+\s*([A-Za-z0-9_-]+)\s*=+\s*$", line)
            if m:
                if name:
                    messages.append((name, "".join(lines).strip()))
                name, lines = m.group(1).lower(), []
            elif name and line.strip():
                lines.append(line)
    if name:
        messages.append((name, "".join(lines).strip()))
    check_eq(len(messages), 3, "workshop sample messages")
    return messages


def workshop_mappings():
    answers = os.path.join(WORKSHOP, "Answers")
    return os.path.join(answers, "devicecontent.json"), os.path.join(answers, "fhirmapping.json")


def hour_segment(ts):
    """Hourly id segment (iomt-spec §7) of an ISO UTC time 'YYYY-MM-DDTHH:...'."""
    day, hour = ts[:10].replace("-", ""), ts[11:13]
    return f"{day}{hour}0000Z.{day}{hour}5959Z"


# ---- FHIR server -------------------------------------------------------------------------------

def stop_services(dirs):
    """scripts/peers/stop-services.sh: stops what the start scripts started in these folders."""
    subprocess.run([os.path.join(PEERS, "stop-services.sh"), *dirs], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120)


class ScriptPeer:
    """A peer that a scripts/peers start script runs in a temporary folder of its own; close() (or
    the end of a with block) stops it and removes the folder, also after a failed start."""

    dir = None

    def _start(self, prefix, script, args, env, timeout=120):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        try:
            r = subprocess.run([os.path.join(PEERS, script), *args, "--dir", self.dir], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
            if r.returncode != 0:
                raise TestFailure(f"{os.path.basename(script)} failed:\n{r.stderr}")
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.dir:
            stop_services([self.dir])
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FhirServer(ScriptPeer):
    """The in-memory FHIR server: FHIR_URL's, or our own. `env` (e.g. FHIR_REQUIRE_TOKEN_FROM)
    forces a private server."""

    def __init__(self, env=None):
        self.env = env or {}
        self.token = None  # bearer token for our own reads, when the server requires one
        shared = os.environ.get("FHIR_URL")
        if shared and not self.env:
            self.url = shared.rstrip("/")
        else:
            port = free_port()
            self._start("iomt-it-fhir-", "start-fhir-server.sh", ["--port", str(port)], dict(os.environ, **self.env))
            self.url = f"http://127.0.0.1:{port}/fhir"
        u = urllib.parse.urlsplit(self.url)
        self.origin = f"{u.scheme}://{u.netloc}"

    def log_tail(self, n=20):
        if not self.dir:
            return ""
        try:
            with open(os.path.join(self.dir, "server.log"), encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def _headers(self, extra=None):
        h = {"Accept": "application/fhir+json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if extra:
            h.update(extra)
        return h

    def request(self, method, path, body=None, headers=None, expect=None):
        h = self._headers(headers)
        if body is not None:
            h.setdefault("Content-Type", "application/fhir+json")
        status, hdrs, data = http_call(f"{self.url}/{path.lstrip('/')}", method, body, h)
        if expect is not None and status not in (expect if isinstance(expect, tuple) else (expect,)):
            raise TestFailure(f"FHIR {method} {path}: {status} {data[:500]!r}")
        return status, json.loads(data) if data else None

    def get(self, path):
        return self.request("GET", path, expect=200)[1]

    def put(self, resource):
        return self.request("PUT", f"{resource['resourceType']}/{resource['id']}", resource, expect=(200, 201))[1]

    def search(self, query):
        """All resources of a search (follows `next` links)."""
        out, path = [], query + ("&" if "?" in query else "?") + "_count=1000"
        bundle = self.get(path)
        while True:
            out.extend(e["resource"] for e in bundle.get("entry", []) if "resource" in e)
            nxt = [link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"]
            if not nxt:
                return out
            status, _, data = http_call(nxt[0], "GET", None, self._headers())
            check_eq(status, 200, f"GET {nxt[0]}")
            bundle = json.loads(data)

    def history(self, resource_type, rid):
        return [e["resource"] for e in self.get(f"{resource_type}/{rid}/_history").get("entry", [])]

    def reset(self):
        self.request("POST", "$reset", expect=200)

    def faults(self, spec):
        status, _, data = http_call(f"{self.origin}/admin/faults", "POST", spec, {"Content-Type": "application/json"})
        check_eq(status, 200, f"POST /admin/faults {data[:300]!r}")

    def stats(self):
        status, _, data = http_call(f"{self.origin}/admin/stats")
        check_eq(status, 200, "GET /admin/stats")
        return json.loads(data)


# ---- OAuth2 token server -----------------------------------------------------------------------

class OAuthServer(ScriptPeer):
    def __init__(self, client_id, secret, audience="urn:iomtflow:fhir"):
        self.port = free_port()
        self.client_id, self.secret, self.audience = client_id, secret, audience
        self._start("iomt-it-oauth-", os.path.join("oauth", "start-oauth-server.sh"),
                    ["--port", str(self.port), "--client-id", client_id, "--client-secret-env", "IOMT_IT_OAUTH_SECRET",
                     "--audience", audience], dict(os.environ, IOMT_IT_OAUTH_SECRET=secret), timeout=180)
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.token_url = f"{self.issuer}/token"

    def token(self):
        body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": self.client_id,
                                       "client_secret": self.secret})
        status, _, data = http_call(self.token_url, "POST", body, {"Content-Type": "application/x-www-form-urlencoded"})
        check_eq(status, 200, f"token request {data[:300]!r}")
        return json.loads(data)["access_token"]

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "server.log"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""


# ---- iomtflow ----------------------------------------------------------------------------------

def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v))  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(obj, indent=0):
    pad = "  " * indent
    lines = []
    for k, v in obj.items():
        if isinstance(v, dict):
            lines.append(f"{pad}{k}:")
            lines.append(to_yaml(v, indent + 1))
        elif isinstance(v, list):
            if all(not isinstance(x, dict) for x in v):
                lines.append(f"{pad}{k}: [{', '.join(yaml_scalar(x) for x in v)}]")
            else:
                lines.append(f"{pad}{k}:")
                for item in v:
                    first = True
                    for ik, iv in item.items():
                        lines.append(f"{pad}  {'- ' if first else '  '}{ik}: {yaml_scalar(iv)}")
                        first = False
        else:
            lines.append(f"{pad}{k}: {yaml_scalar(v)}")
    return "\n".join(lines)


def merge(base, over):
    out = dict(base)
    for k, v in (over or {}).items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class Iomtflow:
    """`iomtflow run` with a generated config. `config` is merged over the defaults below;
    `env` adds environment variables (secrets)."""

    def __init__(self, fhir_url, device_mapping, fhir_mapping, identity="Create", config=None, env=None,
                 wait_ready=True, ready_timeout=30, preexec_fn=None, health_base=None):
        self.binary = os.environ.get("IOMTFLOW") or os.path.join(SOURCE_DIR, "build", "release", "pipeline", "iomtflow")
        check(os.access(self.binary, os.X_OK), f"iomtflow binary not found at {self.binary} (set IOMTFLOW)")
        self.dir = tempfile.mkdtemp(prefix="iomt-it-run-")
        self.port = free_port()
        self.sas_key = base64.b64encode(os.urandom(32)).decode()
        cfg = {
            "source": {"http": {"listen": "127.0.0.1", "port": self.port, "hubs": [HUB], "auth": "sas",
                                "keys": [{"name": SAS_KEY_NAME, "key_env": "IOMT_IT_SAS_KEY"}]}},
            "mapping": {"device": device_mapping, "fhir": fhir_mapping},
            "pipeline": {"shards": 2, "flush_interval": "200ms"},
            "fhir": {"url": fhir_url, "identity": identity, "timeout": "10s",
                     "retry": {"max_attempts": 10, "base_delay": "100ms", "max_delay": "2s"}},
            "log": {"level": "info"},
            "buffer": {"enabled": False, "dir": os.path.join(self.dir, "buffer")},
            "deadletter": {"dir": os.path.join(self.dir, "deadletter")},
        }
        cfg = merge(cfg, config)
        self.config_path = os.path.join(self.dir, "iomtflow.yaml")
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(to_yaml(cfg) + "\n")
        self.log_path = os.path.join(self.dir, "iomtflow.log")
        self.base = f"http://127.0.0.1:{self.port}"
        # /healthz, /readyz, /metrics: on the ingest port unless an admin port is configured.
        self.health_base = health_base or self.base
        run_env = dict(os.environ, IOMT_IT_SAS_KEY=self.sas_key, **(env or {}))
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.binary, "run", "--config", self.config_path], stdout=self._log,
                                     stderr=subprocess.STDOUT, env=run_env, preexec_fn=preexec_fn)
        self.returncode = None
        if wait_ready:
            self.wait_ready(ready_timeout)

    # -- lifecycle
    def wait_listening(self, timeout=20):
        def up():
            if self.proc.poll() is not None:
                raise TestFailure(f"iomtflow exited with {self.proc.returncode} during start-up:\n{self.log_tail()}")
            try:
                return http_call(self.health_base + "/healthz", timeout=2)[0] == 200
            except OSError:
                return False
        wait_until(up, timeout, "iomtflow to listen")

    def wait_ready(self, timeout=30):
        self.wait_listening(timeout)

        def ready():
            if self.proc.poll() is not None:
                raise TestFailure(f"iomtflow exited with {self.proc.returncode}:\n{self.log_tail()}")
            return self.get("/readyz")[0] == 200
        try:
            wait_until(ready, timeout, "GET /readyz to answer 200")
        except TestFailure as e:
            raise TestFailure(f"{e}; /readyz says {self.get('/readyz')[1]!r}\n{self.log_tail()}") from None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signals the process and waits; returns its exit status."""
        if self.returncode is None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            try:
                self.returncode = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise TestFailure(f"iomtflow did not exit within {timeout} s of signal {sig}:\n{self.log_tail()}")
            self._log.close()
        return self.returncode

    def close(self):
        try:
            if self.returncode is None:
                self.stop(timeout=15)
        except TestFailure:
            pass
        finally:
            if not self._log.closed:
                self._log.close()
            if os.environ.get("IOMT_IT_KEEP") != "1":
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            print(f"--- iomtflow log tail ({self.log_path})\n{self.log_tail(40)}", flush=True)
        self.close()

    def log_text(self):
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def log_tail(self, n=30):
        return "".join(self.log_text().splitlines(keepends=True)[-n:])

    def log_records(self):
        out = []
        for line in self.log_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    # -- HTTP
    def get(self, path):
        status, _, data = http_call(self.health_base + path, timeout=10)
        return status, data.decode("utf-8", errors="replace")

    def token(self, hub=HUB):
        return sas_token(f"{self.base}/{hub}", SAS_KEY_NAME, self.sas_key)

    def post(self, body, hub=HUB, headers=None, timeout=60):
        h = {"Content-Type": "application/json", "Authorization": self.token(hub)}
        h.update(headers or {})
        status, hdrs, data = http_call(f"{self.base}/{hub}/messages", "POST", body, h, timeout=timeout)
        return status, hdrs, data.decode("utf-8", errors="replace")

    def send(self, body, **kw):
        """POST one event; it must be answered 201."""
        status, _, text = self.post(body, **kw)
        if status != 201:
            raise TestFailure(f"POST /{HUB}/messages answered {status}: {text}\n{self.log_tail()}")

    def metrics(self):
        status, text = self.get("/metrics")
        check_eq(status, 200, "GET /metrics")
        return parse_metrics(text), text


def parse_metrics(text):
    """Prometheus text -> {(name, frozenset(labels.items())): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)', line)
        if not m:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


def metric(values, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in values.items() if n == name and want <= set(ls))


# ---- raw processes and peers (the amqp, fault/amqp_throttle and scale suites, bench/scale) ----

def read_env_sh(path):
    """The variables of a service folder's env.sh (its `export K=V ...` lines, scripts/peers)."""
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("export "):
                for word in line[7:].split():
                    if "=" in word:
                        k, v = word.split("=", 1)
                        env[k] = v.strip("'\"")
    return env


def request(method, url, body=None, timeout=60, headers=None):
    """http_call -> (status, body bytes); a body goes as application/fhir+json unless `headers` say."""
    h = dict(headers or {})
    if body is not None:
        h.setdefault("Content-Type", "application/fhir+json")
    status, _, data = http_call(url, method, body, h, timeout)
    return status, data


def observation_count(fhir_url, code=None):
    """Observations on the FHIR server (of one LOINC code), by a _summary=count search."""
    query = "_summary=count" + ("&code=" + urllib.parse.quote(f"http://loinc.org|{code}", safe="") if code else "")
    status, body = request("GET", f"{fhir_url}/Observation?{query}")
    check_eq(status, 200, "GET /Observation?_summary=count")
    return json.loads(body).get("total", 0)


def terminate(proc, timeout=60):
    """SIGTERM and wait; SIGKILL when it has not exited within `timeout` s. Its exit status, -9 when killed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return -9
    return proc.returncode


class Services:
    """Peers started by their scripts/peers scripts, each in a folder of `work` (kept: logs);
    stop() (or the end of a with block) stops every one, also one whose start failed half-way."""

    def __init__(self, work):
        self.work, self.dirs = work, []

    def start(self, name, script, *args):
        """PEERS/SCRIPT ARGS --dir WORK/NAME -> the variables of its env.sh."""
        d = os.path.join(self.work, name)
        self.dirs.append(d)
        subprocess.run([os.path.join(PEERS, script), *args, "--dir", d], check=True, stdout=subprocess.DEVNULL)
        return read_env_sh(os.path.join(d, "env.sh"))

    def fhir_server(self, port=None):
        """The in-memory FHIR server with structural validation off (the single-threaded server is the
        bottleneck, docs/benchmarks.md) on `port` or a free one -> its FHIR_URL."""
        env = self.start("fhir", "start-fhir-server.sh", "--port", str(port or free_port()), "--no-validate")
        return env["FHIR_URL"]

    def amqp_broker(self, port):
        """AMQP_URL, AMQP_CA, AMQP_USER, AMQP_PASS: the broker scripts/test started, else our own on `port`."""
        if os.environ.get("AMQP_URL"):
            return {k: os.environ[k] for k in ("AMQP_URL", "AMQP_CA", "AMQP_USER", "AMQP_PASS")}
        return self.start("broker", "start-amqp-broker.sh", "--port", str(port))

    def stop(self):
        if self.dirs:
            stop_services(self.dirs)
            self.dirs = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class IomtflowProcess:
    """`iomtflow run` with a config the caller wrote as YAML text (Iomtflow above builds its config
    from defaults); ingest, /healthz and /metrics on `port`, output in `logfile`."""

    def __init__(self, binary, work, name, port, config, env=None):
        self.name, self.port, self.base = name, port, f"http://127.0.0.1:{port}"
        self.config = os.path.join(work, f"{name}.yaml")
        self.logfile = os.path.join(work, f"{name}.log")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(config)
        self.out = open(self.logfile, "w")
        self.proc = subprocess.Popen([binary, "run", "--config", self.config], stdout=self.out,
                                     stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))

    def alive(self):
        return self.proc.poll() is None

    def metrics(self):
        """/metrics parsed (parse_metrics), or None when it does not answer (yet)."""
        try:
            status, text = request("GET", self.base + "/metrics", timeout=5)
        except OSError:
            return None
        return parse_metrics(text.decode()) if status == 200 else None

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=30)
        self.out.close()

    def terminate(self, timeout=60):
        """SIGTERM (SIGKILL after `timeout` s); the exit status, -9 when it had to be killed."""
        rc = terminate(self.proc, timeout)
        self.out.close()
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.terminate()


def unaccepted_deliveries(values):
    """Deliveries iomtflow settled other than accepted (released, modified, rejected) in parsed
    /metrics, as a sentence, or None: an event waiting for the FHIR server stays unsettled."""
    counts = {kind: metric(values, "iomtflow_amqp_settled_total", outcome=kind)
              for kind in ("released", "modified", "rejected")}
    bad = [f"{n:.0f} {kind}" for kind, n in counts.items() if n]
    return f"deliveries settled other than accepted: {', '.join(bad)}" if bad else None


class AmqpQueue:
    """A queue of the broker (`amqp`: Services.amqp_broker()), filled and drained with bench/amqp's
    `amqp` tool (IOMT_AMQP_TOOL), and `iomtflow run` reading it."""

    def __init__(self, tool, amqp, name):
        self.tool, self.amqp, self.name = tool, amqp, name
        self.args = ["--url", amqp["AMQP_URL"], "--ca", amqp["AMQP_CA"], "--user", amqp["AMQP_USER"],
                     "--password", amqp["AMQP_PASS"], "--queue", name]

    def send(self, count, devices):
        """`count` Quantity messages (bench/e2e/quantity-*.json), one per device and second."""
        subprocess.run([self.tool, "send", *self.args, "--count", str(count), "--devices", str(devices)], check=True)

    def stop(self, flow):
        """SIGTERM `flow` (reading this queue), then what is wrong, or None: its exit status, a message
        left in the queue."""
        rc = flow.terminate(timeout=40)
        if rc != 0:
            return f"iomtflow exited with {rc} after SIGTERM; see {flow.logfile}"
        r = subprocess.run([self.tool, "drain", *self.args, "--count", "1"], capture_output=True, text=True)
        if "drain (bare Proton receiver): 1 messages" in r.stderr:
            return "the queue still holds messages after every delivery was accepted"
        return None

    def run_iomtflow(self, binary, work, fhir, flush, **amqp):
        """`iomtflow run` with this queue as source.amqp (plus the settings `amqp`), the bench/e2e
        Quantity mappings, `fhir` (the fhir: section as YAML flow text), no buffer; ingest without
        auth on a free port (its /metrics). Stopped at the end of a with block, or by stop()."""
        port = free_port()
        extra = "".join(f"\n    {k}: {v}" for k, v in amqp.items())
        config = f"""source:
  http: {{listen: 127.0.0.1, port: {port}, auth: none}}
  amqp:
    url: {self.amqp["AMQP_URL"]}
    addresses: [/amq/queue/{self.name}]
    user: {self.amqp["AMQP_USER"]}
    password_env: IOMT_IT_AMQP_PASSWORD
    ca_file: {self.amqp["AMQP_CA"]}
    tls_server_name: localhost{extra}
mapping:
  device: {SOURCE_DIR}/bench/e2e/quantity-device.json
  fhir: {SOURCE_DIR}/bench/e2e/quantity-fhir.json
pipeline: {{shards: 2, flush_interval: {flush}}}
fhir: {fhir}
log: {{level: warn}}
buffer: {{enabled: false}}
deadletter: {{dir: '{work}/deadletter'}}
"""
        env = {"IOMT_IT_AMQP_PASSWORD": self.amqp["AMQP_PASS"]}
        return IomtflowProcess(binary, work, "iomtflow", port, config, env)


# ---- runner ------------------------------------------------------------------------------------

def run(scenarios, *args):
    """Runs scenario functions (each called with `args`); `argv[1:]` picks some by name."""
    picked = sys.argv[1:] or [s.__name__ for s in scenarios]
    by_name = {s.__name__: s for s in scenarios}
    unknown = [p for p in picked if p not in by_name]
    if unknown:
        print(f"unknown scenario(s): {unknown}; known: {sorted(by_name)}")
        return 2
    passed = failed = 0
    for name in picked:
        t0 = time.monotonic()
        print(f"[ RUN  ] {name}", flush=True)
        try:
            by_name[name](*args)
        except Exception as e:  # noqa: BLE001 - report every failure, go on with the next scenario
            failed += 1
            if not isinstance(e, TestFailure):
                traceback.print_exc()
            print(f"[ FAIL ] {name} ({time.monotonic() - t0:.1f} s): {e}", flush=True)
        else:
            passed += 1
            print(f"[  OK  ] {name} ({time.monotonic() - t0:.1f} s)", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


def concurrently(fns):
    """Runs callables on threads; returns their results in order (re-raises the first error)."""
    results, errors = [None] * len(fns), [None] * len(fns)

    def call(i):
        try:
            results[i] = fns[i]()
        except BaseException as e:  # noqa: BLE001
            errors[i] = e
    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors:
        if e is not None:
            raise e
    return results

#!/usr/bin/env python3
"""Security of `iomtflow run` (issue 15), against the real service and real peers it starts itself
(the in-memory FHIR server, the OAuth2 token server; certificates made with the openssl CLI):

- tls:          TLS 1.2+ on the ingest port, plain HTTP and TLS 1.1 refused, the certificate reloaded
                when its files change;
- mtls:         client certificates from the configured CA accepted, none or an unknown one refused;
- limits:       slow-header and silent clients, slow-body clients, connections beyond the cap (under a
                256-descriptor limit), oversized heads; a legitimate POST keeps being answered;
- sas:          token lifetime, sr host and scheme, exact route ids, one generic answer for unknown key
                names and wrong keys, failed authentications logged with the peer (rate-limited);
- admin:        /metrics, /healthz, /readyz on the admin port only; /readyz names no endpoint; an
                http:// token URL refused unless allowed; the designer needs a password off loopback;
- designer:     own listener and thread, bounds on body, measurements and answer; an amplifying mapping
                and clients that never read leave the RSS bounded; ingest answers meanwhile;
- secrets:      one run with SAS keys and an OAuth2 client secret; no secret in any output.

Every observed answer is printed ("observed: ..."), for the issue's closing note.
Environment: IOMTFLOW, IOMT_SOURCE_DIR, IOMT_SHARED_DIR (as the pipeline integration tests)."""

import base64
import hashlib
import hmac
import http.client
import json
import os
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pipeline"))

from harness import (HUB, SAS_KEY_NAME, FhirServer, Iomtflow, OAuthServer, TestFailure, check, check_eq,  # noqa: E402
                     free_port, http_call, metric, run, wait_until, workshop_mappings, workshop_messages)


def observed(what):
    print(f"  observed: {what}", flush=True)


def make_token(resource_uri, key, key_name=SAS_KEY_NAME, se=None, ttl=3600):
    sr = urllib.parse.quote(resource_uri, safe="")
    se = str(se if se is not None else int(time.time()) + ttl)
    sig = base64.b64encode(hmac.new(key.encode(), f"{sr}\n{se}".encode(), hashlib.sha256).digest()).decode()
    return f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote(sig, safe='')}&se={se}&skn={key_name}"


def rss_kib(pid):
    """(VmRSS, VmHWM) of a process in KiB."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out["VmRSS"], out["VmHWM"]


def raw_post(port, path, body, headers, tls_context=None, timeout=20):
    """One POST on a fresh (optionally TLS) connection -> (status, body text, seconds)."""
    t0 = time.monotonic()
    if tls_context:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=tls_context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body=body.encode() if isinstance(body, str) else body, headers=headers)
        res = conn.getresponse()
        return res.status, res.read().decode("utf-8", errors="replace"), time.monotonic() - t0
    finally:
        conn.close()


class Certificates:
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate from the CA and one
    from nowhere (self-signed), all made with the openssl CLI."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="iomt-sec-certs-")
        d = self.dir
        self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                     "-subj", "/CN=iomtflow test CA", "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt")
        self.issue("server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
        self.issue("client", "/CN=device-01", "extendedKeyUsage=clientAuth")
        self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                     "-subj", "/CN=stranger", "-keyout", f"{d}/stranger.key", "-out", f"{d}/stranger.crt")

    def openssl(self, *args):
        r = subprocess.run(["openssl", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if r.returncode != 0:
            raise TestFailure(f"openssl {' '.join(args[:3])} failed: {r.stderr}")
        return r.stdout

    def issue(self, name, subject, extensions, serial=None):
        d = self.dir
        with open(f"{d}/{name}.ext", "w", encoding="ascii") as f:
            f.write(extensions + "\n")
        self.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", subject,
                     "-keyout", f"{d}/{name}.key.new", "-out", f"{d}/{name}.csr")
        self.openssl("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key",
                     "-set_serial", str(serial or int.from_bytes(os.urandom(8), "big")), "-days", "2",
                     "-extfile", f"{d}/{name}.ext", "-out", f"{d}/{name}.crt.new")
        # As a Secret volume rotates: both files replaced (rename is atomic).
        os.replace(f"{d}/{name}.key.new", f"{d}/{name}.key")
        os.replace(f"{d}/{name}.crt.new", f"{d}/{name}.crt")

    def path(self, name):
        return os.path.join(self.dir, name)

    def client_context(self, cert=None, **kw):
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        if cert:
            ctx.load_cert_chain(self.path(f"{cert}.crt"), self.path(f"{cert}.key"))
        for k, v in kw.items():
            setattr(ctx, k, v)
        return ctx

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def serial_of_server(port, certs):
    ctx = certs.client_context()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            der = s.getpeercert(binary_form=True)
            return s.version(), hashlib.sha256(der).hexdigest()[:16]


def admin_flow(fhir, config=None, env=None, wait_ready=True, **kw):
    """iomtflow with an admin port (so health checks do not depend on the ingest port's TLS)."""
    admin_port = free_port()
    device, mapping = workshop_mappings()
    cfg = {"admin": {"listen": "127.0.0.1", "port": admin_port}}
    for k, v in (config or {}).items():
        cfg[k] = v
    return Iomtflow(fhir.url, device, mapping, config=cfg, env=env, wait_ready=wait_ready,
                    health_base=f"http://127.0.0.1:{admin_port}", **kw)


# ---- TLS --------------------------------------------------------------------------------------

def tls(ctx):
    fhir, certs = ctx
    tls_cfg = {"cert_file": certs.path("server.crt"), "key_file": certs.path("server.key")}
    with admin_flow(fhir, {"source": {"http": {"tls": tls_cfg}}}) as flow:
        text = workshop_messages()[2][1]
        token = make_token(f"https://127.0.0.1:{flow.port}/{HUB}", flow.sas_key)
        status, body, secs = raw_post(flow.port, f"/{HUB}/messages", text,
                                      {"Content-Type": "application/json", "Authorization": token},
                                      tls_context=certs.client_context())
        check_eq(status, 201, f"POST over TLS ({body})")
        version, fp = serial_of_server(flow.port, certs)
        check(version in ("TLSv1.2", "TLSv1.3"), f"negotiated {version}")
        observed(f"HTTPS POST with a verified server certificate: {status} in {secs * 1000:.0f} ms, {version}")

        # TLS 1.1 at most: refused (by the server's minimum; the client library may refuse first).
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
        try:
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
            old.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            pass
        try:
            with socket.create_connection(("127.0.0.1", flow.port), timeout=10) as raw:
                with old.wrap_socket(raw) as s:
                    raise TestFailure(f"a TLS 1.1 client was accepted ({s.version()})")
        except (ssl.SSLError, ConnectionError) as e:
            observed(f"TLS 1.1 client: refused ({type(e).__name__}: {str(e)[:90]})")

        # Plain HTTP on the TLS port: no HTTP answer, a log line.
        with socket.create_connection(("127.0.0.1", flow.port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = s.recv(100)
            check(not data.startswith(b"HTTP/"), f"plain HTTP was answered on the TLS port: {data!r}")
        line = wait_until(lambda: next((r for r in flow.log_records() if r.get("msg") == "TLS handshake failed"), None),
                          10, "a 'TLS handshake failed' log line")
        observed(f"plain HTTP to the TLS port: connection closed without an answer; log {json.dumps(line)}")

        # Rotation: new files (as cert-manager renews), picked up by the next connection.
        certs.issue("server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
        time.sleep(1.2)  # the files are checked at most once a second, on new connections
        _, fp2 = wait_until(lambda: (lambda r: r if r[1] != fp else None)(serial_of_server(flow.port, certs)), 10,
                            "the renewed certificate to be served")
        reload_line = next((r for r in flow.log_records() if r.get("msg") == "TLS certificate reloaded"), None)
        check(reload_line is not None, f"no 'TLS certificate reloaded' log line:\n{flow.log_tail()}")
        status, body, _ = raw_post(flow.port, f"/{HUB}/messages", text,
                                   {"Content-Type": "application/json", "Authorization": token},
                                   tls_context=certs.client_context())
        check_eq(status, 201, f"POST after the rotation ({body})")
        observed(f"certificate rotated: fingerprint {fp} -> {fp2}, log {json.dumps(reload_line)}, POST {status}")

        # A broken rotation (key of another certificate) keeps the previous certificate.
        shutil.copy(certs.path("stranger.key"), certs.path("server.key"))
        time.sleep(1.2)
        _, fp3 = serial_of_server(flow.port, certs)
        check_eq(fp3, fp2, "certificate after a broken rotation")
        failed = wait_until(lambda: next((r for r in flow.log_records()
                                          if "reload failed" in r.get("msg", "")), None), 10, "a reload failure line")
        observed(f"broken rotation: previous certificate kept; log {json.dumps(failed)[:300]}")
        check_eq(flow.stop(), 0, "exit status")
    certs.issue("server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth")


def mtls(ctx):
    fhir, certs = ctx
    tls_cfg = {"cert_file": certs.path("server.crt"), "key_file": certs.path("server.key"),
               "client_ca_file": certs.path("ca.crt")}
    with admin_flow(fhir, {"source": {"http": {"tls": tls_cfg}}}) as flow:
        text = workshop_messages()[2][1]
        token = make_token(f"https://127.0.0.1:{flow.port}/{HUB}", flow.sas_key)
        headers = {"Content-Type": "application/json", "Authorization": token}
        status, body, _ = raw_post(flow.port, f"/{HUB}/messages", text, headers,
                                   tls_context=certs.client_context("client"))
        check_eq(status, 201, f"POST with a client certificate from the CA ({body})")
        observed(f"mTLS, client certificate issued by the configured CA: {status}")
        for who, cert in (("no client certificate", None), ("a self-signed client certificate", "stranger")):
            try:
                status, body, _ = raw_post(flow.port, f"/{HUB}/messages", text, headers,
                                           tls_context=certs.client_context(cert))
                raise TestFailure(f"mTLS with {who}: answered {status} {body}")
            except (ssl.SSLError, ConnectionError, http.client.RemoteDisconnected) as e:
                observed(f"mTLS with {who}: refused ({type(e).__name__}: {str(e)[:100]})")
        line = wait_until(lambda: [r for r in flow.log_records() if r.get("msg") == "TLS handshake failed"], 10,
                          "'TLS handshake failed' log lines")
        observed(f"log: {json.dumps(line[0])[:300]}")
        check_eq(flow.stop(), 0, "exit status")


# ---- limits -----------------------------------------------------------------------------------

class Legit:
    """A legitimate sender posting every `interval` s on fresh connections, recording answers."""

    def __init__(self, flow, interval=0.25):
        self.flow, self.interval, self.results, self.stop_flag = flow, interval, [], threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        text = workshop_messages()[2][1]
        while not self.stop_flag.is_set():
            try:
                status, body, secs = raw_post(self.flow.port, f"/{HUB}/messages", text,
                                              {"Content-Type": "application/json", "Authorization": self.flow.token()},
                                              timeout=30)
            except OSError as e:
                status, body, secs = 0, str(e), 30.0
            self.results.append((status, secs, body[:120]))
            time.sleep(self.interval)

    def stop(self):
        self.stop_flag.set()
        self.thread.join(60)
        return self.results


def limits(ctx):
    fhir, _ = ctx
    cfg = {"source": {"http": {"first_byte_timeout": "2s", "header_timeout": "2s", "body_timeout": "3s",
                               "idle_timeout": "5s"}}}
    # 256 file descriptors: the connection cap follows (256 - 128 reserved = 128).
    limit_fds = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))  # noqa: E731
    with admin_flow(fhir, cfg, preexec_fn=limit_fds) as flow:
        started = next(r for r in flow.log_records() if r.get("msg") == "iomtflow started")
        observed(f"start-up under a 256-descriptor limit: max_connections {started.get('max_connections')}")
        check_eq(started.get("max_connections"), "128", "connection cap under 256 descriptors")
        legit = Legit(flow)
        socks, slow = [], []
        try:
            # 300 silent connections and 100 slow-header ones (a byte every 0.5 s).
            for _ in range(300):
                try:
                    socks.append(socket.create_connection(("127.0.0.1", flow.port), timeout=5))
                except OSError:
                    break
            for _ in range(100):
                try:
                    s = socket.create_connection(("127.0.0.1", flow.port), timeout=5)
                    s.sendall(b"POST /devicedata/messages HTTP/1.1\r\nHost: x\r\n")
                    slow.append(s)
                except OSError:
                    break
            t_end = time.monotonic() + 6
            while time.monotonic() < t_end:
                for s in slow:
                    try:
                        s.send(b"X")
                    except OSError:
                        pass
                time.sleep(0.5)
            # Every abusive connection is closed by now (evicted, or cut at its timeout).
            still_open = 0
            for s in socks + slow:
                s.setblocking(False)
                try:
                    data = s.recv(4096)
                    still_open += 0 if data == b"" or data.startswith(b"HTTP/1.1 503") else 1
                except BlockingIOError:
                    still_open += 1
                except OSError:
                    pass
            observed(f"{len(socks)} silent + {len(slow)} slow-header connections: {still_open} still open after 6 s")
            check(still_open <= 128, f"{still_open} abusive connections still open")
        finally:
            results = legit.stop()
            for s in socks + slow:
                s.close()
        ok = [r for r in results if r[0] == 201]
        worst = max(r[1] for r in results)
        observed(f"legitimate POSTs during the attack: {len(ok)}/{len(results)} answered 201, slowest "
                 f"{worst * 1000:.0f} ms; other answers {[r for r in results if r[0] != 201][:3]}")
        check(len(results) >= 10 and len(ok) == len(results), "a legitimate POST was not answered 201")
        check(worst < 10, f"a legitimate POST took {worst:.1f} s")
        lines = [r for r in flow.log_records() if "connection limit" in r.get("msg", "")]
        check(lines, f"no log line about the connection limit:\n{flow.log_tail()}")
        observed(f"log: {json.dumps(lines[0])}; {len(lines)} such lines (rate-limited) for "
                 f"{len(socks) + len(slow)} connections")

        # Slow body: authenticated, Content-Length 1000, one byte every 0.5 s -> cut at body_timeout.
        with socket.create_connection(("127.0.0.1", flow.port), timeout=10) as s:
            s.sendall((f"POST /{HUB}/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       f"Authorization: {flow.token()}\r\nContent-Length: 1000\r\n\r\n{{").encode())
            t0 = time.monotonic()
            closed_after = None
            while time.monotonic() - t0 < 15:
                try:
                    s.send(b" ")
                    s.settimeout(0.5)
                    if s.recv(100) == b"":
                        closed_after = time.monotonic() - t0
                        break
                except socket.timeout:
                    continue
                except OSError:
                    closed_after = time.monotonic() - t0
                    break
            check(closed_after is not None and closed_after < 10, f"slow body not cut ({closed_after})")
            observed(f"slow-body client (1 byte / 0.5 s, body_timeout 3s): closed after {closed_after:.1f} s")

        # Every connection busy with a request (authenticated slow bodies up to the cap): the next
        # one is refused with a clear 503.
        time.sleep(1)
        busy = []
        try:
            for _ in range(128):
                s = socket.create_connection(("127.0.0.1", flow.port), timeout=5)
                s.sendall((f"POST /{HUB}/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           f"Authorization: {flow.token()}\r\nContent-Length: 1000\r\n\r\n{{").encode())
                busy.append(s)
            time.sleep(0.5)
            with socket.create_connection(("127.0.0.1", flow.port), timeout=10) as s:
                answer = s.recv(4096).decode("utf-8", errors="replace")
            first = answer.partition("\r\n")[0]
            text_part = answer.partition("\r\n\r\n")[2].strip()
            observed(f"connection beyond the cap while all {len(busy)} serve requests: {first!r} {text_part!r}")
            check(first.startswith("HTTP/1.1 503"), f"answer beyond the cap: {answer!r}")
        finally:
            for s in busy:
                s.close()
        time.sleep(0.5)
        status, _, _ = raw_post(flow.port, f"/{HUB}/messages", workshop_messages()[2][1],
                                {"Content-Type": "application/json", "Authorization": flow.token()})
        check_eq(status, 201, "POST once the busy connections are gone")

        # Oversized head.
        status, body, _ = raw_post(flow.port, f"/{HUB}/messages", "{}",
                                   {"Content-Type": "application/json", "Authorization": flow.token(),
                                    "X-Big": "a" * 20000})
        check_eq(status, 431, f"20 KB header ({body})")
        observed(f"20 KB request head: {status} {json.loads(body)['message']!r}")
        values, _ = flow.metrics()
        evicted = metric(values, "iomtflow_http_connections_limited_total", action="evicted")
        refused = metric(values, "iomtflow_http_connections_limited_total", action="refused")
        check(evicted >= 1 and refused >= 1, f"limit counters evicted={evicted} refused={refused}")
        observed(f"/metrics: iomtflow_http_connection_limit {metric(values, 'iomtflow_http_connection_limit'):.0f}, "
                 f"connections_limited_total evicted {evicted:.0f}, refused {refused:.0f}")
        check_eq(flow.stop(), 0, "exit status")


# ---- SAS --------------------------------------------------------------------------------------

def sas(ctx):
    fhir, _ = ctx
    cfg = {"source": {"http": {"hosts": ["127.0.0.1"], "max_token_lifetime": "1h"}}}
    with admin_flow(fhir, cfg) as flow:
        text = workshop_messages()[2][1]
        base, key = f"http://127.0.0.1:{flow.port}", flow.sas_key

        def post(path, token):
            return raw_post(flow.port, path, text, {"Content-Type": "application/json", "Authorization": token})

        cases = [
            ("se=253402300799", f"/{HUB}/messages", make_token(f"{base}/{HUB}", key, se=253402300799), 401),
            ("se=9223372036854775807", f"/{HUB}/messages", make_token(f"{base}/{HUB}", key, se=9223372036854775807), 401),
            ("lifetime 2 h (max 1h)", f"/{HUB}/messages", make_token(f"{base}/{HUB}", key, ttl=7200), 401),
            ("sr=https://evil.example.com/devicedata", f"/{HUB}/messages",
             make_token(f"https://evil.example.com/{HUB}", key), 401),
            ("sr=x", f"/{HUB}/messages", make_token("x", key), 401),
            ("sr=/", f"/{HUB}/messages", make_token("/", key), 401),
            ("sr=ftp://127.0.0.1/devicedata", f"/{HUB}/messages", make_token(f"ftp://127.0.0.1/{HUB}", key), 401),
            ("publisher x token on publishers/x%2F..%2Fadmin", f"/{HUB}/publishers/x%2F..%2Fadmin/messages",
             make_token(f"{base}/{HUB}/publishers/x", key), 400),
            ("publisher x token on publishers/X", f"/{HUB}/publishers/X/messages",
             make_token(f"{base}/{HUB}/publishers/x", key), 401),
            ("publisher x token on publishers/x", f"/{HUB}/publishers/x/messages",
             make_token(f"{base}/{HUB}/publishers/x", key), 201),
            ("hub token, host 127.0.0.1 (accepted), scheme sb", f"/{HUB}/messages",
             make_token(f"sb://127.0.0.1/{HUB}", key), 201),
            ("lifetime 30 min", f"/{HUB}/messages", make_token(f"{base}/{HUB}", key, ttl=1800), 201),
        ]
        for what, path, token, want in cases:
            status, body, _ = post(path, token)
            message = json.loads(body)["message"] if body.strip() else ""
            observed(f"{what}: {status} {message!r}")
            check_eq(status, want, what)

        unknown_name = post(f"/{HUB}/messages", make_token(f"{base}/{HUB}", key, key_name="nobody"))
        wrong_key = post(f"/{HUB}/messages", make_token(f"{base}/{HUB}", "wrong-key"))
        check_eq((unknown_name[0], wrong_key[0]), (401, 401), "unknown key name / wrong key")
        check_eq(unknown_name[1], wrong_key[1], "answers for an unknown key name and a wrong key")
        observed(f"unknown key name and wrong key: both 401 {unknown_name[1].strip()}")

        before = len([r for r in flow.log_records() if r.get("msg") == "ingest authentication failed"])
        for _ in range(300):
            post(f"/{HUB}/messages", make_token(f"{base}/{HUB}", "wrong-key"))
        lines = [r for r in flow.log_records() if r.get("msg") == "ingest authentication failed"]
        fresh = lines[before:]
        check(fresh and fresh[0].get("peer", "").startswith("127.0.0.1:"), f"no peer in {fresh[:1]}")
        check(len(fresh) <= 25, f"{len(fresh)} log lines for 300 failures: not rate-limited")
        observed(f"300 wrong-key POSTs: {len(fresh)} log lines (burst of log.error_burst, shared with the cases "
                 f"above); first {json.dumps(fresh[0])}")
        check_eq(flow.stop(), 0, "exit status")


# ---- admin port, /readyz, token URL, designer listener --------------------------------------

def admin(ctx):
    fhir, _ = ctx
    device, mapping = workshop_mappings()
    admin_port = free_port()
    # The FHIR server at a closed port: not ready, and /readyz must not say where it is.
    with Iomtflow("http://127.0.0.1:9/fhir", device, mapping, wait_ready=False,
                  config={"admin": {"listen": "127.0.0.1", "port": admin_port},
                          "fhir": {"connect_timeout": "500ms", "timeout": "1s"}},
                  health_base=f"http://127.0.0.1:{admin_port}") as flow:
        flow.wait_listening()
        detail = wait_until(lambda: [r for r in flow.log_records() if r.get("msg") == "FHIR server not ready"
                                     and r.get("error")], 20, "a 'FHIR server not ready' log line")
        status, text = flow.get("/readyz")
        observed(f"/readyz with the FHIR server down: {status} {text.strip()!r}")
        check_eq(status, 503, "/readyz with the FHIR server down")
        check(len(text.strip()) > len("FHIR server not ready:"), f"/readyz does not say why: {text!r}")
        check("127.0.0.1" not in text and ":9/" not in text and "http://" not in text,
              f"/readyz names an endpoint: {text!r}")
        observed(f"the log keeps the detail: {json.dumps(detail[0])[:300]}")
        status, _, _ = http_call(f"http://127.0.0.1:{flow.port}/metrics")
        check_eq(status, 404, "/metrics on the ingest port")
        status, _, _ = http_call(f"http://127.0.0.1:{admin_port}/metrics")
        check_eq(status, 200, "/metrics on the admin port")
        observed("/metrics: 404 on the ingest port, 200 on the admin port")
        check_eq(flow.stop(), 0, "exit status")

    def refused(config, env, want):
        with Iomtflow(fhir.url, device, mapping, config=config, env=env, wait_ready=False) as flow:
            code = flow.proc.wait(20)
            text = flow.log_text()
            check(code == 2 and want in text, f"expected exit 2 with {want!r}, got {code}: {text[-400:]}")
            check("s3cret-not-printed" not in text, "the client secret was printed")
            observed(f"exit {code}: {text.strip().splitlines()[-1]}")
            flow.returncode = code
    refused({"fhir": {"auth": {"mode": "oauth2", "token_url": "http://127.0.0.1:9/token", "client_id": "c",
                               "client_secret_env": "IOMT_IT_CS"}}}, {"IOMT_IT_CS": "s3cret-not-printed"},
            "fhir.auth.token_url")
    refused({"designer": {"enabled": True, "listen": "0.0.0.0", "port": free_port()}}, {}, "designer.auth.password_env")


# ---- designer ---------------------------------------------------------------------------------

AMPLIFYING_DEVICE = {"templateType": "CollectionContent", "template": [{
    "templateType": "JsonPathContent",
    "template": {"typeName": "amp", "typeMatchExpression": "$..a[*]", "deviceIdExpression": "$.id",
                 "timestampExpression": "$.t", "values": [{"required": "true", "valueExpression": "$.v",
                                                           "valueName": "v"}]}}]}
AMPLIFYING_FHIR = {"templateType": "CollectionFhirTemplate", "template": [{
    "templateType": "CodeValueFhir",
    "template": {"typeName": "amp", "value": {"valueName": "v", "valueType": "Quantity"},
                 "codes": [{"code": "1", "system": "urn:x"}]}}]}


def designer(ctx):
    fhir, _ = ctx
    port = free_port()
    cfg = {"designer": {"enabled": True, "listen": "127.0.0.1", "port": port,
                        "auth": {"user": "me", "password_env": "IOMT_IT_DESIGNER_PASSWORD"}}}
    password = base64.b64encode(os.urandom(12)).decode()
    with admin_flow(fhir, cfg, env={"IOMT_IT_DESIGNER_PASSWORD": password}) as flow:
        url = f"http://127.0.0.1:{port}/designer/api/mapping/test"
        auth = {"Authorization": "Basic " + base64.b64encode(f"me:{password}".encode()).decode(),
                "Content-Type": "application/json"}
        status, _, _ = http_call(url, "POST", {}, {"Content-Type": "application/json"})
        check_eq(status, 401, "designer without credentials")
        status, _, _ = http_call(f"http://127.0.0.1:{flow.port}/designer/", "GET")
        check_eq(status, 404, "designer on the ingest port")
        observed("designer: 401 without credentials; not served on the ingest port (404)")

        item = {"id": "d", "t": "2024-01-01T00:00:00Z", "v": 1}
        body = json.dumps({"a": [item] * 12000})  # ~ 700 KB, 12,000 matches
        req = {"deviceMapping": AMPLIFYING_DEVICE, "fhirMapping": AMPLIFYING_FHIR, "messages": [body]}
        rss0, _ = rss_kib(flow.proc.pid)
        result = {}

        def amplify():
            result["answer"] = http_call(url, "POST", req, auth, timeout=60)
        t = threading.Thread(target=amplify)
        t.start()
        # Ingest answers while the designer works (its own thread).
        text = workshop_messages()[2][1]
        ingest_times = []
        while t.is_alive() and len(ingest_times) < 20:
            status, _, secs = raw_post(flow.port, f"/{HUB}/messages", text,
                                       {"Content-Type": "application/json", "Authorization": flow.token()})
            check_eq(status, 201, "ingest during a designer test")
            ingest_times.append(secs)
        t.join(60)
        status, _, data = result["answer"]
        message = json.loads(data).get("error", "")
        observed(f"$..a[*] over a {len(body) // 1024} KB body (12,000 matches): {status} {message[:140]!r}")
        check_eq(status, 422, "amplifying mapping")
        rss1, hwm1 = rss_kib(flow.proc.pid)
        observed(f"RSS {rss0 // 1024} MiB before, {rss1 // 1024} MiB after, peak {hwm1 // 1024} MiB; ingest "
                 f"POSTs meanwhile: {len(ingest_times)}, slowest {max(ingest_times or [0]) * 1000:.0f} ms")
        check(hwm1 < 400 * 1024, f"peak RSS {hwm1 // 1024} MiB")

        status, _, data = http_call(url, "POST", "x" * (2 << 20), auth)
        observed(f"2 MiB request body: {status} {json.loads(data).get('error', '')!r}")
        check_eq(status, 413, "request over designer.max_body_bytes")

        # Clients that send a big (bounded) test and never read the answer.
        ok_req = {"deviceMapping": AMPLIFYING_DEVICE, "fhirMapping": AMPLIFYING_FHIR,
                  "messages": [json.dumps({"a": [dict(item, v=i) for i in range(9000)]})]}
        payload = json.dumps(ok_req).encode()
        head = (f"POST /designer/api/mapping/test HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Authorization: {auth['Authorization']}\r\nContent-Length: {len(payload)}\r\n\r\n").encode()
        silent = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(head + payload)
            silent.append(s)
        time.sleep(4)
        rss2, hwm2 = rss_kib(flow.proc.pid)
        observed(f"3 clients not reading 9,000-measurement answers: RSS {rss2 // 1024} MiB, peak {hwm2 // 1024} MiB")
        check(hwm2 < 400 * 1024, f"peak RSS {hwm2 // 1024} MiB")
        status, _, secs = raw_post(flow.port, f"/{HUB}/messages", text,
                                   {"Content-Type": "application/json", "Authorization": flow.token()})
        check_eq(status, 201, "ingest while designer clients do not read")
        observed(f"ingest POST meanwhile: {status} in {secs * 1000:.0f} ms")
        for s in silent:
            s.close()
        check_eq(flow.stop(), 0, "exit status")


# ---- secrets ----------------------------------------------------------------------------------

def secrets(ctx):
    fhir_unused, _ = ctx
    client_id = "iomtflow-sec"
    client_secret = "cs-" + base64.b64encode(os.urandom(24)).decode()
    with OAuthServer(client_id, client_secret) as oauth, \
            FhirServer(env={"FHIR_REQUIRE_TOKEN_FROM": oauth.issuer, "FHIR_TOKEN_AUDIENCE": oauth.audience}) as fhir:
        fhir.token = oauth.token()
        device, mapping = workshop_mappings()
        second_key = base64.b64encode(os.urandom(32)).decode()
        cfg = {"source": {"http": {"keys": [{"name": SAS_KEY_NAME, "key_env": "IOMT_IT_SAS_KEY"},
                                            {"name": "second", "key_env": "IOMT_IT_SAS_KEY2"}]}},
               "fhir": {"auth": {"mode": "oauth2", "token_url": oauth.token_url, "client_id": client_id,
                                 "client_secret_env": "IOMT_IT_CLIENT_SECRET", "allow_insecure_token_url": True}},
               "log": {"level": "debug"}}
        answers = []
        with Iomtflow(fhir.url, device, mapping, identity="Lookup", config=cfg,
                      env={"IOMT_IT_CLIENT_SECRET": client_secret, "IOMT_IT_SAS_KEY2": second_key}) as flow:
            base = flow.base
            tokens = [flow.token(), make_token(f"{base}/{HUB}", second_key, key_name="second")]
            bad = [make_token(f"{base}/{HUB}", "wrong"), make_token(f"{base}/{HUB}", flow.sas_key, key_name="nobody"),
                   make_token(f"{base}/{HUB}", flow.sas_key, ttl=-10),
                   make_token(f"https://evil.example.com/{HUB}", flow.sas_key)]
            for token in tokens + bad:
                for name, text in workshop_messages():  # Lookup: unknown devices -> dead letters
                    status, body, _ = raw_post(flow.port, f"/{HUB}/messages", text,
                                               {"Content-Type": "application/json", "Authorization": token})
                    answers.append(body)
                status, body, _ = raw_post(flow.port, f"/{HUB}/messages", "{not json",
                                           {"Content-Type": "application/json", "Authorization": token})
                answers.append(body)
            time.sleep(2)
            _, metrics_text = flow.metrics()
            _, ready_text = flow.get("/readyz")
            check_eq(flow.stop(), 0, "exit status")
            dead = []
            for root, _, files in os.walk(os.path.join(flow.dir, "deadletter")):
                for f in files:
                    with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
                        dead.append(fh.read())
            outputs = {"log (stdout+stderr)": flow.log_text(), "/metrics": metrics_text, "/readyz": ready_text,
                       "dead letters": "\n".join(dead), "error answers": "\n".join(answers)}
            check(dead, "no dead letters were written (the scenario must exercise them)")
            secrets_list = {"SAS key": flow.sas_key, "second SAS key": second_key, "client secret": client_secret}
            for i, token in enumerate(tokens + bad):
                sig = urllib.parse.unquote(token.split("sig=")[1].split("&")[0])
                secrets_list[f"signature of token {i}"] = sig
                secrets_list[f"token {i}"] = token
            for where, text in outputs.items():
                for what, secret in secrets_list.items():
                    for form in {secret, urllib.parse.quote(secret, safe=""), json.dumps(secret)[1:-1]}:
                        check(form not in text, f"{what} found in {where}")
            sizes = ", ".join(f"{k} {len(v)} bytes" for k, v in outputs.items())
            observed(f"{len(secrets_list)} secrets (2 SAS keys, client secret, {len(tokens + bad)} tokens and their "
                     f"signatures) in none of: {sizes}")


if __name__ == "__main__":
    certificates = Certificates()
    try:
        with FhirServer(env={"IOMT_PRIVATE_SERVER": "1"}) as server:
            sys.exit(run([tls, mtls, limits, sas, admin, designer, secrets], (server, certificates)))
    finally:
        certificates.close()

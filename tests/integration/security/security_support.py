"""Fixtures of the security tests (CTest label `security`, issue 15), standard library only:

- TestPki: a private CA and a server certificate for 127.0.0.1 / localhost (openssl CLI), so the
  token issuer speaks https as Entra ID does and iomtflow verifies it against `ca_file`.
- TokenIssuer: scripts/peers/token-issuer/issuer.mjs on https (OIDC discovery, JWK Set with
  rotation, SMART and workload-identity token endpoint, tokens minted on request), started and
  stopped here. Port: IOMT_ISSUER_PORT, else a free one.
- Observed: collects "check -> observed answer" lines; printed at the end of a run, they are the
  table of the closing note.

The `iomtflow run` fixtures come from ../pipeline/harness.py.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pipeline"))

from harness import PEERS, TestFailure, check, free_port, log, terminate, wait_until  # noqa: E402

ISSUER_JS = os.path.join(PEERS, "token-issuer", "issuer.mjs")
FHIR_AUDIENCE = "urn:iomtflow:fhir"
INGEST_AUDIENCE = "api://iomtflow"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made_jwt(header, claims, hmac_secret=None):
    """A JWT no honest issuer makes: alg none (empty signature) or HMAC over a chosen secret."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    sig = b""
    if hmac_secret is not None:
        sig = hmac.new(hmac_secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(sig)}"


class TestPki:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="iomt-security-pki-")
        self.ca = os.path.join(self.dir, "ca.pem")
        self.cert = os.path.join(self.dir, "server.pem")
        self.key = os.path.join(self.dir, "server-key.pem")
        ca_key = os.path.join(self.dir, "ca-key.pem")
        csr = os.path.join(self.dir, "server.csr")
        ext = os.path.join(self.dir, "server.ext")
        with open(ext, "w", encoding="utf-8") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", ca_key, "-out", self.ca, "-days", "2", "-subj", "/CN=iomtflow security test CA",
                      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key,
                      "-out", csr, "-subj", "/CN=127.0.0.1")
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", ca_key, "-CAcreateserial",
                      "-out", self.cert, "-days", "2", "-extfile", ext)

    def private_key(self, name, kind="rsa"):
        """A fresh private key PEM file: rsa (2048) or p384."""
        path = os.path.join(self.dir, name)
        if kind == "rsa":
            self._openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
        else:
            self._openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", path)
        return path

    def public_pem(self, private_path):
        return subprocess.run(["openssl", "pkey", "-in", private_path, "-pubout"], check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True).stdout

    def _openssl(self, *cmd):
        r = subprocess.run(["openssl", *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise TestFailure(f"openssl {' '.join(cmd[:2])} failed: {r.stderr}")

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class TokenIssuer:
    def __init__(self, pki, token_ttl=300):
        check(shutil.which("node"), "node is not installed (scripts/setup installs nodejs): the token issuer needs it")
        self.pki = pki
        self.port = int(os.environ.get("IOMT_ISSUER_PORT") or free_port())
        self.url = f"https://127.0.0.1:{self.port}"
        self.dir = tempfile.mkdtemp(prefix="iomt-security-issuer-")
        self.log_path = os.path.join(self.dir, "issuer.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["node", ISSUER_JS, "--port", str(self.port), "--host", "127.0.0.1",
                                      "--cert", pki.cert, "--key", pki.key, "--fhir-audience", FHIR_AUDIENCE,
                                      "--ingest-audience", INGEST_AUDIENCE, "--token-ttl", str(token_ttl)],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        self.context = ssl.create_default_context(cafile=pki.ca)

        def up():
            if self.proc.poll() is not None:
                raise TestFailure(f"the token issuer exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                return self.call("GET", "/healthz")[0] == 200
            except OSError:
                return False
        try:
            wait_until(up, 30, "the token issuer to answer /healthz")
        except BaseException:
            self.close()
            raise
        log(f"token issuer on {self.url} (https, private CA)")

    def call(self, method, path, body=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=10)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            res = conn.getresponse()
            raw = res.read()
            return res.status, json.loads(raw) if raw else None
        finally:
            conn.close()

    def admin(self, path, body=None, method="POST"):
        status, answer = self.call(method, f"/admin/{path}", body if method == "POST" else None)
        if status != 200:
            raise TestFailure(f"issuer /admin/{path}: {status} {answer}")
        return answer

    def mint(self, claims=None, kid=None, header=None, ttl=None):
        body = {"claims": claims or {}}
        if kid:
            body["kid"] = kid
        if header:
            body["header"] = header
        if ttl:
            body["ttl"] = ttl
        return self.admin("mint", body)["token"]

    def stats(self):
        return self.admin("stats", method="GET")

    def log_text(self):
        self._log.flush()
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def close(self):
        terminate(self.proc, timeout=15)
        if not self._log.closed:
            self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Observed:
    """check -> observed answer, printed as a table at the end."""

    def __init__(self):
        self.rows = []

    def add(self, check_name, answer):
        self.rows.append((check_name, answer))
        log(f"{check_name}: {answer}")

    def print(self):
        print("\nobserved answers:", flush=True)
        for name, answer in self.rows:
            print(f"  | {name} | {answer} |", flush=True)


def wait_for(predicate, timeout, what):
    return wait_until(predicate, timeout, what, interval=0.2)


__all__ = ["TestPki", "TokenIssuer", "Observed", "hand_made_jwt", "b64url", "FHIR_AUDIENCE", "INGEST_AUDIENCE",
           "check", "log", "wait_for", "time"]

#!/usr/bin/env python3
"""SMART Backend Services and Azure workload identity to a FHIR server that requires bearer tokens
(scripts/peers/fhir-server with FHIR_REQUIRE_TOKEN_FROM), against the test token issuer (https,
private CA) that checks every client assertion:

- smart (RS384 and ES384 keys): iomtflow discovers the token endpoint from the FHIR server's
  .well-known/smart-configuration, signs a private_key_jwt assertion, the issuer verifies it against
  the registered public key (alg, kid, signature, iss = sub = client_id, aud = token endpoint, exp at
  most 5 min, jti never reused) and the workshop messages become Observations written with the token;
- an assertion signed with a key the issuer does not know is refused: /readyz says so;
- workload_identity: the federated token file is exchanged (AZURE_* environment as the webhook sets
  it); when the file is replaced, the next exchange uses the new token.
"""

import json
import os
import shutil
import subprocess
import sys

from security_support import FHIR_AUDIENCE, Observed, TestPki, TokenIssuer, wait_for
from harness import FhirServer, Iomtflow, check, check_eq, log, run, sha256_hex, workshop_mappings, workshop_messages
from workshop_it import check_observations

observed = Observed()
SCOPE = "system/Observation.write system/Observation.read system/Patient.read system/Patient.write system/Device.read system/Device.write"


def write_workshop_flow(flow, fhir):
    for name, text in workshop_messages():
        flow.send(text)
    check_observations(fhir, sha256_hex("_PatientMary"),
                       {d: sha256_hex("_" + d) for d in ("MSFT00001", "MSFT00002BP", "MSFT00003WT")})


def smart_backend_services(ctx):
    issuer, pki, fhir = ctx
    for kind, alg in (("rsa", "RS384"), ("p384", "ES384")):
        fhir.reset()
        key = pki.private_key(f"smart-{kind}.pem", kind)
        client_id = f"iomtflow-smart-{kind}"
        if kind == "rsa":  # registered as a PEM public key: the issuer computes the RFC 7638 thumbprint
            reg = issuer.admin("clients", {"client_id": client_id, "public_key_pem": pki.public_pem(key),
                                           "scopes": SCOPE.split()})
        else:  # registered with the JWK Set `iomtflow smart jwks` prints
            jwks = subprocess.run([os.environ.get("IOMTFLOW", "iomtflow"), "smart", "jwks", "--key", key], check=True,
                                  stdout=subprocess.PIPE, text=True).stdout
            check_eq(json.loads(jwks)["keys"][0]["alg"], "ES384", "iomtflow smart jwks: alg of a P-384 key")
            reg = issuer.admin("clients", {"client_id": client_id, "jwks": json.loads(jwks), "scopes": SCOPE.split()})
        before = len(issuer.stats()["exchanges"])
        rejected = fhir.stats()["tokenRejected"]
        device, mapping = workshop_mappings()
        config = {"fhir": {"ca_file": pki.ca, "auth": {"mode": "smart", "client_id": client_id,
                                                       "private_key_file": key, "scope": SCOPE}}}
        with Iomtflow(fhir.url, device, mapping, config=config) as flow:
            write_workshop_flow(flow, fhir)
            ex = [e for e in issuer.stats()["exchanges"][before:] if e["client_id"] == client_id]
            check(ex, "no token issued to the SMART client")
            check(all(e["kind"] == "smart" and e["alg"] == alg and e["kid"] == reg["kid"] for e in ex), f"exchanges {ex}")
            check(all(0 < e["lifetime"] <= 300 for e in ex), f"assertion lifetimes {[e['lifetime'] for e in ex]}")
            jtis = [e["jti"] for e in ex]
            check_eq(len(set(jtis)), len(jtis), "unique assertion jti")
            check_eq(fhir.stats()["tokenRejected"] - rejected, 0, "FHIR requests refused for their token")
            check(key not in flow.log_text(), "key path logged")  # harmless, but assertions must not be
            check(not any(j in flow.log_text() for j in jtis), "an assertion id in the log")
            observed.add(f"SMART {alg} assertion (kid = RFC 7638 thumbprint {reg['kid'][:10]}...)",
                         f"token endpoint discovered from .well-known/smart-configuration; assertion accepted by the issuer ({len(ex)} exchanges, lifetimes {sorted({e['lifetime'] for e in ex})} s, "
                         f"unique jti); workshop Observations written with the token, 0 FHIR 401s")
            check_eq(flow.stop(), 0, "exit status")


def smart_key_rotation(ctx):
    """The Secret with the SMART key is updated (file replaced, new key registered): the next token
    request signs with the new key; Observations keep being written."""
    issuer, pki, fhir = ctx
    fhir.reset()
    client_id = "iomtflow-smart-rotating"
    old_key = pki.private_key("smart-rotating-old.pem", "rsa")
    path = os.path.join(pki.dir, "smart-rotating.pem")
    shutil.copy(old_key, path)
    old_kid = issuer.admin("clients", {"client_id": client_id, "public_key_pem": pki.public_pem(old_key),
                                       "scopes": SCOPE.split()})["kid"]
    issuer.admin("config", {"tokenTtl": 6})  # iomtflow asks for a new token every ~5 s
    before = len(issuer.stats()["exchanges"])
    device, mapping = workshop_mappings()
    config = {"fhir": {"ca_file": pki.ca, "auth": {"mode": "smart", "client_id": client_id, "private_key_file": path,
                                                   "scope": SCOPE}}}
    try:
        with Iomtflow(fhir.url, device, mapping, config=config) as flow:
            write_workshop_flow(flow, fhir)
            new_key = pki.private_key("smart-rotating-new.pem", "rsa")
            new_kid = issuer.admin("clients", {"client_id": client_id, "public_key_pem": pki.public_pem(new_key),
                                               "scopes": SCOPE.split()})["kid"]
            tmp = path + ".tmp"
            shutil.copy(new_key, tmp)
            os.replace(tmp, path)  # as the kubelet swaps a Secret volume's files

            def new_key_used():
                return [e for e in issuer.stats()["exchanges"][before:] if e["client_id"] == client_id and e["kid"] == new_kid]
            wait_for(new_key_used, 30, "a token request signed with the new key")
            flow.send(workshop_messages()[0][1])
            kids = [e["kid"] for e in issuer.stats()["exchanges"][before:] if e["client_id"] == client_id]
            observed.add("SMART key file replaced (Secret rotation)",
                         f"next assertions signed with the new key ({kids.count(old_kid)} token(s) with the old kid, "
                         f"{kids.count(new_kid)} with the new); Observations written after the rotation")
            check_eq(flow.stop(), 0, "exit status")
    finally:
        issuer.admin("config", {"tokenTtl": 300})


def smart_unknown_key_refused(ctx):
    issuer, pki, fhir = ctx
    key = pki.private_key("smart-unregistered.pem", "rsa")
    registered = pki.private_key("smart-registered.pem", "rsa")
    issuer.admin("clients", {"client_id": "iomtflow-smart-wrong", "public_key_pem": pki.public_pem(registered),
                             "kid": "registered-key"})
    device, mapping = workshop_mappings()
    config = {"fhir": {"ca_file": pki.ca, "auth": {"mode": "smart", "client_id": "iomtflow-smart-wrong",
                                                   "private_key_file": key, "key_id": "registered-key",
                                                   "scope": SCOPE}}}
    with Iomtflow(fhir.url, device, mapping, config=config, wait_ready=False) as flow:
        flow.wait_listening()

        def says_why():
            status, text = flow.get("/readyz")
            return status == 503 and "invalid_client" in text and text
        text = wait_for(says_why, 20, "/readyz to name the refused assertion")
        observed.add("SMART assertion signed with an unregistered key", f"issuer 401 invalid_client; /readyz 503 {text.strip()}")
        check("signature does not verify" in text, f"/readyz: {text}")
        check_eq(flow.stop(), 0, "exit status")


def workload_identity_rotation(ctx):
    issuer, pki, fhir = ctx
    fhir.reset()
    subject = "system:serviceaccount:iomt:iomtflow"
    client_id = "00000000-0000-0000-0000-00000000c11e"
    issuer.admin("federation", {"client_id": client_id, "subject": subject})
    issuer.admin("config", {"tokenTtl": 6})  # short access tokens: iomtflow exchanges again every ~5 s
    tokdir = os.path.join(pki.dir, "azure-tokens")
    os.makedirs(tokdir, exist_ok=True)
    path = os.path.join(tokdir, "azure-identity-token")

    def project(token):  # as the kubelet does: write aside, then rename over
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(token)
        os.replace(tmp, path)
    first = issuer.admin("federated-token", {"subject": subject})
    project(first["token"])
    env = {"AZURE_CLIENT_ID": client_id, "AZURE_TENANT_ID": "test-tenant", "AZURE_FEDERATED_TOKEN_FILE": path,
           "AZURE_AUTHORITY_HOST": issuer.url + "/"}
    before = len(issuer.stats()["exchanges"])
    device, mapping = workshop_mappings()
    config = {"fhir": {"ca_file": pki.ca, "auth": {"mode": "workload_identity", "scope": f"{FHIR_AUDIENCE}/.default"}}}
    try:
        with Iomtflow(fhir.url, device, mapping, config=config, env=env) as flow:
            write_workshop_flow(flow, fhir)
            ex = [e for e in issuer.stats()["exchanges"][before:] if e["kind"] == "workload_identity"]
            check(ex and all(e["jti"] == first["jti"] for e in ex), f"exchanges before the rotation: {ex}")
            second = issuer.admin("federated-token", {"subject": subject})
            project(second["token"])
            rotated_at = len(issuer.stats()["exchanges"])

            def new_token_used():
                later = issuer.stats()["exchanges"][rotated_at:]
                return [e for e in later if e["kind"] == "workload_identity" and e["jti"] == second["jti"]]
            wait_for(new_token_used, 30, "an exchange with the rotated federated token")
            later = [e for e in issuer.stats()["exchanges"][rotated_at:] if e["kind"] == "workload_identity"]
            stale = [e for e in later if e["jti"] == first["jti"]]
            check(len(stale) <= 3, f"{len(stale)} exchanges still used the old token after the rotation")
            flow.send(workshop_messages()[0][1])  # written with a token from the new assertion
            observed.add("workload identity: federated token file replaced",
                         f"next exchanges used the new token ({len(later) - len(stale)} of {len(later)} after the "
                         f"rotation; {len(stale)} were already in flight); Observations written before and after")
            check(first["token"] not in flow.log_text() and second["token"] not in flow.log_text(), "a token logged")
            check_eq(flow.stop(), 0, "exit status")
    finally:
        issuer.admin("config", {"tokenTtl": 300})


def main():
    pki = TestPki()
    try:
        with TokenIssuer(pki) as issuer:
            env = {"FHIR_REQUIRE_TOKEN_FROM": issuer.url, "FHIR_TOKEN_AUDIENCE": FHIR_AUDIENCE,
                   "NODE_EXTRA_CA_CERTS": pki.ca, "FHIR_SMART_TOKEN_ENDPOINT": f"{issuer.url}/token"}
            with FhirServer(env=env) as fhir:
                fhir.token = issuer.mint({"aud": FHIR_AUDIENCE}, ttl=3600)
                status = run([smart_backend_services, smart_key_rotation, smart_unknown_key_refused, workload_identity_rotation],
                             (issuer, pki, fhir))
                observed.print()
                return status
    finally:
        pki.close()


if __name__ == "__main__":
    sys.exit(main())

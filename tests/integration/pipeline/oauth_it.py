#!/usr/bin/env python3
"""OAuth2 client credentials: a real token server (scripts/peers/oauth: the npm package
oidc-provider, JWT access tokens) and a FHIR server that requires its tokens (server.js
--require-token-from ISSUER). iomtflow fetches and caches a token and writes the workshop flow;
with a wrong client secret it is not ready (/readyz 503) and says why in its log."""

import base64
import os
import sys
import time

from harness import (FhirServer, Iomtflow, OAuthServer, check, check_eq, http_call, log, run, sha256_hex,
                     workshop_mappings, workshop_messages)
from workshop_it import check_observations

CLIENT_ID = "iomtflow-it"


def oauth_config(oauth):
    return {"fhir": {"auth": {"mode": "oauth2", "token_url": oauth.token_url, "client_id": CLIENT_ID,
                              "client_secret_env": "IOMT_IT_CLIENT_SECRET", "scope": "system/*.read system/*.write",
                              # the test token server speaks plain HTTP on loopback (issue 15)
                              "allow_insecure_token_url": True}}}


def oauth_client_credentials(ctx):
    oauth, fhir = ctx
    fhir.reset()
    status, _, body = http_call(f"{fhir.url}/Observation")
    check_eq(status, 401, f"FHIR read without a token ({body[:200]!r})")
    rejected_before = fhir.stats()["tokenRejected"]
    issued_before = oauth.log_text().count(f"token issued to {CLIENT_ID}")  # ours, for reading back
    device, mapping = workshop_mappings()
    with Iomtflow(fhir.url, device, mapping, identity="Create", config=oauth_config(oauth),
                  env={"IOMT_IT_CLIENT_SECRET": oauth.secret}) as flow:
        for name, text in workshop_messages():
            flow.send(text)
            log(f"sent {name}: 201")
        check_observations(fhir, sha256_hex("_PatientMary"),
                           {d: sha256_hex("_" + d) for d in ("MSFT00001", "MSFT00002BP", "MSFT00003WT")})
        stats = fhir.stats()
        check_eq(stats["tokenRejected"] - rejected_before, 0, f"iomtflow requests refused for their token (stats {stats})")
        issued = oauth.log_text().count(f"token issued to {CLIENT_ID}") - issued_before
        # One authenticator per shard (2) and one for the readiness probe; tokens are cached.
        check(1 <= issued <= 3, f"{issued} tokens issued for {stats['requests']} FHIR requests")
        log(f"{stats['requests']} FHIR requests, all with a valid token; {issued} tokens issued")
        check_eq(flow.stop(), 0, "exit status after SIGTERM")


def oauth_wrong_secret(ctx):
    oauth, fhir = ctx
    fhir.reset()
    device, mapping = workshop_mappings()
    wrong = base64.b64encode(os.urandom(16)).decode()
    with Iomtflow(fhir.url, device, mapping, identity="Create", config=oauth_config(oauth),
                  env={"IOMT_IT_CLIENT_SECRET": wrong}, wait_ready=False) as flow:
        flow.wait_listening()
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            status, text = flow.get("/readyz")
            check_eq(status, 503, f"/readyz with a wrong client secret ({text.strip()})")
            time.sleep(0.5)
        log(f"/readyz: 503 {text.strip()}")
        check("FHIR server not ready" in text, f"/readyz does not say why: {text!r}")
        check("invalid_client" in text, f"/readyz does not give the token endpoint's error: {text!r}")
        warnings = [r for r in flow.log_records() if r.get("msg") == "FHIR server not ready"]
        check(warnings, f"no 'FHIR server not ready' log line:\n{flow.log_tail()}")
        check("invalid_client" in str(warnings[0]), f"the log line does not name the OAuth2 error: {warnings[0]}")
        check(oauth.secret not in flow.log_text() and wrong not in flow.log_text(), "a client secret was logged")
        log(f"log: {warnings[0]}")
        check_eq(fhir.stats()["requests"], 0, "FHIR requests sent without a token")
        check_eq(flow.stop(), 0, "exit status after SIGTERM")


if __name__ == "__main__":
    secret = base64.b64encode(os.urandom(24)).decode()
    with OAuthServer(CLIENT_ID, secret) as token_server:
        with FhirServer(env={"FHIR_REQUIRE_TOKEN_FROM": token_server.issuer,
                             "FHIR_TOKEN_AUDIENCE": token_server.audience}) as server:
            server.token = token_server.token()
            sys.exit(run([oauth_client_credentials, oauth_wrong_secret], (token_server, server)))

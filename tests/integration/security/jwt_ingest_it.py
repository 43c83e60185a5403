#!/usr/bin/env python3
"""auth: jwt on ingest against a real OIDC issuer (scripts/peers/token-issuer, https with a private
CA): iomtflow fetches discovery and the JWK Set with its own HTTP client and checks every bearer
token. Each failure mode is sent as a real POST and its observed answer (status, the check named in
the message, WWW-Authenticate, Retry-After) is printed; no token ever appears in an answer or in
iomtflow's log."""

import base64
import json
import sys
import time

from security_support import INGEST_AUDIENCE, Observed, TestPki, TokenIssuer, b64url, hand_made_jwt, wait_for
from harness import HUB, FhirServer, Iomtflow, check, check_eq, http_call, log, run, workshop_mappings

observed = Observed()
issued_tokens = []  # every token sent: none may show up in answers or logs


def jwt_config(issuer, pki, auth="jwt"):
    return {"source": {"http": {"auth": auth, "jwt": {
        "issuer": issuer.url, "audiences": [INGEST_AUDIENCE], "roles": ["IomtFlow.Send"],
        "ca_file": pki.ca, "min_refresh_interval": "1s", "refresh_interval": "1h", "clock_skew": "30s"}}}}


def post(flow, authorization=None, body='{"deviceId":"dev-1","heartRate":72}'):
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    status, hdrs, data = http_call(f"{flow.base}/{HUB}/messages", "POST", body, headers, timeout=30)
    text = data.decode("utf-8", errors="replace")
    for t in issued_tokens:
        check(t not in text and t[:40] not in text, f"the answer echoes the token: {text}")
    return status, hdrs, text


def bearer(flow, token):
    issued_tokens.append(token)
    return post(flow, f"Bearer {token}")


def claims_of(token):
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def message_of(text):
    try:
        return json.loads(text)["message"]
    except (ValueError, KeyError):
        return text


def expect(flow, name, token, status, check_code):
    got, hdrs, text = bearer(flow, token)
    msg = message_of(text)
    challenge = hdrs.get("www-authenticate", "")
    observed.add(name, f"{got} {msg}" + (f" [WWW-Authenticate: {challenge[:60]}...]" if challenge else ""))
    check_eq(got, status, f"{name}: status ({msg})")
    check(msg.startswith(f"JWT {check_code}:"), f"{name}: expected the check '{check_code}' to be named, got {msg!r}")
    if status in (401, 403):
        check(challenge.startswith('Bearer realm="iomtflow"'), f"{name}: no Bearer challenge ({hdrs})")
    return hdrs


def scenarios(ctx):
    issuer, pki, flow, fhir = ctx

    def valid_tokens_accepted():
        for kid in ("rs256-initial", "es256-initial"):
            status, _, text = bearer(flow, issuer.mint(kid=kid))
            observed.add(f"valid {kid.split('-')[0].upper()} token", f"{status}")
            check_eq(status, 201, f"valid token signed with {kid} ({text})")

    def bad_signature():
        token = issuer.mint()
        head, payload, sig = token.split(".")
        forged = claims_of(token)
        forged["roles"] = ["IomtFlow.Send", "Admin"]
        expect(flow, "bad signature (payload altered after signing)",
               f"{head}.{b64url(json.dumps(forged).encode())}.{sig}", 401, "bad_signature")

    def unknown_kid_then_rotation():
        kid = issuer.admin("keys", {"alg": "RS256", "publish": False})["kid"]
        token = issuer.mint(kid=kid)
        fetches_before = issuer.stats()["jwksFetches"]
        hdrs = expect(flow, "unknown kid (key not yet published)", token, 401, "unknown_key")
        check_eq(hdrs.get("retry-after"), "1", "Retry-After on an unknown kid")
        issuer.admin("keys/publish", {"kid": kid})  # the issuer rotates: the new key is in its JWK Set
        t0 = time.monotonic()
        answers = []

        def accepted():
            status, _, text = bearer(flow, token)
            answers.append(status)
            return status == 201
        wait_for(accepted, 20, "the rotated key to be accepted after the key set refresh")
        fetches = issuer.stats()["jwksFetches"] - fetches_before
        observed.add("same token after the issuer published the key",
                     f"201 after {time.monotonic() - t0:.1f} s (answers {answers}; {fetches} JWK Set fetches)")
        check(fetches <= 5, f"{fetches} JWK Set fetches: the refresh is not rate-limited")

    def wrong_issuer_and_audience():
        expect(flow, "wrong iss", issuer.mint({"iss": "https://evil.example.com/"}), 401, "wrong_issuer")
        expect(flow, "wrong aud", issuer.mint({"aud": "https://eventhubs.azure.net"}), 401, "wrong_audience")

    def expired_and_not_yet_valid():
        now = int(time.time())
        expect(flow, "expired (exp 1 h ago)", issuer.mint({"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}),
               401, "expired")
        expect(flow, "not yet valid (nbf in 1 h)", issuer.mint({"nbf": now + 3600, "exp": now + 7200}), 401,
               "not_yet_valid")

    def alg_none():
        claims = claims_of(issuer.mint())
        expect(flow, "alg none", hand_made_jwt({"alg": "none", "typ": "JWT", "kid": "rs256-initial"}, claims), 401,
               "algorithm_not_allowed")

    def hs256_with_the_public_key():
        claims = claims_of(issuer.mint())
        pem = next(k["publicPem"] for k in issuer.admin("keys", method="GET") if k["kid"] == "rs256-initial")
        expect(flow, "HS256 signed with the issuer's public key (PEM) as HMAC secret",
               hand_made_jwt({"alg": "HS256", "typ": "JWT", "kid": "rs256-initial"}, claims, pem.encode()), 401,
               "algorithm_not_allowed")

    def missing_role():
        hdrs = expect(flow, "missing role", issuer.mint({"roles": None}), 403, "missing_role")
        check("insufficient_scope" in hdrs.get("www-authenticate", ""), f"403 without insufficient_scope: {hdrs}")
        expect(flow, "other role only", issuer.mint({"roles": ["IomtFlow.Read"]}), 403, "missing_role")

    def no_or_wrong_credentials():
        status, hdrs, text = post(flow, None)
        observed.add("no Authorization header", f"{status} {message_of(text)}")
        check_eq(status, 401, "no Authorization")
        check_eq(hdrs.get("www-authenticate"), 'Bearer realm="iomtflow"', "bare challenge")
        status, _, text = post(flow, flow.token())
        observed.add("SAS token while auth is jwt only", f"{status} {message_of(text)}")
        check_eq(status, 401, "SAS token on a jwt-only endpoint")

    def slow_issuer_does_not_block_ingest():
        # The issuer answers JWK Set requests only after 5 s. A token with an unknown kid starts a
        # refresh; while that fetch is still waiting at the issuer, a valid token is answered
        # (iomtflow runs one ingest thread here: a blocking fetch would hold it).
        issuer.admin("config", {"jwksDelayMs": 5000})
        try:
            kid = issuer.admin("keys", {"alg": "ES256", "publish": False})["kid"]
            stranger = issuer.mint(kid=kid)

            def refresh_waiting():
                bearer(flow, stranger)  # 401 unknown_key; asks for a (rate-limited) refresh
                return issuer.stats()["jwksInFlight"] > 0
            wait_for(refresh_waiting, 20, "a JWK Set fetch waiting at the slow issuer")
            status, _, text = bearer(flow, issuer.mint())
            still_waiting = issuer.stats()["jwksInFlight"] > 0
            observed.add("valid token while the key set fetch waits at a slow issuer (5 s)",
                         f"{status} (fetch still in flight when answered: {still_waiting})")
            check_eq(status, 201, f"valid token during a pending key set fetch ({text})")
            check(still_waiting, "the fetch had already ended: the check proves nothing")
        finally:
            issuer.admin("config", {"jwksDelayMs": 0})

    def nothing_secret_in_the_log():
        text = flow.log_text()
        # the whole token, or its signature (the part that makes it usable; alg none has none)
        leaked = [t[:16] for t in issued_tokens if t in text or (len(t.split(".")[2]) >= 20 and t.split(".")[2] in text)]
        check(not leaked, f"tokens in iomtflow's log: {leaked}")
        loads = [r for r in flow.log_records() if r.get("msg") == "token issuer's signing keys loaded"]
        check(loads, f"no key set load logged:\n{flow.log_tail()}")
        observed.add("iomtflow log", f"{len(loads)} key set loads logged, no token text among {len(issued_tokens)} sent")
        values, _ = flow.metrics()
        from harness import metric
        accepted = metric(values, "iomtflow_ingest_bearer_tokens_total", result="accepted")
        refused = metric(values, "iomtflow_ingest_bearer_tokens_total", result="refused")
        unknown = metric(values, "iomtflow_ingest_bearer_tokens_total", result="unknown_key")
        keys = metric(values, "iomtflow_jwks_keys")
        fetched = metric(values, "iomtflow_jwks_fetches_total", result="ok")
        observed.add("metrics", f"bearer tokens accepted {accepted:.0f}, refused {refused:.0f}, unknown_key {unknown:.0f}; "
                                f"{keys:.0f} keys cached after {fetched:.0f} JWK Set fetches")
        if len(issued_tokens) > 10:  # after the scenarios above (not when run alone)
            check(accepted >= 3 and refused >= 10 and unknown >= 1 and keys >= 3 and fetched >= 2, "bearer metrics")

    def sas_and_jwt():
        sas_and_jwt_together(issuer, pki, fhir)

    def issuer_unreachable_at_start():
        unreachable_issuer(pki, fhir)

    def debug_events_not_opened_by_jwt():
        debug_events_with_jwt_only(issuer, pki, fhir)

    return [valid_tokens_accepted, bad_signature, unknown_kid_then_rotation, wrong_issuer_and_audience,
            expired_and_not_yet_valid, alg_none, hs256_with_the_public_key, missing_role, no_or_wrong_credentials,
            slow_issuer_does_not_block_ingest, nothing_secret_in_the_log, sas_and_jwt, issuer_unreachable_at_start,
            debug_events_not_opened_by_jwt]


def sas_and_jwt_together(issuer, pki, fhir):
    device, mapping = workshop_mappings()
    with Iomtflow(fhir.url, device, mapping, config=jwt_config(issuer, pki, "sas, jwt")) as flow:
        status, _, _ = bearer(flow, issuer.mint())
        check_eq(status, 201, "bearer token with auth: sas, jwt")
        status, _, _ = post(flow, flow.token())
        check_eq(status, 201, "SAS token with auth: sas, jwt")
        observed.add("auth: sas, jwt", "bearer 201, SAS 201")
        check_eq(flow.stop(), 0, "exit status")


def debug_events_with_jwt_only(issuer, pki, fhir):
    """auth: jwt without SAS keys and the event trace on: GET /debug/events (every device's
    messages) stays closed - a sender's bearer token does not open it, nor does no token."""
    device, mapping = workshop_mappings()
    config = jwt_config(issuer, pki)
    config["source"]["http"]["keys"] = []
    config["debug"] = {"trace": {"enabled": True}}
    with Iomtflow(fhir.url, device, mapping, config=config) as flow:
        status, _, _ = bearer(flow, issuer.mint())
        check_eq(status, 201, "a valid bearer token sends")
        for name, headers in (("no token", {}), ("a valid bearer token", {"Authorization": f"Bearer {issuer.mint()}"})):
            got, _, data = http_call(f"{flow.base}/debug/events?device=dev-1", headers=headers, timeout=10)
            observed.add(f"auth: jwt, no keys: GET /debug/events with {name}", f"{got} {message_of(data.decode())}")
            check_eq(got, 403, f"/debug/events with {name}")
        check_eq(flow.stop(), 0, "exit status")


def unreachable_issuer(pki, fhir):
    """Issuer down at start: ingest answers 503 + Retry-After and /readyz says why (no URL)."""
    device, mapping = workshop_mappings()

    class Down:
        url = "https://127.0.0.1:9"  # discard port: connection refused
    with Iomtflow(fhir.url, device, mapping, config=jwt_config(Down, pki), wait_ready=False) as flow:
        flow.wait_listening()
        status, text = flow.get("/readyz")
        observed.add("issuer unreachable: /readyz", f"{status} {text.strip()}")
        check_eq(status, 503, "/readyz while the keys are not loaded")
        check("signing keys are not loaded" in text, f"/readyz: {text}")
        got, hdrs, body = post(flow, "Bearer x.y.z")
        observed.add("issuer unreachable: POST with a token", f"{got} {message_of(body)} (Retry-After {hdrs.get('retry-after')})")
        check_eq(got, 503, "ingest while the keys are not loaded")
        check_eq(hdrs.get("retry-after"), "5", "Retry-After")
        check_eq(flow.stop(), 0, "exit status")


def main():
    pki = TestPki()
    try:
        with TokenIssuer(pki) as issuer, FhirServer(env={"IOMT_SECURITY_IT": "1"}) as fhir:  # a private server
            device, mapping = workshop_mappings()
            with Iomtflow(fhir.url, device, mapping, config=jwt_config(issuer, pki)) as flow:
                status = run(scenarios((issuer, pki, flow, fhir)))
                check_eq(flow.stop(), 0, "exit status after SIGTERM")
            observed.print()
            return status
    finally:
        pki.close()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The event trace (issue 13 item 5) through `iomtflow run` against the real FHIR server:
- the workshop's three messages, one that is not JSON, and the same messages again: GET
  /debug/events shows each event's path, and every Observation id and operation it names matches
  what the FHIR server holds (created first, no-op when the same values come again); the event
  whose mapping fails (VITALS: bloodPulseWave has no FHIR template) and the one that is not JSON
  show their errors and failure class; the Patient/Device ids are the server's;
- `iomtflow trace --config FILE --device ID` prints the same path readably, `--request ID` one request's events;
- auth: no token, a hub-level token, a wrong key -> 401; the designer's Live API takes the same;
- received: each event names the HTTP request that brought it (x-ms-request-id of the answer; the
  client's x-ms-client-request-id when sent) and its index in a batch send, the partition and the
  Event Hubs position; the same with the durable buffer on and off (only the source says which);
- a failed authentication is logged with the request id the client was answered;
- tracing off (the default) -> 404, and `iomtflow trace` says how to turn it on."""

import json
import os
import re
import subprocess
import sys

from harness import (HUB, SAS_KEY_NAME, FhirServer, Iomtflow, check, check_eq, free_port, http_call, log, run,
                     sas_token, wait_until, workshop_mappings, workshop_messages)

TRACE_ON = {"debug": {"trace": {"enabled": True, "max_events": 200, "max_bytes": "4MiB"}}}


def events(flow, query="", token=None):
    """GET /debug/events -> (status, parsed body)."""
    headers = {"Authorization": token if token is not None else namespace_token(flow)}
    status, _, data = http_call(f"{flow.base}/debug/events{query}", headers=headers if headers["Authorization"] else {})
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data


def namespace_token(flow, key=None):
    return sas_token(flow.base, SAS_KEY_NAME, key or flow.sas_key)


def trace_cli(flow, *args, key=None):
    env = dict(os.environ, IOMT_IT_SAS_KEY=key or flow.sas_key)
    return subprocess.run([flow.binary, "trace", "--config", flow.config_path, *args], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def final(flow, device, count):
    """The device's last `count` events once none is pending."""
    def done():
        status, body = events(flow, f"?device={device}&limit={count}")
        check_eq(status, 200, f"GET /debug/events?device={device}")
        evs = body["events"]
        return evs if len(evs) >= count and all(e["status"] != "pending" for e in evs) else None
    return wait_until(done, 30, f"{count} final events of {device}")


def check_path_against_server(fhir, ev):
    """Every Observation the event's groups name is on the server, for the group's Patient and Device."""
    for g in ev["groups"]:
        if g["errors"]:
            continue
        check(g.get("patient", "").startswith("Patient/"), f"group {g['type']}: no Patient ({g})")
        check(g.get("device", "").startswith("Device/"), f"group {g['type']}: no Device ({g})")
        fhir.get(g["patient"])
        dev = fhir.get(g["device"])
        check(any(i.get("value") == g["deviceId"] for i in dev.get("identifier", [])),
              f"{g['device']} does not carry identifier {g['deviceId']}")
        check_eq(len(g["observations"]), 1, f"Observations of group {g['type']}")
        for o in g["observations"]:
            obs = fhir.get(f"Observation/{o['id']}")
            check_eq(obs["subject"], {"reference": g["patient"]}, f"Observation/{o['id']} subject")
            check_eq(obs["device"], {"reference": g["device"]}, f"Observation/{o['id']} device")
            check_eq(obs["code"]["text"], g["type"], f"Observation/{o['id']} code.text")


def trace_shows_each_events_path(fhir):
    fhir.reset()
    device, mapping = workshop_mappings()
    designer_port = free_port()  # the designer has a listener of its own (designer.port, issue 15)
    designer_base = f"http://127.0.0.1:{designer_port}"
    with Iomtflow(fhir.url, device, mapping,
                  config=dict(TRACE_ON, designer={"enabled": True, "port": designer_port})) as flow:
        messages = dict(workshop_messages())
        for name, text in messages.items():
            flow.send(text)
        flow.send("not json {", headers={"BrokerProperties": json.dumps({"PartitionKey": "broken-gateway"})})

        # Auth: the same SAS keys as ingest, namespace-level.
        check_eq(events(flow, token="")[0], 401, "no token")
        check_eq(events(flow, token=flow.token(HUB))[0], 401, "a token for one event hub")
        check_eq(events(flow, token=namespace_token(flow, key="d3Jvbmc="))[0], 401, "a wrong key")
        status, body = events(flow, "?limit=50")
        check_eq(status, 200, f"GET /debug/events {body!r}")
        check_eq(len(body["events"]), 4, "traced events")
        check(all(e["source"] == "http" for e in body["events"]), "source of every event: http")

        # The message that is not JSON: its error and class, found by its partition key.
        broken = final(flow, "broken-gateway", 1)[0]
        check_eq(broken["status"], "failed", "not-JSON status")
        check_eq(broken["errors"][0]["type"], "InvalidDataFormatException", "not-JSON error")
        check_eq(broken["outcome"]["class"], "permanent", "not-JSON class")
        check_eq(broken["body"], "not json {", "not-JSON body kept as sent")

        # VITALS (MSFT00001): written groups, and bloodPulseWave failing (no FHIR template).
        vitals = final(flow, "MSFT00001", 1)[0]
        check_eq(vitals["status"], "failed", "VITALS status")
        check_eq(vitals["outcome"]["type"], "TemplateNotFoundException", "VITALS outcome")
        check_eq(vitals["outcome"]["class"], "permanent", "VITALS class")
        failing = [g for g in vitals["groups"] if g["errors"]]
        check_eq([g["type"] for g in failing], ["BloodPulseWave"], "failing groups of VITALS")
        check_eq(vitals["body"], messages["vitals"], "VITALS body as sent (for the designer)")
        check(vitals["measurementCount"] >= 7, f"VITALS measurements {vitals['measurementCount']}")
        check(vitals.get("partition") in range(4), f"VITALS partition (of 4 HTTP partitions): {vitals.get('partition')}")

        # Every Observation named by the trace is on the server, and all 9 are named.
        named = {}
        for dev_id in ("MSFT00001", "MSFT00002BP", "MSFT00003WT"):
            ev = final(flow, dev_id, 1)[0]
            check_path_against_server(fhir, ev)
            for g in ev["groups"]:
                for o in g["observations"]:
                    named[o["id"]] = o["operation"]
        on_server = {o["id"] for o in fhir.search("Observation")}
        check_eq(set(named), on_server, "Observation ids in the trace vs on the FHIR server")
        check_eq(set(named.values()), {"created"}, "operations of the first writes")
        log(f"{len(named)} Observations traced and found on the server; VITALS and the not-JSON event failed")

        # The same weight again: same id, no-op.
        flow.send(messages["weight"])
        again = final(flow, "MSFT00003WT", 2)
        newest, first = again
        wid = first["groups"][0]["observations"][0]["id"]
        check_eq(newest["groups"][0]["observations"], [{"id": wid, "operation": "no-op"}],
                 "the repeated weight's Observation")

        # iomtflow trace: the same path, readably.
        r = trace_cli(flow, "--device", "MSFT00003WT", "--limit", "2")
        check_eq(r.returncode, 0, f"iomtflow trace exit status (stderr {r.stderr})")
        check(f"Observation/{wid}  no-op" in r.stdout and f"Observation/{wid}  created" in r.stdout,
              f"iomtflow trace output:\n{r.stdout}")
        r = trace_cli(flow, "--device", "MSFT00001")
        check_eq(r.returncode, 0, f"iomtflow trace exit status (stderr {r.stderr})")
        check("TemplateNotFoundException" in r.stdout and "deadletter replay" in r.stdout,
              f"iomtflow trace of VITALS:\n{r.stdout}")
        r = trace_cli(flow, "--device", "MSFT00001", key="d3Jvbmc=")
        check_eq(r.returncode, 1, "iomtflow trace with a wrong key")
        check("401" in r.stderr and "d3Jvbmc" not in r.stderr, f"wrong key message: {r.stderr}")
        r = trace_cli(flow, "--device", "MSFT00001", "--json")
        check_eq(json.loads(r.stdout)["events"][0]["id"], vitals["id"], "iomtflow trace --json")
        log("iomtflow trace prints the path, the error and the replay hint")

        # The designer's Live tab reads the same, with the same auth.
        status, _, _ = http_call(f"{designer_base}/designer/api/events?device=MSFT00001")
        check_eq(status, 401, "designer api/events without a token")
        status, _, data = http_call(f"{designer_base}/designer/api/events?device=MSFT00001",
                                    headers={"Authorization": namespace_token(flow)})
        check_eq(status, 200, "designer api/events")
        check_eq(json.loads(data)["events"][0]["id"], vitals["id"], "designer api/events: the newest VITALS")
        check_eq(flow.stop(), 0, "exit status after SIGTERM")


BATCH = "application/vnd.microsoft.servicebus.json"


def received_part(ev):
    """What the trace says of an event's receipt, without what differs run to run (times, source)."""
    sys_props = {k: v for k, v in ev["systemProperties"].items() if k != "x-opt-enqueued-time"}
    return {"partition": ev.get("partition"), "partitionKey": ev.get("partitionKey"), "request": ev.get("request"),
            "systemProperties": sys_props, "properties": ev["properties"], "body": ev["body"]}


def send_three(flow):
    """A single send with the client's request id, then a batch of two without one: the events'
    request ids as answered (x-ms-request-id)."""
    messages = dict(workshop_messages())
    status, hdrs, text = flow.post(messages["weight"], headers={
        "x-ms-client-request-id": "gateway-7/req-0042",
        "BrokerProperties": json.dumps({"PartitionKey": "MSFT00003WT"})})
    check_eq(status, 201, f"single send: {text}")
    check_eq(hdrs.get("x-ms-request-id"), "gateway-7/req-0042", "x-ms-request-id: the client's id")
    check_eq(hdrs.get("x-ms-client-request-id"), "gateway-7/req-0042", "x-ms-client-request-id echoed")
    single = hdrs["x-ms-request-id"]
    # Body strings: the texts exactly as the workshop has them (one is not strict JSON).
    batch = [{"Body": messages["bp"], "BrokerProperties": {"PartitionKey": "MSFT00002BP"}},
             {"Body": messages["vitals"], "UserProperties": {"gateway": "g-7"}}]
    status, hdrs, text = flow.post(json.dumps(batch), headers={"Content-Type": BATCH})
    check_eq(status, 201, f"batch send: {text}")
    check("x-ms-client-request-id" not in hdrs, f"nothing to echo: {hdrs}")
    made = hdrs.get("x-ms-request-id", "")
    check(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", made),
          f"x-ms-request-id made by the service: {made!r}")
    return single, made


def received_with(fhir, buffer_on):
    """The received part of the three events of send_three, oldest first, and the request ids."""
    fhir.reset()
    device, mapping = workshop_mappings()
    with Iomtflow(fhir.url, device, mapping, config=dict(TRACE_ON, buffer={"enabled": buffer_on})) as flow:
        single, made = send_three(flow)

        def three():
            status, body = events(flow, "?limit=50")
            check_eq(status, 200, "GET /debug/events")
            evs = body["events"]
            return evs if len(evs) == 3 and all(e["status"] != "pending" for e in evs) else None
        evs = list(reversed(wait_until(three, 30, "3 final events")))
        want_source = "http via durable buffer" if buffer_on else "http"
        check_eq([e["source"] for e in evs], [want_source] * 3, "sources")
        check_eq([e["request"] for e in evs],
                 [{"id": single}, {"id": made, "index": 0}, {"id": made, "index": 1}], "request of each event")
        for e in evs:
            check(e.get("partition") in range(4), f"partition (of 4 HTTP partitions): {e.get('partition')}")
            check("x-opt-sequence-number" in e["systemProperties"] and "x-opt-offset" in e["systemProperties"],
                  f"Event Hubs position: {e['systemProperties']}")
        check_eq(evs[0]["status"], "written", "the weight's status")
        check_path_against_server(fhir, evs[0])
        r = trace_cli(flow, "--device", "MSFT00002BP")
        check_eq(r.returncode, 0, f"iomtflow trace exit status (stderr {r.stderr})")
        check(f"request: {made}, batch item 0" in r.stdout, f"iomtflow trace names the request:\n{r.stdout}")
        # One request's events, by the id its sender was answered.
        r = trace_cli(flow, "--request", made, "--json")
        check_eq(r.returncode, 0, f"iomtflow trace --request exit status (stderr {r.stderr})")
        check_eq([e["request"] for e in json.loads(r.stdout)["events"]],
                 [{"id": made, "index": 1}, {"id": made, "index": 0}], "iomtflow trace --request: the batch's events")
        status, body = events(flow, "?request=gateway-7%2Freq-0042")
        check_eq([e["request"]["id"] for e in body["events"]], [single], "GET /debug/events?request=")
        check_eq(flow.stop(), 0, "exit status after SIGTERM")
        return [received_part(e) for e in evs], (single, made)


def received_is_the_same_with_and_without_the_buffer(fhir):
    direct, direct_ids = received_with(fhir, buffer_on=False)
    buffered, buffered_ids = received_with(fhir, buffer_on=True)
    # The request the service made differs run to run; everything else of the receipt is the same.
    check_eq(direct_ids[0], buffered_ids[0], "the client's request id")
    for ev in buffered:
        if ev["request"]["id"] == buffered_ids[1]:
            ev["request"]["id"] = direct_ids[1]
    for i, (a, b) in enumerate(zip(direct, buffered)):
        check_eq(b, a, f"received part of event {i} through the buffer vs without it")
    log("the trace's received part (partition, request id and index, position, properties, body) is the same "
        "with and without the durable buffer")


def failed_authentication_logs_its_request_id(fhir):
    device, mapping = workshop_mappings()
    with Iomtflow(fhir.url, device, mapping) as flow:
        status, hdrs, _ = flow.post("{}", headers={"Authorization": namespace_token(flow, key="d3Jvbmc="),
                                                   "x-ms-client-request-id": "who-sent-this"})
        check_eq(status, 401, "a wrong key")
        check_eq(hdrs.get("x-ms-request-id"), "who-sent-this", "x-ms-request-id of the 401")

        def logged():
            return [r for r in flow.log_records() if r.get("msg") == "ingest authentication failed"]
        recs = wait_until(logged, 10, "the authentication failure in the log")
        check_eq(recs[0].get("request_id"), "who-sent-this", f"request_id of the log line {recs[0]}")
        check_eq(flow.stop(), 0, "exit status after SIGTERM")


def tracing_off_is_404(fhir):
    device, mapping = workshop_mappings()
    with Iomtflow(fhir.url, device, mapping) as flow:
        flow.send(dict(workshop_messages())["weight"])
        check_eq(events(flow)[0], 404, "GET /debug/events with tracing off")
        r = trace_cli(flow, "--device", "MSFT00003WT")
        check_eq(r.returncode, 1, "iomtflow trace with tracing off")
        check("debug.trace.enabled" in r.stderr, f"iomtflow trace hint: {r.stderr}")
        check_eq(flow.stop(), 0, "exit status after SIGTERM")


if __name__ == "__main__":
    with FhirServer() as server:
        sys.exit(run([trace_shows_each_events_path, received_is_the_same_with_and_without_the_buffer,
                      failed_authentication_logs_its_request_id, tracing_off_is_404], server))

#!/usr/bin/env python3
"""Identity before template (issue 13, iomt-spec §1, §11 "Cache") through `iomtflow run` against the
real FHIR server, and `iomtflow mapping test --fhir-url` reading that server without writing to it.

- create_before_template_not_found: in Create mode a device whose first group ("steps") has no FHIR
  template still gets its Patient and Device created and linked (then TemplateNotFoundException);
  the device's later heart rate group, whose message names another patient, is written for that
  Patient with the Observation id upstream computes (the per-device cache), in a later flush and
  within one flush (an Event Hubs batch).
- mapping_test_reads_the_server: Lookup and Create against the live server: the Device's Patient is
  used, unknown devices are DeviceNotFoundException, and nothing is ever written (server stats).
Expected ids are upstream's: sha256("_" + patientId), sha256(system + "_" + deviceId) and
sha256(service system + "_" + "{patient}.{device}.{type}.{segment}") (iomt-spec §8.1, §10)."""

import json
import os
import subprocess
import sys
import tempfile

from harness import SERVICE_SYSTEM, FhirServer, Iomtflow, check, check_eq, log, metric, run, sha256_hex

DEVICE_MAPPING = {
    "templateType": "CollectionContent",
    "template": [
        {"templateType": "CalculatedContent", "template": {
            "typeName": "steps", "typeMatchExpression": "$..[?(@steps)]",
            "deviceIdExpression": "$.matchedToken.device", "timestampExpression": "$.matchedToken.time",
            "patientIdExpression": "$.matchedToken.patient",
            "values": [{"valueName": "steps", "valueExpression": "$.matchedToken.steps", "required": True}]}},
        {"templateType": "CalculatedContent", "template": {
            "typeName": "heartrate", "typeMatchExpression": "$..[?(@hr)]",
            "deviceIdExpression": "$.matchedToken.device", "timestampExpression": "$.matchedToken.time",
            "patientIdExpression": "$.matchedToken.patient",
            "values": [{"valueName": "hr", "valueExpression": "$.matchedToken.hr", "required": True}]}},
    ],
}
FHIR_MAPPING = {
    "templateType": "CollectionFhir",
    "template": [{"templateType": "CodeValueFhir", "template": {
        "typeName": "heartrate", "codes": [{"code": "8867-4", "system": "http://loinc.org"}],
        "value": {"valueType": "Quantity", "valueName": "hr", "unit": "count/min"}}}],
}


def mapping_files():
    d = tempfile.mkdtemp(prefix="iomt-it-identity-")
    paths = []
    for name, doc in (("devicecontent.json", DEVICE_MAPPING), ("fhirmapping.json", FHIR_MAPPING)):
        p = os.path.join(d, name)
        with open(p, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
        paths.append(p)
    return d, paths[0], paths[1]


def obs_id(patient, device, type_name, segment):
    return sha256_hex(f"{SERVICE_SYSTEM}_{patient}.{device}.{type_name}.{segment}")


def message(device, patient, time, **values):
    m = {"device": device, "time": time, **values}
    if patient:
        m["patient"] = patient
    return json.dumps(m)


def check_device_patient(fhir, device, patient):
    """Device/sha256("_"+device) exists, linked to Patient/sha256("_"+patient); returns the ids."""
    pid, did = sha256_hex("_" + patient), sha256_hex("_" + device)
    d = fhir.get(f"Device/{did}")
    check_eq(d["patient"]["reference"], f"Patient/{pid}", f"Device {device}'s patient")
    check_eq(fhir.get(f"Patient/{pid}")["identifier"][0]["value"], patient, "Patient identifier")
    return pid, did


def create_before_template_not_found(fhir):
    fhir.reset()
    tmp, dpath, fpath = mapping_files()
    with Iomtflow(fhir.url, dpath, fpath, identity="Create") as flow:
        # 1. A later flush: steps (no FHIR template) first, alone.
        flow.send(message("deviceA", "patientA", "2024-01-02T03:04:05Z", steps=100))
        check_eq(fhir.search("Observation"), [], "Observations after the steps message")
        pid, did = check_device_patient(fhir, "deviceA", "patientA")
        log("steps: Patient and Device created and linked before TemplateNotFoundException")
        flow.send(message("deviceA", "otherPatient", "2024-01-02T03:04:06Z", hr=72))
        want = obs_id(pid, did, "heartrate", "20240102030406Z.20240102030406Z")
        obs = fhir.search("Observation")
        check_eq([o["id"] for o in obs], [want], "Observation ids (upstream's, for patientA)")
        check_eq(obs[0]["subject"]["reference"], f"Patient/{pid}", "Observation subject")
        check_eq(obs[0]["valueQuantity"]["value"], 72, "heart rate")
        check_eq(fhir.search("Patient?identifier=otherPatient"), [], "a Patient for the heart rate message's patient")

        # 2. One flush: both messages in one Event Hubs batch.
        batch = json.dumps([{"Body": message("deviceB", "patientB", "2024-01-02T04:00:00Z", steps=5)},
                            {"Body": message("deviceB", "patientC", "2024-01-02T04:00:01Z", hr=61)}])
        status, _, text = flow.post(batch, headers={"Content-Type": "application/vnd.microsoft.servicebus.json"})
        check_eq(status, 201, f"batch send ({text})")
        pid_b, did_b = check_device_patient(fhir, "deviceB", "patientB")
        want_b = obs_id(pid_b, did_b, "heartrate", "20240102040001Z.20240102040001Z")
        check_eq(fhir.get(f"Observation/{want_b}")["subject"]["reference"], f"Patient/{pid_b}", "batch Observation")
        check_eq(fhir.search("Patient?identifier=patientC"), [], "a Patient for patientC")
        values, _ = flow.metrics()
        check_eq(metric(values, "iomtflow_errors_total", type="TemplateNotFoundException"), 2.0,
                 "TemplateNotFoundException counted")
        log("heart rate written for the first group's Patient, in a later flush and within one flush")
        check_eq(flow.stop(), 0, "exit status after SIGTERM")
    return tmp


def mapping_test(args):
    binary = os.environ["IOMTFLOW"]
    r = subprocess.run([binary, "mapping", "test", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60)
    check_eq(r.returncode, 0, f"mapping test exit status ({r.stderr})")
    return json.loads(r.stdout)


def writes(stats):
    return {m: n for m, n in stats["byMethod"].items() if m not in ("GET", "HEAD")}


def mapping_test_reads_the_server(fhir):
    fhir.reset()
    fhir.put({"resourceType": "Patient", "id": "p1", "identifier": [{"value": "mary"}]})
    fhir.put({"resourceType": "Device", "id": "d1", "identifier": [{"value": "deviceA"}],
              "patient": {"reference": "Patient/p1"}})
    fhir.put({"resourceType": "Device", "id": "d2", "identifier": [{"value": "orphan"}]})
    tmp, dpath, fpath = mapping_files()
    msgs = []
    for name, text in (("known", message("deviceA", "ignored", "2024-01-02T03:04:06Z", hr=70)),
                       ("unknown", message("nobody", "x", "2024-01-02T03:04:06Z", hr=71)),
                       ("orphan", message("orphan", "patientZ", "2024-01-02T03:04:06Z", hr=72))):
        p = os.path.join(tmp, f"{name}.json")
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        msgs.append(p)
    before = fhir.stats()
    base = ["--device-mapping", dpath, "--fhir-mapping", fpath, "--fhir-url", fhir.url,
            "--issued", "2024-01-02T05:00:00Z"]
    lookup = mapping_test(base + ["--identity", "Lookup", *msgs])
    check_eq([o["subject"]["reference"] for o in lookup["observations"]], ["Patient/p1"], "Lookup subjects")
    check_eq(lookup["observations"][0]["id"], obs_id("p1", "d1", "heartrate", "20240102030406Z.20240102030406Z"),
             "Lookup Observation id")
    check_eq(sorted(e["type"] for e in lookup["errors"]), ["DeviceNotFoundException", "PatientNotFoundException"],
             "Lookup errors")
    check_eq(lookup["identity"]["source"], "server", "identity source")
    check(lookup["identity"]["serverSearches"] >= 3, f"server searches: {lookup['identity']}")
    create = mapping_test(base + ["--identity", "Create", *msgs])
    check_eq(create["errors"], [], "Create errors")
    would = create["identity"]["wouldWrite"]
    check(f"Device/{sha256_hex('_nobody')}" in would and "Device/d2" in would, f"Create would write {would}")
    after = fhir.stats()
    check_eq(writes(after), writes(before), "FHIR writes during mapping test (must be none)")
    check(after["byMethod"].get("GET", 0) > before["byMethod"].get("GET", 0), "mapping test did not search")
    check_eq(len(fhir.search("Device")), 2, "Devices on the server")
    check_eq(len(fhir.search("Patient")), 1, "Patients on the server")
    check_eq(fhir.search("Observation"), [], "Observations on the server")
    check_eq(len(fhir.history("Device", "d2")), 1, "versions of the unlinked Device")
    log(f"Lookup and Create against the server: {len(would)} writes kept in memory, none sent")


if __name__ == "__main__":
    with FhirServer() as server:
        sys.exit(run([create_before_template_not_found, mapping_test_reads_the_server], server))

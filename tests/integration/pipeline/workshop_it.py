#!/usr/bin/env python3
"""The Azure workshop's MedTech flow (Challenge-09 mappings and its three sample messages) through
`iomtflow run`, over HTTP with SAS, into the real FHIR server: Create mode (Patient and Device
created with the ids of iomt-spec §10) and Lookup mode (pre-created Device with Device.patient; the
message's patient id is ignored, §11)."""

import sys

from harness import (SERVICE_SYSTEM, FhirServer, Iomtflow, check, check_eq, hour_segment, log, metric, run,
                     sha256_hex, workshop_mappings, workshop_messages)

# (device id, measure type) -> (message time, value, SampledData unit) for the 9 Observations: the
# VITALS message's bloodPulseWave has no FHIR template (TemplateNotFoundException, §13.2).
EXPECTED = {
    ("MSFT00001", "heartrate"): ("2020-10-22T01:34:56", "80", "Bpm"),
    ("MSFT00001", "Spo2"): ("2020-10-22T01:34:56", "96", "%"),
    ("MSFT00001", "BloodPerfusion"): ("2020-10-22T01:34:56", "1.1399999856948853", "%"),
    ("MSFT00001", "Steps"): ("2020-10-22T01:34:56", "3", "steps/second"),
    ("MSFT00001", "RespirationRate"): ("2020-10-22T01:34:56", "20", "Brpm"),
    ("MSFT00001", "SkinTemp"): ("2020-10-22T01:34:56", "33", "C"),
    ("MSFT00002BP", "BloodPressureSystolic"): ("2020-11-04T08:09:02", "185", "mmHg"),
    ("MSFT00002BP", "BloodPressureDiastolic"): ("2020-11-04T08:09:02", "100", "mmHg"),
    ("MSFT00003WT", "Weight"): ("2020-11-04T10:21:28", "150", "KG"),
}


def check_observations(fhir, patient_id, device_ids):
    """The 9 Observations, for FHIR logical ids patient_id and device_ids[message device id]."""
    observations = fhir.search("Observation")
    check_eq(len(observations), len(EXPECTED), "Observation count")
    by_identifier = {o["identifier"][0]["value"]: o for o in observations}
    for (device, kind), (ts, value, unit) in EXPECTED.items():
        ident = f"{patient_id}.{device_ids[device]}.{kind}.{hour_segment(ts)}"
        o = by_identifier.get(ident)
        check(o is not None, f"no Observation with identifier {ident}; have {sorted(by_identifier)}")
        check_eq(o["identifier"], [{"system": SERVICE_SYSTEM, "value": ident}], f"{ident} identifier")
        check_eq(o["id"], sha256_hex(SERVICE_SYSTEM + "_" + ident), f"{ident} id")
        check_eq(o["status"], "final", f"{ident} status")
        check_eq(o["subject"], {"reference": f"Patient/{patient_id}"}, f"{ident} subject")
        check_eq(o["device"], {"reference": f"Device/{device_ids[device]}"}, f"{ident} device")
        check_eq(o["code"]["text"], kind, f"{ident} code.text")
        hour = ts[:13]
        check_eq(o["effectivePeriod"], {"start": f"{hour}:00:00.0000000Z", "end": f"{hour}:59:59.9999999Z"},
                 f"{ident} effectivePeriod")
        sd = o["valueSampledData"]
        check_eq(sd["origin"], {"value": 0, "unit": unit}, f"{ident} origin")
        check_eq(sd["period"], 5000, f"{ident} period")
        tokens = sd["data"].split(" ")
        check_eq(len(tokens), 720, f"{ident} data slots")
        slot = (int(ts[14:16]) * 60 + int(ts[17:19])) // 5
        check_eq(tokens[slot], value, f"{ident} data[{slot}]")
        check_eq(sum(1 for t in tokens if t != "E"), 1, f"{ident} non-E data slots")
    return observations


def send_workshop(flow):
    for name, text in workshop_messages():
        flow.send(text)
        log(f"sent {name}: 201")


def workshop_create(fhir):
    fhir.reset()
    device, mapping = workshop_mappings()
    with Iomtflow(fhir.url, device, mapping, identity="Create") as flow:
        send_workshop(flow)
        patient_id = sha256_hex("_PatientMary")
        device_ids = {d: sha256_hex("_" + d) for d in ("MSFT00001", "MSFT00002BP", "MSFT00003WT")}
        patients = fhir.search("Patient")
        check_eq([p["id"] for p in patients], [patient_id], "Patients created")
        check_eq(patients[0]["identifier"], [{"value": "PatientMary"}], "Patient identifier")
        devices = {d["id"]: d for d in fhir.search("Device")}
        check_eq(sorted(devices), sorted(device_ids.values()), "Devices created")
        for name, did in device_ids.items():
            check_eq(devices[did]["identifier"], [{"value": name}], f"Device {name} identifier")
            check_eq(devices[did]["patient"], {"reference": f"Patient/{patient_id}"}, f"Device {name} patient")
        observations = check_observations(fhir, patient_id, device_ids)
        log(f"{len(observations)} Observations as expected")

        values, _ = flow.metrics()
        check_eq(metric(values, "iomtflow_fhir_resources_saved_total", operation="created"), 9.0, "created metric")
        check_eq(metric(values, "iomtflow_device_events_total"), 3.0, "device events metric")
        check_eq(metric(values, "iomtflow_normalized_events_total"), 10.0, "normalized events metric")

        # The same messages again: merged values are unchanged -> no write (iomt-spec §9 step 8).
        send_workshop(flow)
        values, _ = flow.metrics()
        check_eq(metric(values, "iomtflow_fhir_resources_saved_total", operation="no_op"), 9.0, "no-op metric")
        for o in fhir.search("Observation"):
            check_eq(len(fhir.history("Observation", o["id"])), 1, f"versions of {o['identifier'][0]['value']}")
        check_eq(flow.stop(), 0, "exit status after SIGTERM")


def workshop_lookup(fhir):
    fhir.reset()
    fhir.put({"resourceType": "Patient", "id": "mary-lookup", "identifier": [{"value": "mary-mrn-1"}]})
    device_ids = {"MSFT00001": "dev-vitals", "MSFT00002BP": "dev-bp", "MSFT00003WT": "dev-weight"}
    for name, did in device_ids.items():
        fhir.put({"resourceType": "Device", "id": did, "identifier": [{"value": name}],
                  "patient": {"reference": "Patient/mary-lookup"}})
    device, mapping = workshop_mappings()
    with Iomtflow(fhir.url, device, mapping, identity="Lookup") as flow:
        send_workshop(flow)
        check_observations(fhir, "mary-lookup", device_ids)
        check_eq([p["id"] for p in fhir.search("Patient")], ["mary-lookup"], "Patients (none created)")
        check_eq(sorted(d["id"] for d in fhir.search("Device")), sorted(device_ids.values()), "Devices (none created)")
        log("9 Observations reference the pre-created Device and its Patient")
        check_eq(flow.stop(), 0, "exit status after SIGTERM")


if __name__ == "__main__":
    with FhirServer() as server:
        sys.exit(run([workshop_create, workshop_lookup], server))

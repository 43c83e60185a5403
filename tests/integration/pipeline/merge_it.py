#!/usr/bin/env python3
"""Observation shapes through `iomtflow run` into the real FHIR server:
- hourly SampledData merged across two flushes into ONE Observation (iomt-spec §7, §9);
- a Quantity mapping (periodInterval 0): one Observation per reading (§8.4)."""

import json
import os
import sys
import tempfile

from harness import (SERVICE_SYSTEM, FhirServer, Iomtflow, check_eq, log, metric, run, sha256_hex,
                     workshop_mappings)


def vitals(device, patient, ts, hr):
    return json.dumps({"type": "VITALS", "data": [{"patient_id": patient, "device_id": device,
                                                   "utctimestamp": ts, "hr": hr}]})


def hourly_sampled_data_merge(fhir):
    fhir.reset()
    device, mapping = workshop_mappings()  # heartrate: hourly SampledData, defaultPeriod 5000 ms
    with Iomtflow(fhir.url, device, mapping, identity="Create", config={"pipeline": {"flush_interval": "200ms"}}) as flow:
        flow.send(vitals("merge-dev", "merge-pat", "2021-03-01T10:00:07+00:00", 71))
        first = fhir.search("Observation")
        check_eq(len(first), 1, "Observations after the first reading")
        check_eq(first[0]["status"], "final", "status after create")
        # The 201 above came after the first flush had written; this reading is a second flush.
        flow.send(vitals("merge-dev", "merge-pat", "2021-03-01T10:30:00+00:00", 72))
        obs = fhir.search("Observation")
        check_eq(len(obs), 1, "Observations after the second reading (same hour)")
        o = obs[0]
        ident = f"{sha256_hex('_merge-pat')}.{sha256_hex('_merge-dev')}.heartrate.20210301100000Z.20210301105959Z"
        check_eq(o["identifier"], [{"system": SERVICE_SYSTEM, "value": ident}], "identifier")
        check_eq(o["id"], first[0]["id"], "id kept")
        check_eq(o["status"], "amended", "status after merge")
        tokens = o["valueSampledData"]["data"].split(" ")
        check_eq(len(tokens), 720, "data slots")
        check_eq(tokens[1], "71", "slot 1 (10:00:07)")
        check_eq(tokens[360], "72", "slot 360 (10:30:00)")
        check_eq(sum(1 for t in tokens if t != "E"), 2, "non-E slots")
        check_eq(o["effectivePeriod"], {"start": "2021-03-01T10:00:00.0000000Z", "end": "2021-03-01T10:59:59.9999999Z"},
                 "effectivePeriod")
        check_eq(len(fhir.history("Observation", o["id"])), 2, "versions (create + one update)")
        values, _ = flow.metrics()
        check_eq(metric(values, "iomtflow_fhir_resources_saved_total", operation="created"), 1.0, "created")
        check_eq(metric(values, "iomtflow_fhir_resources_saved_total", operation="updated"), 1.0, "updated")
        log("one Observation, status amended, values at slots 1 and 360")

        # A reading in the next hour is another Observation.
        flow.send(vitals("merge-dev", "merge-pat", "2021-03-01T11:00:00+00:00", 73))
        check_eq(len(fhir.search("Observation")), 2, "Observations after a reading in the next hour")
        check_eq(flow.stop(), 0, "exit status after SIGTERM")


QUANTITY_DEVICE = {
    "templateType": "CollectionContent",
    "template": [{"templateType": "JsonPathContent", "template": {
        "typeName": "bodyweight", "typeMatchExpression": "$..[?(@weight)]", "timestampExpression": "$.time",
        "deviceIdExpression": "$.device", "patientIdExpression": "$.patient",
        "values": [{"valueName": "weight", "valueExpression": "$.weight", "required": True}]}}],
}
QUANTITY_FHIR = {
    "templateType": "CollectionFhir",
    "template": [{"templateType": "CodeValueFhir", "template": {
        "typeName": "bodyweight", "periodInterval": 0,
        "codes": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}],
        "value": {"valueType": "Quantity", "valueName": "weight", "unit": "kg",
                  "system": "http://unitsofmeasure.org", "code": "kg"}}}],
}


def write_quantity_mappings(folder):
    device, mapping = os.path.join(folder, "devicecontent.json"), os.path.join(folder, "fhirmapping.json")
    with open(device, "w", encoding="utf-8") as f:
        json.dump(QUANTITY_DEVICE, f)
    with open(mapping, "w", encoding="utf-8") as f:
        json.dump(QUANTITY_FHIR, f)
    return device, mapping


def readings(device, patient, items):
    return json.dumps({"readings": [{"device": device, "patient": patient, "time": t, "weight": w} for t, w in items]})


def quantity_per_reading(fhir):
    fhir.reset()
    with tempfile.TemporaryDirectory(prefix="iomt-it-quantity-") as folder:
        device, mapping = write_quantity_mappings(folder)
        sent = [("2021-05-01T08:00:00Z", "70.5"), ("2021-05-01T08:00:30Z", "70.4"), ("2021-05-01T09:15:00Z", "70.25")]
        more = [("2021-05-02T08:00:00Z", "71"), ("2021-05-02T20:00:00Z", "70.75")]
        with Iomtflow(fhir.url, device, mapping, identity="Create") as flow:
            flow.send(readings("scale-1", "pat-q", sent))  # one event, three readings
            flow.send(readings("scale-1", "pat-q", more))
            obs = fhir.search("Observation")
            check_eq(len(obs), 5, "Observations (one per reading)")
            by_ident = {o["identifier"][0]["value"]: o for o in obs}
            prefix = f"{sha256_hex('_pat-q')}.{sha256_hex('_scale-1')}.bodyweight."
            for ts, w in sent + more:
                seg = ts.replace("-", "").replace(":", "").replace("T", "")[:14] + "Z"
                o = by_ident.get(f"{prefix}{seg}.{seg}")
                check_eq(o is not None, True, f"Observation for {ts}")
                check_eq(o["valueQuantity"], {"value": float(w), "unit": "kg", "system": "http://unitsofmeasure.org",
                                              "code": "kg"}, f"valueQuantity at {ts}")
                iso = ts[:19] + ".0000000Z"
                check_eq(o["effectivePeriod"], {"start": iso, "end": iso}, f"effectivePeriod at {ts}")
                check_eq(o["status"], "final", f"status at {ts}")
            values, _ = flow.metrics()
            check_eq(metric(values, "iomtflow_fhir_resources_saved_total", operation="created"), 5.0, "created")
            log("5 readings -> 5 Quantity Observations")
            check_eq(flow.stop(), 0, "exit status after SIGTERM")


if __name__ == "__main__":
    with FhirServer() as server:
        sys.exit(run([hourly_sampled_data_merge, quantity_per_reading], server))

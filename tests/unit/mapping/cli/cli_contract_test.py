#!/usr/bin/env python3
"""The `iomtflow` CLI contract: exit codes and the one-JSON-object output of `mapping test`,
`mapping validate` error listings, `expr` results and error kinds. Usage: cli_contract_test.py IOMTFLOW"""
import json
import os
import subprocess
import sys
import tempfile

iomtflow = sys.argv[1]
shared = os.environ.get("IOMT_SHARED_DIR", "../shared")
work = os.path.join(shared, "vectors/azure-health-data-services-workshop/Challenge-09 - MedTech service/SampleData")
tin = os.path.join(shared, "vectors/iomt-fhir/test/Microsoft.Health.Fhir.Ingest.Template.UnitTests/TestInput")
passed = failed = 0


def run(args, stdin=None):
    return subprocess.run([iomtflow] + args, input=stdin, capture_output=True, text=True, timeout=60)


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


tmp = tempfile.mkdtemp()
msgs, cur = [], None
for line in open(os.path.join(work, "Three-Sample-Message-Types.json")):
    if line.strip().startswith("="):
        cur = []
        msgs.append(cur)
    elif cur is not None:
        cur.append(line)
files = []
for i, m in enumerate(msgs):
    p = os.path.join(tmp, f"m{i}.json")
    open(p, "w").write("".join(m))
    files.append(p)
dm, fm = os.path.join(work, "Answers/devicecontent.json"), os.path.join(work, "Answers/fhirmapping.json")

r = run(["mapping", "validate", "--device-mapping", dm, "--fhir-mapping", fm])
check("validate workshop exit 0", r.returncode == 0, r.stderr + r.stdout)

r = run(["mapping", "test", "--device-mapping", dm, "--fhir-mapping", fm] + files)
check("test workshop exit 0", r.returncode == 0, r.stderr)
out = json.loads(r.stdout)
check("one object with five keys", set(out) == {"measurements", "observations", "errors", "warnings", "identity"},
      str(out.keys()))
check("no warnings for the workshop", out["warnings"] == [], str(out["warnings"]))
check("identity block", out["identity"] == {"mode": "Create", "source": "empty", "wouldWrite": out["identity"]["wouldWrite"]}
      and len(out["identity"]["wouldWrite"]) == 4, str(out["identity"]))
check("10 measurements", len(out["measurements"]) == 10)
check("9 observations", len(out["observations"]) == 9)
check("measurement keys", set(out["measurements"][0]) <= {"type", "deviceId", "patientId", "encounterId", "correlationId",
                                                          "occurrenceTimeUtc", "properties"})
check("error shape", all(set(e) >= {"stage", "type", "message"} for e in out["errors"]))

# Validator warnings carry their line: BloodPulseWave's typeName (issue 13).
r = run(["mapping", "validate", "--device-mapping", dm, "--fhir-mapping", fm, "--json"])
report = json.loads(r.stdout)
warn = [e for e in report["deviceMapping"]["errors"] if e["type"] == "TemplateNotFoundException"]
check("validate --json warning with position", len(warn) == 1 and warn[0]["property"] == "typeName" and warn[0].get("line", 0) > 0
      and warn[0]["templateIndex"] >= 0, str(warn))

# Lookup (issue 13): against no resources every device is DeviceNotFoundException; against a
# Bundle with the workshop's devices the Observations are written for the Devices' Patient.
r = run(["mapping", "test", "--device-mapping", dm, "--fhir-mapping", fm, "--identity", "Lookup"] + files)
check("lookup exit 0", r.returncode == 0, r.stderr)
out = json.loads(r.stdout)
check("lookup without resources", len(out["observations"]) == 0 and {e["type"] for e in out["errors"]} ==
      {"DeviceNotFoundException"} and all(e.get("exception") == "FhirResourceNotFoundException" for e in out["errors"]),
      r.stdout)
res = os.path.join(tmp, "resources.json")
json.dump({"resourceType": "Bundle", "type": "collection", "entry": [
    {"resource": {"resourceType": "Patient", "id": "mary", "identifier": [{"value": "PatientMary"}]}}] + [
    {"resource": {"resourceType": "Device", "id": f"dev{i}", "identifier": [{"value": d}],
                  "patient": {"reference": "Patient/mary"}}}
    for i, d in enumerate(["MSFT00001", "MSFT00002BP", "MSFT00003WT"])]}, open(res, "w"))
r = run(["mapping", "test", "--device-mapping", dm, "--fhir-mapping", fm, "--identity", "lookup", "--resources", res] + files)
check("lookup with resources exit 0", r.returncode == 0, r.stderr)
out = json.loads(r.stdout)
check("lookup with resources: 9 observations for Patient/mary", len(out["observations"]) == 9 and
      all(o["subject"]["reference"] == "Patient/mary" for o in out["observations"]), r.stdout[:2000])
check("lookup with resources: source", out["identity"]["source"] == "resources" and out["identity"]["wouldWrite"] == [])
for args, what in ((["--identity", "Sometimes"], "bad --identity"),
                   (["--resources", res, "--fhir-url", "http://127.0.0.1:9/fhir"], "--resources with --fhir-url"),
                   (["--resources", dm], "resources that are not resources"),
                   (["--fhir-url", "ftp://x"], "unusable --fhir-url")):
    r = run(["mapping", "test", "--device-mapping", dm, "--fhir-mapping", fm] + args + files)
    check(f"{what}: exit 2 with a reason", r.returncode == 2 and "error" in r.stderr, f"{r.returncode} {r.stderr}")

# ndjson: one message per line, plus a line that is not JSON -> InvalidDataFormatException, exit 0.
nd = os.path.join(tmp, "batch.ndjson")
with open(nd, "w") as f:
    f.write(json.dumps({"type": "BP", "data": [{"patient_id": "p1", "device_id": "d1", "sys": "120", "dia": "80",
                                               "utctimestamp": "2020-11-04T08:09:02+00:00"}]}) + "\n")
    f.write("this is not json\n")
r = run(["mapping", "test", "--device-mapping", dm, "--fhir-mapping", fm, nd])
check("ndjson exit 0", r.returncode == 0, r.stderr)
out = json.loads(r.stdout)
check("ndjson 2 measurements", len(out["measurements"]) == 2, r.stdout)
check("ndjson: no warning (the BP line has measurements, the bad line is an error)", out["warnings"] == [], r.stdout)
check("ndjson bad line reported", any(e["type"] == "InvalidDataFormatException" and e["stage"] == "normalization"
                                      for e in out["errors"]), r.stdout)
other = os.path.join(tmp, "other.json")
open(other, "w").write('{"nothing": "a template matches"}')
r = run(["mapping", "test", "--device-mapping", dm, "--fhir-mapping", fm, other])
out = json.loads(r.stdout)
check("a message no template matches: MappingValidator's warning", r.returncode == 0 and out["errors"] == [] and
      out["warnings"] == [{"stage": "normalization",
                           "message": f"No measurements were produced for the given device data. ({other})"}], r.stdout)

# envelope mode: IoT Hub payload from the upstream tests.
tpl = os.path.join(tmp, "iot.json")
json.dump({"templateType": "CollectionContent", "template": [{"templateType": "IotJsonPathContent", "template": {
    "typeName": "heartrate", "typeMatchExpression": "$..[?(@Body.heartrate)]",
    "values": [{"required": "true", "valueExpression": "$.Body.heartrate", "valueName": "hr"}]}}]}, open(tpl, "w"))
r = run(["mapping", "test", "--device-mapping", tpl, "--fhir-mapping", fm, "--envelope",
         os.path.join(tin, "data_IotHubPayloadExample.json")])
check("envelope exit 0", r.returncode == 0, r.stderr)
out = json.loads(r.stdout)
check("envelope measurement", len(out["measurements"]) == 1 and out["measurements"][0]["deviceId"] == "ev-d795-1d04-55ae",
      r.stdout)

# invalid mappings: non-zero, every error with its location.
r = run(["mapping", "validate", "--device-mapping", os.path.join(tin, "data_CollectionContentTemplateInvalid.json"),
         "--fhir-mapping", fm])
check("validate invalid non-zero", r.returncode != 0)
check("validate lists DeviceIdExpression at line 6", ":6:" in r.stdout and "DeviceIdExpression" in r.stdout, r.stdout)
check("validate lists line 20", ":20:" in r.stdout, r.stdout)
r = run(["mapping", "test", "--device-mapping", os.path.join(tin, "data_CollectionContentTemplateInvalid.json"),
         "--fhir-mapping", fm] + files)
check("test with invalid mapping non-zero", r.returncode != 0)

# expr
r = run(["expr", "--jmespath", "add(a, b)"], '{"a": 1, "b": 2}')
check("expr jmespath", r.returncode == 0 and json.loads(r.stdout) == 3, r.stdout + r.stderr)
r = run(["expr", "--jsonpath", "$..[?(@hr)].hr"], '{"data": [{"hr": 80}, {"x": 1}, {"hr": 81}]}')
check("expr jsonpath", r.returncode == 0 and json.loads(r.stdout) == [80, 81], r.stdout + r.stderr)
for expr, kind in [("foo[", "syntax"), ("nosuch(@)", "unknown-function"), ("abs(`1`, `2`)", "invalid-arity"),
                   ("abs('x')", "invalid-type"), ("divide(`1`, `0`)", "invalid-value")]:
    r = run(["expr", "--jmespath", expr], "{}")
    check(f"expr error {kind}", r.returncode == 2 and kind in r.stderr, f"{expr}: rc={r.returncode} {r.stderr}")
r = run(["expr", "--jsonpath", "$.a[?(@.b == ]"], "{}")
check("expr jsonpath syntax", r.returncode == 2 and "syntax" in r.stderr, r.stderr)

print(f"cli_contract: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

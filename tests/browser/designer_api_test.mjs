// The designer's JSON API over real HTTP (issue 6): same object as `iomtflow mapping test`,
// clear 4xx answers for bad input, size limit, examples. Needs only node (no browser).
//   IOMTFLOW=build/pipeline/iomtflow IOMT_SHARED_DIR=../shared node tests/browser/designer_api_test.mjs
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { startDesigner, workshopDir } from "./browser_support.mjs";

let server;
before(async () => {
  server = await startDesigner();
});
after(async () => {
  await server?.stop();
});

const post = (path, body, headers = { "Content-Type": "application/json" }) =>
  fetch(server.url + path, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });

const workshop = () => ({
  deviceMapping: readFileSync(`${workshopDir()}/Answers/devicecontent.json`, "utf8"),
  fhirMapping: readFileSync(`${workshopDir()}/Answers/fhirmapping.json`, "utf8"),
});

test("the page is served", async () => {
  const res = await fetch(server.url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /text\/html/);
  assert.match(await res.text(), /iomtflow/);
});

test("the workshop example is read from the shared folder", async () => {
  const res = await fetch(server.url + "api/examples/workshop");
  assert.equal(res.status, 200);
  const ex = await res.json();
  assert.equal(ex.source, "shared");
  assert.deepEqual(ex.messages.map((m) => m.name), ["vitals.json", "bp.json", "weight.json"]);
  assert.equal(ex.deviceMapping, workshop().deviceMapping);
});

test("the built-in example runs", async () => {
  const ex = await (await fetch(server.url + "api/examples/builtin")).json();
  const res = await post("api/mapping/test", ex);
  assert.equal(res.status, 200);
  const out = await res.json();
  assert.equal(out.errors.length, 0, JSON.stringify(out.errors));
  assert.equal(out.measurements.length, 9);
  assert.equal(out.observations.length, 2);
  const hr = out.observations.find((o) => o.code.text === "heartRate");
  assert.match(hr.valueSampledData.data, /^72 75 81 78 E E E 90 94 91 E E E E E 80( E){44}$/);
});

test("validate: the workshop mappings are valid, with the BloodPulseWave warning", async () => {
  const res = await post("api/mapping/validate", workshop());
  assert.equal(res.status, 200);
  const report = await res.json();
  assert.equal(report.valid, true);
  assert.ok(report.deviceMapping.errors.some((e) => e.severity === "warning" && e.type === "TemplateNotFoundException"));
});

test("validate: a missing required property has its upstream name, line and column", async () => {
  const w = workshop();
  w.deviceMapping = w.deviceMapping.replace(/\s*"typeMatchExpression": "\$\.\.\[\?\(@hr\)\]",/, "");
  const report = await (await post("api/mapping/validate", w)).json();
  assert.equal(report.valid, false);
  const e = report.deviceMapping.errors[0];
  assert.equal(e.type, "InvalidTemplateException");
  assert.equal(e.line, 6);
  assert.equal(e.templateIndex, 0);
  assert.match(e.message, /Required property 'TypeMatchExpression' not found/);
});

test("test: the workshop messages give the same object as `iomtflow mapping test`", async () => {
  const ex = await (await fetch(server.url + "api/examples/workshop")).json();
  const res = await post("api/mapping/test", { ...workshop(), messages: ex.messages, issued: "2020-11-05T00:00:00Z" });
  assert.equal(res.status, 200);
  const out = await res.json();
  assert.deepEqual(Object.keys(out), ["measurements", "observations", "errors", "warnings", "identity"]);
  assert.deepEqual(out.warnings, []);
  assert.deepEqual(out.identity.mode, "Create");
  assert.equal(out.measurements.length, 10);
  assert.equal(out.observations.length, 9);
  assert.equal(out.errors.length, 1);
  assert.equal(out.errors[0].type, "TemplateNotFoundException");
  const hr = out.observations.find((o) => o.code.text === "heartrate");
  assert.equal(hr.valueSampledData.data.split(" ").length, 720);
  assert.match(hr.issued, /^2020-11-05T00:00:00/);
});

test("test: identity Lookup against resources, and its 4xx answers (issue 13)", async () => {
  const ex = await (await fetch(server.url + "api/examples/workshop")).json();
  const resources = [
    { resourceType: "Patient", id: "mary", identifier: [{ value: "PatientMary" }] },
    { resourceType: "Device", id: "d1", identifier: [{ value: "MSFT00001" }], patient: { reference: "Patient/mary" } },
  ];
  const out = await (await post("api/mapping/test", { ...workshop(), messages: ex.messages, identity: { mode: "Lookup", resources } })).json();
  assert.deepEqual(out.identity, { mode: "Lookup", source: "resources", wouldWrite: [] });
  assert.ok(out.observations.length > 0 && out.observations.every((o) => o.subject.reference === "Patient/mary"));
  // MSFT00002BP and MSFT00003WT are not among the resources.
  assert.deepEqual([...new Set(out.errors.map((e) => e.type))].sort(), ["DeviceNotFoundException", "TemplateNotFoundException"]);
  assert.ok(out.errors.filter((e) => e.type === "DeviceNotFoundException").every((e) => e.exception === "FhirResourceNotFoundException"));
  for (const [identity, pattern] of [
    [{ mode: "Sometimes" }, /identity\.mode/],
    [{ resources: "[{" }, /identity\.resources/],
    [{ resources: [{ resourceType: "Observation", id: "o" }] }, /Observation/],
    [{ resources, serverUrl: "http://127.0.0.1:9/fhir" }, /not both/],
    [{ serverUrl: "ftp://example" }, /identity\.serverUrl/],
  ]) {
    const res = await post("api/mapping/test", { ...workshop(), messages: ex.messages, identity });
    assert.equal(res.status, 400, JSON.stringify(identity));
    assert.match((await res.json()).error, pattern);
  }
});

test("test: messages as plain strings, .ndjson lines, and per-message error sources", async () => {
  const body = {
    ...workshop(),
    messages: ["not json", { name: "two.ndjson", text: '{"type":"x"}\n\n{"a":' }],
  };
  const out = await (await post("api/mapping/test", body)).json();
  assert.deepEqual(
    out.errors.map((e) => e.message.match(/\(([^()]*)\)$/)[1]),
    ["message 1", "two.ndjson:3"],
  );
  // {"type":"x"} matches no template: upstream MappingValidator's per-message warning.
  assert.deepEqual(out.warnings, [
    { stage: "normalization", message: "No measurements were produced for the given device data. (two.ndjson:1)" },
  ]);
});

test("test: envelope mode builds {Body, Properties, SystemProperties} from its parts", async () => {
  const deviceMapping = JSON.stringify({
    templateType: "CollectionContent",
    template: [
      {
        templateType: "IotJsonPathContent",
        template: {
          typeName: "hr",
          typeMatchExpression: "$..[?(@Body.hr)]",
          patientIdExpression: "$.Body.patient",
          values: [{ valueName: "hr", valueExpression: "$.Body.hr", required: true }],
        },
      },
    ],
  });
  const fhirMapping = JSON.stringify({
    templateType: "CollectionFhir",
    template: [{ templateType: "CodeValueFhir", template: { typeName: "hr", codes: [], value: { valueType: "Quantity", valueName: "hr" } } }],
  });
  const res = await post("api/mapping/test", {
    deviceMapping,
    fhirMapping,
    envelope: true,
    messages: [
      {
        name: "iot.json",
        text: '{"hr": 61, "patient": "p-1"}',
        properties: '{"iothub-creation-time-utc": "2024-03-01T08:00:00Z"}',
        systemProperties: { "iothub-connection-device-id": "dev-9", "iothub-enqueuedtime": "2024-03-01T08:00:01Z" },
      },
    ],
  });
  assert.equal(res.status, 200);
  const out = await res.json();
  assert.equal(out.errors.length, 0, JSON.stringify(out.errors));
  assert.equal(out.measurements[0].deviceId, "dev-9");
  assert.equal(out.measurements[0].occurrenceTimeUtc, "2024-03-01T08:00:00Z");
});

test("test: invalid mappings -> 400 with the validation report, nothing run", async () => {
  const res = await post("api/mapping/test", { deviceMapping: "{", fhirMapping: workshop().fhirMapping, messages: [] });
  assert.equal(res.status, 400);
  const out = await res.json();
  assert.match(out.error, /invalid/);
  assert.equal(out.validation.valid, false);
  assert.ok(out.validation.deviceMapping.errors.length > 0);
});

test("bad requests get clear 4xx JSON answers", async () => {
  const cases = [
    [await post("api/mapping/validate", "{not json"), 400, /not valid JSON/],
    [await post("api/mapping/validate", "[1]"), 400, /must be a JSON object/],
    [await post("api/mapping/validate", { fhirMapping: "{}" }), 400, /deviceMapping is required/],
    [await post("api/mapping/validate", { deviceMapping: 5, fhirMapping: "{}" }), 400, /deviceMapping must be/],
    [await post("api/mapping/test", { ...workshop() }), 400, /messages is required/],
    [await post("api/mapping/test", { ...workshop(), messages: [1] }), 400, /messages\[0\] must be/],
    [await post("api/mapping/test", { ...workshop(), messages: [], envelope: "yes" }), 400, /envelope must be/],
    [await post("api/mapping/test", { ...workshop(), messages: [], issued: "soon" }), 400, /issued must be/],
    [await post("api/mapping/validate", "{}", { "Content-Type": "text/plain" }), 415, /application\/json/],
    [await post("api/mapping/validate", "[".repeat(300) + "]".repeat(300)), 400, /not valid JSON/],
  ];
  for (const [res, status, pattern] of cases) {
    assert.equal(res.status, status);
    assert.match(res.headers.get("content-type"), /application\/json/);
    assert.match((await res.json()).error, pattern);
  }
});

test("request size limit: over 4 MiB -> 413", async () => {
  const big = JSON.stringify({ deviceMapping: "x".repeat(4 * 1024 * 1024), fhirMapping: "{}" });
  const res = await post("api/mapping/validate", big);
  assert.equal(res.status, 413);
});

test("wrong methods and unknown paths", async () => {
  const get = await fetch(server.url + "api/mapping/test");
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST");
  assert.equal((await fetch(server.url + "api/nothing")).status, 404);
  assert.equal((await fetch(server.url + "api/examples/nothing")).status, 404);
  assert.equal((await fetch(server.url + "nothing.js")).status, 404);
  assert.equal((await fetch(server.url + "somewhere", { method: "POST", body: "x" })).status, 405);
  assert.equal((await fetch(server.url + "hub/messages", { method: "POST", body: "x" })).status, 404);
});

test("under a base path (as in `iomtflow run` at /designer/)", async () => {
  const prefixed = await startDesigner(["--base-path", "/designer"]);
  try {
    assert.match(prefixed.url, /\/designer\/$/);
    const origin = new URL(prefixed.url).origin;
    const bare = await fetch(origin + "/designer", { redirect: "manual" });
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get("location"), "/designer/");
    assert.match(await (await fetch(prefixed.url)).text(), /iomtflow/);
    const res = await fetch(prefixed.url + "api/mapping/validate", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(workshop()),
    });
    assert.equal((await res.json()).valid, true);
    assert.equal((await fetch(origin + "/")).status, 404);
    // Event Hubs send routes are never served by the designer.
    const send = await fetch(origin + "/hub/messages", { method: "POST", body: "{}" });
    assert.equal(send.status, 404);
    assert.match((await send.json()).message, /iomtflow designer has no ingest/);
  } finally {
    await prefixed.stop();
  }
});

// The designer's FHIR identity panel (issue 13) in Debian's Chromium, headless (Playwright,
// browser_support.mjs): Lookup mode against resources typed in the page, its upstream errors,
// LookupWithEncounter, and Lookup against a live FHIR server that is searched but never written.
// A missing Chromium, playwright-core or FHIR server fails the test. With
// IOMT_DESIGNER_SCREENSHOTS=DIR the panel is saved there (docs/img/designer-lookup.png).
//   IOMTFLOW=... IOMT_SHARED_DIR=../shared node tests/browser/designer_lookup_test.mjs
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { browserSession, shots, startDesigner, startFhirServer, waitForRun as waitForRunOf }
  from "./browser_support.mjs";

let page;
const waitForRun = (state) => waitForRunOf(page, state);
browserSession(startDesigner, async (p, server) => {
  page = p;
  await page.goto(server.url);
  await waitForRun("done"); // the workshop example, Create mode on an empty server
});

// Waits for the run that a change started (the status leaves "done" and comes back).
async function rerun(action) {
  await page.evaluate(() => (document.getElementById("status").dataset.state = "stale"));
  await action();
  await waitForRun("done");
}
async function setResources(text) {
  await rerun(async () => {
    const content = page.locator("#identity-resources-editor .cm-content");
    await content.click();
    await page.keyboard.press("Control+a");
    await page.keyboard.insertText(text);
  });
}
const errorsText = async () => {
  await page.click('[data-result-tab="errors"]');
  const t = await page.locator("#result-errors").textContent();
  await page.click('[data-result-tab="observations"]');
  return t;
};
const observationCount = () => page.locator("#result-observations .observation").count();

test("Lookup without resources: every device is DeviceNotFoundException, nothing is written", async () => {
  assert.equal(await observationCount(), 9);
  await rerun(() => page.selectOption("#identity-mode", "Lookup"));
  assert.equal(await observationCount(), 0);
  const errors = await errorsText();
  assert.match(errors, /DeviceNotFoundException/);
  assert.doesNotMatch(errors, /TemplateNotFoundException/); // identity first, as upstream
  assert.match(await page.locator("#identity-summary").textContent(), /^Lookup against an empty FHIR server\./);
});

test("Lookup with Devices from the measurements gives the Observations for the Devices' Patients", async () => {
  await rerun(() => page.click("#identity-from-measurements"));
  const text = await page.locator("#identity-resources-editor .cm-content").textContent();
  assert.match(text, /"resourceType": "Device"/);
  assert.equal(await observationCount(), 9);
  const hr = page.locator('.observation[data-code="heartrate"]');
  assert.match(await hr.locator(".facts").textContent(), /Patient\/PatientMary/);
  assert.match(await hr.locator(".facts").textContent(), /Device\/device-MSFT00001/);
  assert.match(await errorsText(), /TemplateNotFoundException/); // BloodPulseWave, after its identity
  assert.match(await page.locator("#identity-summary").textContent(), /^Lookup against the resources above\.$/);
  await page.locator("#identity-pane").scrollIntoViewIfNeeded();
  if (shots) await page.screenshot({ path: join(shots, "designer-lookup.png") });
});

test("upstream errors: a Device without patient, two Devices, LookupWithEncounter", async () => {
  await setResources(JSON.stringify([
    { resourceType: "Device", id: "d1", identifier: [{ value: "MSFT00001" }] },
    { resourceType: "Device", id: "d2", identifier: [{ value: "MSFT00002BP" }], patient: { reference: "Patient/p" } },
    { resourceType: "Device", id: "d3", identifier: [{ system: "s", value: "MSFT00002BP" }], patient: { reference: "Patient/p" } },
    { resourceType: "Device", id: "d4", identifier: [{ value: "MSFT00003WT" }], patient: { reference: "Patient/p" } },
  ]));
  const errors = await errorsText();
  assert.match(errors, /PatientNotFoundException/);
  assert.match(errors, /MultipleDeviceFoundException/);
  assert.equal(await observationCount(), 1); // the weight of MSFT00003WT
  await rerun(() => page.selectOption("#identity-mode", "LookupWithEncounter"));
  assert.match(await errorsText(), /EncounterIdentityNotDefinedException/);
  assert.equal(await observationCount(), 0);
});

test("Lookup against a live FHIR server: searched, never written", async () => {
  const fhir = await startFhirServer();
  try {
    const { base } = fhir;
    const put = async (r) => {
      const res = await fetch(`${base}/${r.resourceType}/${r.id}`, { method: "PUT", headers: { "Content-Type": "application/fhir+json" }, body: JSON.stringify(r) });
      assert.ok(res.ok, `PUT ${r.resourceType}/${r.id}: ${res.status}`);
    };
    await put({ resourceType: "Patient", id: "mary", identifier: [{ value: "PatientMary" }] });
    for (const d of ["MSFT00001", "MSFT00002BP", "MSFT00003WT"])
      await put({ resourceType: "Device", id: `dev-${d}`, identifier: [{ value: d }], patient: { reference: "Patient/mary" } });
    const stats = async () => (await (await fetch(`${fhir.origin}/admin/stats`)).json()).byMethod;
    const before = await stats();
    await rerun(() => page.selectOption("#identity-mode", "Lookup"));
    await rerun(async () => {
      await page.check('input[name="identity-source"][value="server"]');
      await page.fill("#identity-server-url", base);
      await page.locator("#identity-server-url").dispatchEvent("change");
    });
    assert.equal(await observationCount(), 9);
    assert.match(await page.locator('.observation[data-code="heartrate"] .facts').textContent(), /Patient\/mary/);
    assert.match(await page.locator("#identity-summary").textContent(), /^Lookup against the server \(\d+ searches, read only\)\./);
    // Create mode against the server: what it would create stays in the page's answer.
    await rerun(() => page.selectOption("#identity-mode", "Create"));
    const after = await stats();
    assert.equal(after.PUT ?? 0, before.PUT ?? 0, "PUTs to the FHIR server");
    assert.equal(after.POST ?? 0, before.POST ?? 0, "POSTs to the FHIR server");
    assert.ok((after.GET ?? 0) > (before.GET ?? 0), "the designer did not search the server");
    await page.check('input[name="identity-source"][value="resources"]');
  } finally {
    await fhir.stop();
  }
});

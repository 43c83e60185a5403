// The designer in a real browser (issue 6): Playwright (playwright-core, from designer/node_modules)
// driving Debian's Chromium headless (browser_support.mjs); a missing Chromium or playwright-core
// fails the test. With IOMT_DESIGNER_SCREENSHOTS=DIR the main views are saved there (docs/img).
//   IOMTFLOW=... IOMT_SHARED_DIR=../shared node tests/browser/designer_browser_test.mjs
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { browserSession, shots, startDesigner, waitForRun as waitForRunOf, workshopDir } from "./browser_support.mjs";

let page;
const scratch = mkdtempSync(join(tmpdir(), "iomt-designer-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
browserSession(startDesigner, async (p, server) => {
  page = p;
  await page.goto(server.url);
});

const status = () => page.locator("#status");
const waitForRun = (state) => waitForRunOf(page, state);
async function shot(name) {
  if (shots) await page.screenshot({ path: join(shots, `designer-${name}.png`) });
}
async function loadExample(name) {
  await page.selectOption("#example-select", name);
  await waitForRun("done");
}

test("the workshop example gives its 9 Observations, heart rate as a SampledData chart", async () => {
  await loadExample("workshop");
  assert.match(await status().textContent(), /10 measurements, 9 Observations, 1 error/);
  assert.equal(await page.locator("#result-observations .observation").count(), 9);
  assert.equal(await page.locator("#observation-count").textContent(), "9");
  assert.equal(await page.locator("#measurement-count").textContent(), "10");
  const hr = page.locator('.observation[data-code="heartrate"]');
  await hr.waitFor();
  assert.equal(await hr.locator("svg.sampled-data-chart").count(), 1);
  // One value (slot 419 of 720) between gaps: drawn as a single point, the rest shaded as gaps.
  assert.equal(await hr.locator("svg .point").count(), 1);
  assert.ok((await hr.locator("svg .gap").count()) >= 2);
  assert.match(await hr.locator(".facts").textContent(), /720 slots of 5000 ms, 1 values, 719 gaps/);
  // Weight is SampledData too (hourly), with its value "150" in the data stream.
  assert.match(await page.locator('.observation[data-code="Weight"] pre').textContent(), /"data": "(E )*150( E)*"/);
  // The device template without a FHIR template: a warning in the editor, an error in the run.
  assert.match(await page.locator("#device-problems li.warning").first().textContent(), /TemplateNotFoundException/);
  await page.click('[data-result-tab="errors"]');
  assert.match(await page.locator("#result-errors").textContent(), /TemplateNotFoundException/);
  await page.click('[data-result-tab="measurements"]');
  assert.equal(await page.locator("#result-measurements tr").count(), 11);
  await shot("measurements");
  await page.click('[data-result-tab="observations"]');
  await shot("workshop");
});

test("a missing required property is marked at its line with the upstream error name", async () => {
  await loadExample("workshop");
  // Line 8 of the workshop device mapping: "typeMatchExpression": "$..[?(@hr)]",
  const line8 = page.locator("#device-editor .cm-line").nth(7);
  assert.match(await line8.textContent(), /"typeMatchExpression": "\$\.\.\[\?\(@hr\)\]",/);
  await line8.click();
  await page.keyboard.press("Home");
  await page.keyboard.press("Shift+ArrowDown");
  await page.keyboard.press("Delete");
  await waitForRun("invalid");
  const problem = page.locator('#device-problems li.error[data-type="InvalidTemplateException"]');
  await problem.first().waitFor();
  assert.equal(await problem.first().getAttribute("data-line"), "6");
  assert.match(await problem.first().textContent(), /line 6 InvalidTemplateException: .*Required property 'TypeMatchExpression' not found/);
  // The lint mark sits on line 6 of the editor, and the gutter shows an error marker.
  const line6 = page.locator("#device-editor .cm-line").nth(5);
  assert.equal(await line6.locator(".cm-lintRange-error").count(), 1);
  assert.ok((await page.locator("#device-editor .cm-lint-marker-error").count()) >= 1);
  await problem.first().click();
  assert.equal(await page.locator("#device-editor .cm-activeLineGutter").first().textContent(), "6");
  await line6.locator(".cm-lintRange-error").hover();
  await page.locator(".cm-tooltip-lint").waitFor();
  assert.match(await page.locator(".cm-tooltip-lint").textContent(), /InvalidTemplateException/);
  await shot("error");
  assert.equal(await page.locator("#result-observations .observation").count(), 0);
});

async function uploadThenDownload(kind, file) {
  const host = `#${kind}-editor`;
  const loads = Number((await page.locator(host).getAttribute("data-loads")) ?? "0");
  await page.setInputFiles(`input[data-upload="${kind}"]`, file);
  await page.waitForFunction(([h, n]) => Number(document.querySelector(h)?.dataset.loads ?? "0") > n, [host, loads]);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(`button[data-download="${kind}"]`)]);
  const saved = join(scratch, `downloaded-${kind}-${download.suggestedFilename()}`);
  await download.saveAs(saved);
  return { name: download.suggestedFilename(), bytes: readFileSync(saved) };
}

test("upload then download gives the same bytes (LF, CRLF with BOM, messages)", async () => {
  const original = `${workshopDir()}/Answers/devicecontent.json`;
  let got = await uploadThenDownload("device", original);
  assert.equal(got.name, "devicecontent.json");
  assert.ok(got.bytes.equals(readFileSync(original)), "LF device mapping changed on its way through the editor");

  const windows = join(scratch, "fhir-windows.json");
  writeFileSync(windows, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(readFileSync(`${workshopDir()}/Answers/fhirmapping.json`, "utf8").replace(/\n/g, "\r\n"))]));
  got = await uploadThenDownload("fhir", windows);
  assert.equal(got.name, "fhir-windows.json");
  assert.ok(got.bytes.equals(readFileSync(windows)), "CRLF + BOM FHIR mapping changed on its way through the editor");

  const message = join(scratch, "device-message.json");
  writeFileSync(message, '{ "hr": 80, // a comment\n  "device_id": "x", }\n');
  got = await uploadThenDownload("message", message);
  assert.ok(got.bytes.equals(readFileSync(message)));
  assert.ok((await page.locator('#message-tabs [data-name="device-message.json"]').count()) === 1);
});

test("picking a field in the message starts a template that produces an Observation", async () => {
  await loadExample("builtin");
  await page.click("#message-tabs button.add");
  const content = page.locator("#message-editor .cm-content");
  await content.click();
  await page.keyboard.press("Control+a");
  await page.keyboard.insertText(
    '{\n  "serial": "thermo-3",\n  "patient": "patient-01",\n  "sample": { "temperature": 36.6, "takenAt": "2024-03-01T09:15:00Z" }\n}\n',
  );
  const pick = page.locator('#field-tree button.pick[data-path="sample.temperature"]');
  await pick.waitFor();
  await pick.click();
  const suggestion = page.locator("#suggestion .suggested-device");
  const text = await suggestion.textContent();
  const template = JSON.parse(text).template;
  assert.equal(template.typeMatchExpression, "$..[?(@temperature)]");
  assert.equal(template.deviceIdExpression, "$.Body.serial");
  assert.equal(template.timestampExpression, "$.matchedToken.takenAt");
  assert.equal(template.patientIdExpression, "$.Body.patient");
  assert.equal(template.values[0].valueExpression, "$.matchedToken.temperature");
  await shot("guided");
  await page.click("#insert-template");
  await page.locator('.observation[data-code="temperature"]').waitFor({ timeout: 20_000 });
  await waitForRun("done");
  assert.match(await page.locator('.observation[data-code="temperature"] .facts').textContent(), /36\.6/);
});

test("envelope mode: IoT Hub Properties and SystemProperties reach the templates", async () => {
  await loadExample("builtin");
  await page.check("#envelope");
  await page.locator("#envelope-parts").waitFor();
  await waitForRun("done");
  assert.equal(await page.locator("#result-observations .observation").count(), 2);
  const sys = page.locator('#field-tree button.pick[data-path="SystemProperties.iothub-connection-device-id"]');
  await sys.waitFor();
  await shot("envelope");
  await page.uncheck("#envelope");
});

// The designer's Live tab (issue 13) in a real browser: `iomtflow run` with designer.enabled and
// debug.trace.enabled, a device message that fails the workshop mapping sent over Event Hubs REST
// with SAS; the Live tab asks for a token (401), lists the event with its error once a namespace
// token is given, and "Open in designer" loads the exact body as a test message that reproduces
// the error. Chromium and Playwright come from browser_support.mjs; a missing one fails the test.
// With FHIR_URL (a FHIR server, scripts/test) a message that is written is sent too, so the
// screenshot (IOMT_DESIGNER_SCREENSHOTS=DIR -> designer-live.png) shows a whole path.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { browserSession, freePort, shots, startService as startIomtflow, workshopDir } from "./browser_support.mjs";

const keyName = "RootManageSharedAccessKey";
const key = "bGl2ZS10YWItdGVzdC1rZXk=";
// A gateway's new firmware renamed "utctimestamp": the workshop mapping's timestampExpression
// finds nothing, so normalization fails for this exact message.
const failing = JSON.stringify({
  type: "VITALS",
  data: [{ patient_id: "PatientMary", device_id: "MSFT00042", timestamp: "2020-10-22T01:34:56+00:00", hr: 80 }],
});

function sasToken(resource, ttl = 3600) {
  const sr = encodeURIComponent(resource);
  const se = String(Math.floor(Date.now() / 1000) + ttl);
  const sig = createHmac("sha256", key).update(`${sr}\n${se}`).digest("base64");
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${se}&skn=${keyName}`;
}

let page;
let base;
let designerBase; // the designer has a listener of its own (designer.port, issue 15)
const scratch = mkdtempSync(join(tmpdir(), "iomt-designer-live-"));

async function startService() {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const designerPort = await freePort();
  designerBase = `http://127.0.0.1:${designerPort}`;
  const answers = `${workshopDir()}/Answers`;
  const config = join(scratch, "iomtflow.yaml");
  writeFileSync(
    config,
    [
      "source:",
      "  http:",
      `    listen: 127.0.0.1`,
      `    port: ${port}`,
      "    hubs: [devicedata]",
      "    auth: sas",
      `    keys: [{name: ${keyName}, key_env: IOMT_LIVE_TEST_KEY}]`,
      `mapping: {device: ${JSON.stringify(`${answers}/devicecontent.json`)}, fhir: ${JSON.stringify(`${answers}/fhirmapping.json`)}}`,
      // Without a FHIR server nothing is written; the failing message needs none.
      `fhir: {url: ${JSON.stringify(process.env.FHIR_URL ?? "http://127.0.0.1:9/fhir")}, identity: Create}`,
      "pipeline: {shards: 1, flush_interval: 100ms}",
      `buffer: {enabled: false, dir: ${JSON.stringify(join(scratch, "buffer"))}}`,
      `deadletter: {dir: ${JSON.stringify(join(scratch, "deadletter"))}}`,
      `designer: {enabled: true, port: ${designerPort}}`,
      "debug: {trace: {enabled: true, max_events: 100}}",
      "",
    ].join("\n"),
  );
  return startIomtflow(config, `${base}/healthz`, { IOMT_LIVE_TEST_KEY: key });
}

async function send(body, partitionKey, clientRequestId) {
  const headers = {
    Authorization: sasToken(`${base}/devicedata`),
    "Content-Type": "application/json",
    BrokerProperties: JSON.stringify({ PartitionKey: partitionKey }),
  };
  if (clientRequestId) headers["x-ms-client-request-id"] = clientRequestId;
  const res = await fetch(`${base}/devicedata/messages`, { method: "POST", headers, body });
  assert.equal(res.status, 201, `POST /devicedata/messages: ${res.status} ${await res.text()}`);
  // Azure's request ids (issue 13): the client's, echoed, or one the service made.
  if (clientRequestId) assert.equal(res.headers.get("x-ms-client-request-id"), clientRequestId);
  return res.headers.get("x-ms-request-id");
}

browserSession(startService, (p) => {
  page = p;
});
after(() => rmSync(scratch, { recursive: true, force: true }));

test("the Live tab lists the service's events with their path, after a SAS token", async () => {
  if (process.env.FHIR_URL) {
    const weight = readFileSync(`${workshopDir()}/Three-Sample-Message-Types.json`, "utf8").split(/^=+ WEIGHT =+$/m)[1].trim();
    await send(weight, "MSFT00003WT");
  }
  const requestId = await send(failing, "MSFT00042", "gateway-42/req-0001");
  assert.equal(requestId, "gateway-42/req-0001");
  await page.goto(`${designerBase}/designer/`);
  await page.locator("#status[data-state='done']").waitFor({ timeout: 20_000 });
  await page.click("#live-tab");
  // No token yet: the service's answer and what to do.
  await page.locator("#live-note", { hasText: "401" }).waitFor({ timeout: 10_000 });
  assert.match(await page.locator("#live-note").textContent(), /namespace-level SAS token/);
  await page.fill("#live-token", sasToken(base));
  await page.locator("#live-token").dispatchEvent("change");
  const row = page.locator(".live-event", { hasText: "MSFT00042" });
  await row.waitFor({ timeout: 10_000 });
  assert.match(await row.locator(".live-status").textContent(), /failed/);
  assert.match(await row.locator(".summary").textContent(), /permanent/);
  await row.locator("summary").click();
  assert.match(await row.locator(".live-path").textContent(), /received .* from http, partition [0-3], partition key MSFT00042/);
  // The request that brought it, as its sender was answered (x-ms-request-id).
  assert.equal(await row.locator(".live-request code").textContent(), requestId);
  // "only this request": the Request filter, the events of that request alone.
  await row.evaluate((d) => (d.open = true)); // a refresh may have drawn the list again (rows closed)
  await row.locator("button.filter-request").click();
  assert.equal(await page.inputValue("#live-request"), requestId);
  await page.waitForFunction(
    () => document.querySelectorAll(".live-event").length === 1 && document.querySelector(".live-event")?.textContent?.includes("MSFT00042"),
  );
  await page.fill("#live-request", "");
  await page.locator("#live-request").dispatchEvent("change");
  await page.waitForFunction((n) => document.querySelectorAll(".live-event").length === n, process.env.FHIR_URL ? 2 : 1);
  await row.locator("summary").click();
  assert.match(await row.locator(".live-path").textContent(), /deadletter replay --type/);
  if (process.env.FHIR_URL) {
    const written = page.locator(".live-event.status-written", { hasText: "MSFT00003WT" });
    await written.waitFor({ timeout: 10_000 });
    await written.locator("summary").click();
    assert.match(await written.locator(".live-path").textContent(), /Observation\/\S+ (created|updated|no-op)/);
  }
  // The device filter.
  await page.fill("#live-device", "MSFT00042");
  await page.locator("#live-device").dispatchEvent("change");
  await page.waitForFunction(() => document.querySelectorAll(".live-event").length === 1);
  await page.fill("#live-device", "");
  await page.locator("#live-device").dispatchEvent("change");
  await page.waitForFunction(() => document.querySelectorAll(".live-event").length >= 1);
  for (const r of await page.locator(".live-event").all()) await r.locator("summary").click();
  if (shots) await page.screenshot({ path: join(shots, "designer-live.png") });
});

test("open in designer loads the exact message and reproduces its error", async () => {
  const row = page.locator(".live-event", { hasText: "MSFT00042" });
  await row.locator("button.open-event").click();
  const tab = page.locator('#message-tabs [data-name^="event-"]');
  await tab.waitFor();
  assert.match(await tab.getAttribute("data-name"), /^event-\d+-MSFT00042\.json$/);
  // The body as the service received it, and the envelope parts the templates saw.
  await page.waitForFunction((b) => document.querySelector("#message-editor .cm-content")?.textContent === b, failing);
  assert.ok(await page.locator("#envelope").isChecked());
  assert.match(await page.locator("#system-properties-editor .cm-content").textContent(), /x-opt-sequence-number/);
  await page.locator("#status", { hasText: "failed in the service" }).waitFor({ timeout: 20_000 });
  // The designer's run of that message fails as the service did.
  assert.equal(await page.locator('[data-result-tab="errors"]').getAttribute("class"), "active");
  assert.ok(Number(await page.locator("#error-count").textContent()) >= 1);
  assert.match(await page.locator("#status").textContent(), /iomtflow deadletter replay --type \w+/);
  if (shots) await page.screenshot({ path: join(shots, "designer-live-open.png") });
});

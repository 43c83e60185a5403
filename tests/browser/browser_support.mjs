// What the designer tests (tests/browser/*_test.mjs) share: `iomtflow designer` and `iomtflow run`
// started for a test and stopped again, free ports, the FHIR test server, and headless Chromium
// driven by Playwright. CTest sets IOMTFLOW, IOMT_SHARED_DIR and IOMT_DESIGNER_DIR
// (tests/browser/tests.cmake). A missing tool (the iomtflow binary, playwright-core, Chromium, the
// FHIR server) is an error that fails the test: nothing here skips. Whatever a helper starts is
// stopped again by the `stop()` it returns, and also when it fails to start.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";

const here = dirname(fileURLToPath(import.meta.url));
const peers = join(here, "../../scripts/peers");

// IOMT_DESIGNER_SCREENSHOTS=DIR: the tests save their views there (docs/img).
export const shots = process.env.IOMT_DESIGNER_SCREENSHOTS;

export const workshopDir = () =>
  `${process.env.IOMT_SHARED_DIR ?? "../shared"}/vectors/azure-health-data-services-workshop/` +
  "Challenge-09 - MedTech service/SampleData";

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function iomtflow() {
  const binary = process.env.IOMTFLOW;
  if (!binary) throw new Error("IOMTFLOW (the iomtflow binary) is not set");
  return binary;
}

// SIGTERM, SIGKILL after `graceMs`; resolves once the child exited.
async function stopChild(child, graceMs) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

// `iomtflow designer --port 0` (plus `extraArgs`): resolves to { url, stop() } once it printed its URL.
export async function startDesigner(extraArgs = []) {
  const child = spawn(iomtflow(), ["designer", "--port", "0", "--listen", "127.0.0.1", ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stderr.on("data", (d) => (out += d));
  const stop = () => stopChild(child, 5_000);
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`iomtflow designer did not start in 15 s: ${out}`)), 15_000);
      child.stdout.on("data", (d) => {
        out += d;
        const m = /iomtflow designer: (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`iomtflow designer exited with ${code}: ${out}`));
      });
    });
    return { url, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

// `iomtflow run --config FILE` with `env` added: resolves to { stop() } once `healthUrl` answers.
export async function startService(config, healthUrl, env = {}) {
  const child = spawn(iomtflow(), ["run", "--config", config], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const stop = () => stopChild(child, 20_000);
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`iomtflow run exited with ${child.exitCode}:\n${output}`);
      try {
        if ((await fetch(healthUrl)).ok) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`iomtflow run did not listen in 20 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

// The in-memory FHIR server (scripts/peers/start-fhir-server.sh, structural validation off) on a
// free port: { base (the FHIR base URL), origin (its /admin endpoints), stop() }.
export async function startFhirServer() {
  const dir = mkdtempSync(join(tmpdir(), "iomt-designer-fhir-"));
  const port = await freePort();
  const stop = () => {
    execFileSync(join(peers, "stop-services.sh"), [dir], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    execFileSync(join(peers, "start-fhir-server.sh"), ["--port", String(port), "--dir", dir, "--no-validate"], {
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 120_000,
    });
  } catch (e) {
    stop();
    throw new Error(`the test FHIR server did not start: ${String(e.stderr ?? e).slice(0, 500)}`);
  }
  const origin = `http://127.0.0.1:${port}`;
  return { base: `${origin}/fhir`, origin, stop: async () => stop() };
}

// Debian's Chromium (CHROMIUM, else /usr/bin/chromium) headless through playwright-core from the
// designer's node_modules: { browser, page }.
export async function openBrowser() {
  const designerDir = process.env.IOMT_DESIGNER_DIR ?? join(here, "../../designer");
  let chromium;
  try {
    ({ chromium } = createRequire(join(designerDir, "package.json"))("playwright-core"));
  } catch (e) {
    throw new Error(`playwright-core is not installed in ${designerDir} (the build runs npm ci there): ${e.message}`);
  }
  const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) throw new Error(`${executablePath} not found (scripts/setup installs Debian's chromium)`);
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    // The machine's closed network: no background connections (env notes).
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, acceptDownloads: true });
    const page = await context.newPage();
    page.on("pageerror", (e) => console.error("page error:", e));
    return { browser, page };
  } catch (e) {
    await browser.close();
    throw e;
  }
}

// The node:test hooks of a browser test file: before() runs `start` (what it starts has stop()),
// opens Chromium and calls `ready(page, started)`; after() closes the browser and stops what
// started, also when the start or a test failed.
export function browserSession(start, ready) {
  let started;
  let browser;
  before(async () => {
    started = await start();
    let page;
    ({ browser, page } = await openBrowser());
    await ready(page, started);
  });
  after(async () => {
    await browser?.close();
    await started?.stop();
  });
}

// Waits until the designer's run status (#status data-state) is `state`.
export async function waitForRun(page, state) {
  await page.waitForFunction((s) => document.getElementById("status")?.dataset.state === s, state, {
    timeout: 20_000,
  });
}

// The FHIR identity panel (issue 13): which identity mode `mapping test` resolves Patients, Devices
// and Encounters with (iomt-spec §11), and what stands for the FHIR server: resources typed here (a
// Bundle or an array of Patient/Device/Encounter), or a live server that is only searched, never
// written. The engine is the server's (api/mapping/test, identity field): nothing is decided here.
import { EditorView } from "@codemirror/view";
import type { IdentityRequest, IdentitySummary, Measurement } from "./api";
import { DocEditor } from "./editors";
import { download, readFile } from "./files";

const storageKey = "iomtflow-designer/identity/v1";
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

interface Saved {
  mode: string;
  source: "resources" | "server";
  resources: string;
  serverUrl: string;
}

// A Bundle with one Device per device id of the measurements, linked to a Patient (the message's
// patient id when it has one): a start for Lookup mode.
export function resourcesFor(measurements: Measurement[], system = ""): string {
  const entries: Record<string, unknown>[] = [];
  const patients = new Set<string>();
  const devices = new Set<string>();
  const safe = (s: string) => s.replace(/[^A-Za-z0-9.-]/g, "-").slice(0, 64) || "x";
  for (const m of measurements) {
    if (devices.has(m.deviceId)) continue;
    devices.add(m.deviceId);
    const patient = m.patientId ?? `patient-of-${m.deviceId}`;
    const pid = safe(patient);
    if (!patients.has(pid)) {
      patients.add(pid);
      entries.push({ resource: { resourceType: "Patient", id: pid, identifier: [{ value: patient }] } });
    }
    const identifier: Record<string, string> = { value: m.deviceId };
    if (system) identifier.system = system;
    entries.push({
      resource: { resourceType: "Device", id: `device-${safe(m.deviceId)}`, identifier: [identifier], patient: { reference: `Patient/${pid}` } },
    });
  }
  return JSON.stringify({ resourceType: "Bundle", type: "collection", entry: entries }, null, 2);
}

export class IdentityPanel {
  readonly resources: DocEditor;
  private lastMeasurements: Measurement[] = [];

  constructor(private readonly onChange: () => void) {
    this.resources = new DocEditor($("identity-resources-editor"), "resources.json", () => this.changed(), [EditorView.lineWrapping]);
    $<HTMLSelectElement>("identity-mode").addEventListener("change", () => this.changed());
    document.querySelectorAll<HTMLInputElement>("input[name=identity-source]").forEach((r) => r.addEventListener("change", () => this.changed()));
    $<HTMLInputElement>("identity-server-url").addEventListener("change", () => this.changed());
    $<HTMLInputElement>("identity-token").addEventListener("change", () => this.changed());
    $("identity-from-measurements").addEventListener("click", () => {
      this.resources.load(resourcesFor(this.lastMeasurements));
    });
    $<HTMLInputElement>("identity-upload").addEventListener("change", async (e) => {
      const input = e.target as HTMLInputElement;
      const file = input.files?.[0];
      input.value = "";
      if (file) this.resources.loadFile(await readFile(file));
    });
    $("identity-download").addEventListener("click", () => download(this.resources.file.name, this.resources.text(), this.resources.file.bom));
    this.restore();
    this.sync();
  }

  mode(): string {
    return $<HTMLSelectElement>("identity-mode").value;
  }

  private source(): "resources" | "server" {
    return document.querySelector<HTMLInputElement>("input[name=identity-source]:checked")?.value === "server" ? "server" : "resources";
  }

  // The `identity` field of api/mapping/test.
  request(): IdentityRequest {
    const r: IdentityRequest = { mode: this.mode() };
    if (this.source() === "server") {
      r.serverUrl = $<HTMLInputElement>("identity-server-url").value.trim();
      const token = $<HTMLInputElement>("identity-token").value;
      if (token) r.token = token; // kept in this page only, never stored
    } else if (this.resources.text().trim()) {
      r.resources = this.resources.text();
    }
    return r;
  }

  // What the last run resolved with, and what Create mode would write.
  show(summary: IdentitySummary | undefined, measurements: Measurement[]): void {
    this.lastMeasurements = measurements;
    const out = $("identity-summary");
    if (!summary) {
      out.textContent = "";
      return;
    }
    const where = summary.source === "server" ? `the server (${summary.serverSearches ?? 0} searches, read only)` : summary.source === "resources" ? "the resources above" : "an empty FHIR server";
    const writes = summary.wouldWrite.length ? ` Would write: ${summary.wouldWrite.join(", ")}.` : "";
    out.textContent = `${summary.mode} against ${where}.${writes}`;
    out.dataset.mode = summary.mode;
  }

  private changed(): void {
    this.sync();
    this.save();
    this.onChange();
  }

  private sync(): void {
    const server = this.source() === "server";
    $("identity-resources").hidden = server;
    $("identity-server").hidden = !server;
  }

  private save(): void {
    try {
      const s: Saved = { mode: this.mode(), source: this.source(), resources: this.resources.text(), serverUrl: $<HTMLInputElement>("identity-server-url").value };
      localStorage.setItem(storageKey, JSON.stringify(s));
    } catch {
      /* storage full or disabled */
    }
  }

  private restore(): void {
    try {
      const raw = localStorage.getItem(storageKey);
      if (!raw) return;
      const s = JSON.parse(raw) as Saved;
      $<HTMLSelectElement>("identity-mode").value = s.mode || "Create";
      const radio = document.querySelector<HTMLInputElement>(`input[name=identity-source][value=${s.source === "server" ? "server" : "resources"}]`);
      if (radio) radio.checked = true;
      $<HTMLInputElement>("identity-server-url").value = s.serverUrl ?? "";
      this.resources.view.setState(this.resources.createState(s.resources ?? ""));
    } catch {
      /* a stale or foreign value: start afresh */
    }
  }
}

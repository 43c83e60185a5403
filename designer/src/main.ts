// iomtflow mapping designer: wiring of the editors, the API calls and the result views.
import "./style.css";
import type { Diagnostic } from "@codemirror/lint";
import { EditorView } from "@codemirror/view";
import { ApiError, loadExample, runTest, validate, type TemplateProblem, type TestResult, type ValidationReport } from "./api";
import { problemLine, toDiagnostics } from "./diagnostics";
import { DocEditor } from "./editors";
import { download, readFile } from "./files";
import { parseLenient } from "./lenient";
import { failureOf, LiveTab, type LiveEvent } from "./live";
import { MessageTabs } from "./messages";
import { errorSource, renderErrors, renderMeasurements, renderObservations } from "./results";
import { IdentityPanel } from "./identity";
import { insertTemplate, suggestTemplate, typeNames } from "./suggest";
import { renderTree, type PickedField } from "./tree";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const storageKey = "iomtflow-designer/v1";

// ---- state and scheduling ---------------------------------------------------------------------
let timer: number | undefined;
let treeTimer: number | undefined;
let generation = 0;
let restoring = true;

function changed(): void {
  if (restoring) return;
  save();
  if ($<HTMLInputElement>("auto-run").checked) {
    clearTimeout(timer);
    timer = window.setTimeout(run, 600);
  }
}

function messageChanged(): void {
  changed();
  clearTimeout(treeTimer);
  treeTimer = window.setTimeout(updateTree, 250);
}

const device = new DocEditor($("device-editor"), "devicecontent.json", changed);
const fhir = new DocEditor($("fhir-editor"), "fhirmapping.json", changed);
const wrap = [EditorView.lineWrapping];
const messages = new MessageTabs(
  $("message-tabs"),
  new DocEditor($("message-editor"), "message.json", messageChanged, wrap),
  new DocEditor($("properties-editor"), "properties.json", messageChanged, wrap),
  new DocEditor($("system-properties-editor"), "system-properties.json", messageChanged, wrap),
  messageChanged,
);
const envelope = $<HTMLInputElement>("envelope");
const identity = new IdentityPanel(changed);

function setStatus(text: string, state: "idle" | "running" | "done" | "invalid" | "error"): void {
  const s = $("status");
  s.textContent = text;
  s.dataset.state = state;
}

// ---- validation problems ----------------------------------------------------------------------
function showProblems(editor: DocEditor, listId: string, countId: string, problems: TemplateProblem[]): void {
  const diagnostics: Diagnostic[] = toDiagnostics(editor.view.state, problems);
  editor.setDiagnostics(diagnostics);
  const list = $(listId);
  list.replaceChildren();
  diagnostics.forEach((d) => {
    const line = problemLine(editor.view.state, d);
    const li = document.createElement("li");
    li.className = d.severity;
    li.dataset.line = String(line);
    li.dataset.type = d.source ?? "";
    li.tabIndex = 0;
    const where = document.createElement("span");
    where.className = "where";
    where.textContent = `line ${line}`;
    const type = document.createElement("strong");
    type.textContent = d.source ?? "";
    li.append(where, " ", type, ": ", d.message);
    const go = () => editor.goToLine(line);
    li.addEventListener("click", go);
    li.addEventListener("keydown", (e) => e.key === "Enter" && go());
    list.append(li);
  });
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  const count = $(countId);
  count.textContent = errors ? `${errors} error${errors > 1 ? "s" : ""}` : warnings ? `${warnings} warning${warnings > 1 ? "s" : ""}` : "valid";
  count.className = `problem-count ${errors ? "error" : warnings ? "warning" : "ok"}`;
}

// ---- running ----------------------------------------------------------------------------------
function showResult(result: TestResult | null, note?: string, requestError?: string): void {
  renderObservations($("result-observations"), result, note);
  renderMeasurements($("result-measurements"), result);
  renderErrors($("result-errors"), result, requestError);
  $("observation-count").textContent = String(result?.observations.length ?? 0);
  $("measurement-count").textContent = String(result?.measurements.length ?? 0);
  $("error-count").textContent = String((result?.errors.length ?? 0) + (requestError ? 1 : 0));
  $("result-json-text").textContent = result ? JSON.stringify(result, null, 2) : "";
  identity.show(result?.identity, result?.measurements ?? []);
  const counts = new Map<string, number>();
  for (const e of result?.errors ?? []) {
    const src = e.stage === "normalization" ? errorSource(e.message) : null;
    if (src) counts.set(src, (counts.get(src) ?? 0) + 1);
  }
  messages.setErrorCounts(counts);
}

async function run(): Promise<void> {
  clearTimeout(timer);
  const mine = ++generation;
  const deviceText = device.text();
  const fhirText = fhir.text();
  setStatus("running…", "running");
  try {
    const report: ValidationReport = await validate(deviceText, fhirText);
    if (mine !== generation) return;
    showProblems(device, "device-problems", "device-count", report.deviceMapping.errors);
    showProblems(fhir, "fhir-problems", "fhir-count", report.fhirMapping.errors);
    if (!report.valid) {
      showResult(null, "The mappings are invalid: fix the problems marked in the editors to run the messages.");
      setStatus("mappings invalid", "invalid");
      return;
    }
    const result = await runTest(deviceText, fhirText, messages.inputs(envelope.checked), envelope.checked, identity.request());
    if (mine !== generation) return;
    showResult(result);
    const e = result.errors.length;
    setStatus(
      `${result.measurements.length} measurements, ${result.observations.length} Observations${e ? `, ${e} error${e > 1 ? "s" : ""}` : ""}`,
      "done",
    );
  } catch (err) {
    if (mine !== generation) return;
    const message = err instanceof ApiError ? `${err.status}: ${err.message}` : `cannot reach iomtflow: ${String(err)}`;
    showResult(null, undefined, message);
    setStatus(message, "error");
  }
}

// ---- fields tree and the guided start ---------------------------------------------------------
function wrapperOf(body: unknown): Record<string, unknown> {
  const obj = (text: string) => {
    const r = parseLenient(text);
    return r.ok ? r.value : {};
  };
  return envelope.checked
    ? { Body: body, Properties: obj(messages.properties.text()), SystemProperties: obj(messages.systemProperties.text()) }
    : { Body: body, Properties: {}, SystemProperties: {} };
}

function updateTree(): void {
  const target = $("field-tree");
  const parsed = parseLenient(messages.editor.text());
  if (!parsed.ok) {
    target.replaceChildren(Object.assign(document.createElement("p"), { className: "empty", textContent: parsed.error === "empty" ? "The message is empty." : `Not JSON: ${parsed.error}` }));
    return;
  }
  const wrapper = wrapperOf(parsed.value);
  const root = envelope.checked ? wrapper : parsed.value;
  renderTree(target, root, (f: PickedField) => showSuggestion(wrapper, envelope.checked ? f.path : ["Body", ...f.path]));
}

function showSuggestion(wrapper: Record<string, unknown>, path: (string | number)[]): void {
  const s = suggestTemplate(wrapper, path);
  const panel = $("suggestion");
  panel.hidden = false;
  panel.replaceChildren();
  const title = document.createElement("h3");
  title.textContent = `Template for "${s.typeName}"`;
  const pre = document.createElement("pre");
  pre.className = "suggested-device";
  pre.textContent = JSON.stringify(s.device, null, 2);
  const notes = document.createElement("ul");
  notes.className = "notes";
  for (const n of s.notes) notes.append(Object.assign(document.createElement("li"), { textContent: n }));
  const existing = typeNames(fhir.text()).map((t) => t.toLowerCase());
  const hasFhir = existing.includes(s.typeName.toLowerCase());
  const fhirBox = document.createElement("label");
  fhirBox.className = "toggle";
  const check = Object.assign(document.createElement("input"), { type: "checkbox", checked: !hasFhir, id: "suggest-fhir" });
  fhirBox.append(check, hasFhir ? " add a FHIR template too (one exists for this type)" : " add a FHIR template too (CodeValueFhir)");
  const insert = Object.assign(document.createElement("button"), { className: "primary", id: "insert-template", textContent: "Insert into the mappings" });
  const cancel = Object.assign(document.createElement("button"), { textContent: "Close" });
  const message = document.createElement("p");
  message.className = "note";
  insert.addEventListener("click", () => {
    const err = insertTemplate(device, s.device, "CollectionContent") ?? (check.checked ? insertTemplate(fhir, s.fhir, "CollectionFhir") : null);
    message.textContent = err ?? `Added "${s.typeName}". Edit the expressions as needed; results update as you type.`;
    if (!err) void run();
  });
  cancel.addEventListener("click", () => (panel.hidden = true));
  panel.append(title, pre, notes, fhirBox, Object.assign(document.createElement("div"), { className: "buttons" }), message);
  panel.querySelector(".buttons")!.append(insert, cancel);
}

// ---- files, examples, persistence -------------------------------------------------------------
document.querySelectorAll<HTMLInputElement>("input[data-upload]").forEach((input) =>
  input.addEventListener("change", async () => {
    const files = Array.from(input.files ?? []);
    input.value = "";
    for (const file of files) {
      const f = await readFile(file);
      if (f.warning) setStatus(f.warning, "error");
      if (input.dataset.upload === "device") device.loadFile(f);
      else if (input.dataset.upload === "fhir") fhir.loadFile(f);
      else messages.add(f.name, f.text, f);
    }
    void run();
  }),
);

document.querySelectorAll<HTMLButtonElement>("button[data-download]").forEach((b) =>
  b.addEventListener("click", () => {
    const which = b.dataset.download;
    const editor = which === "device" ? device : which === "fhir" ? fhir : messages.editor;
    download(editor.file.name, editor.text(), editor.file.bom);
  }),
);

async function applyExample(name: string): Promise<void> {
  setStatus(`loading the ${name} example…`, "running");
  try {
    const ex = await loadExample(name);
    restoring = true;
    device.load(ex.deviceMapping, { name: "devicecontent.json" });
    fhir.load(ex.fhirMapping, { name: "fhirmapping.json" });
    envelope.checked = false;
    $("envelope-parts").hidden = true;
    messages.replaceAll(ex.messages);
    $("suggestion").hidden = true;
    restoring = false;
    save();
    updateTree();
    await run();
    if (ex.note) setStatus(ex.note, "done");
  } catch (err) {
    restoring = false;
    setStatus(`cannot load the example: ${String(err)}`, "error");
  }
}

$<HTMLSelectElement>("example-select").addEventListener("change", (e) => {
  const select = e.target as HTMLSelectElement;
  if (select.value) void applyExample(select.value);
  select.value = "";
});

function save(): void {
  try {
    const state = { device: device.text(), fhir: fhir.text(), messages: messages.inputs(false), envelope: envelope.checked };
    localStorage.setItem(storageKey, JSON.stringify(state));
  } catch {
    /* storage full or disabled: the page works without it */
  }
}

function restore(): boolean {
  try {
    const raw = localStorage.getItem(storageKey);
    if (!raw) return false;
    const s = JSON.parse(raw) as { device: string; fhir: string; messages: { name: string; text: string }[]; envelope: boolean };
    device.load(s.device);
    fhir.load(s.fhir);
    messages.replaceAll(s.messages);
    envelope.checked = !!s.envelope;
    $("envelope-parts").hidden = !envelope.checked;
    return true;
  } catch {
    return false;
  }
}

// ---- layout controls --------------------------------------------------------------------------
document.querySelectorAll<HTMLButtonElement>("[data-result-tab]").forEach((tab) =>
  tab.addEventListener("click", () => {
    document.querySelectorAll<HTMLButtonElement>("[data-result-tab]").forEach((t) => t.classList.toggle("active", t === tab));
    document.querySelectorAll<HTMLElement>("[data-result]").forEach((p) => (p.hidden = p.dataset.result !== tab.dataset.resultTab));
  }),
);

// ---- Live tab (the service's event trace) -----------------------------------------------------
// "Open in designer": the event's body as a new message tab, with the Properties and
// SystemProperties the service gave its templates (envelope mode), then a run.
function openEvent(ev: LiveEvent): void {
  if (ev.body === undefined) return;
  const pretty = (v: unknown) => JSON.stringify(v ?? {}, null, 2) + "\n";
  const device = ev.devices[0] ?? ev.partitionKey ?? "event";
  messages.add(`event-${ev.id}-${device}.json`, ev.body, {}, { properties: pretty(ev.properties), systemProperties: pretty(ev.systemProperties) });
  envelope.checked = true;
  $("envelope-parts").hidden = false;
  updateTree();
  const f = failureOf(ev);
  document.querySelector<HTMLButtonElement>(`[data-result-tab="${f ? "errors" : "observations"}"]`)?.click();
  void run().then(() => {
    if (f)
      setStatus(
        `event #${ev.id} failed in the service with ${f.type}: fix the mapping here, deploy it, then replay its dead letters (iomtflow deadletter replay --type ${f.type})`,
        "done",
      );
  });
}
const live = new LiveTab($("result-live"), $("live-count"), openEvent);
$("live-tab").addEventListener("click", () => live.shown());

envelope.addEventListener("change", () => {
  $("envelope-parts").hidden = !envelope.checked;
  updateTree();
  changed();
});

$("run-button").addEventListener("click", () => void run());
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
    e.preventDefault();
    void run();
  }
});

// ---- start ------------------------------------------------------------------------------------
if (restore()) {
  restoring = false;
  updateTree();
  void run();
} else {
  restoring = false;
  void applyExample("workshop");
}

// The result views: Observations (readable summary + JSON), measurements table, errors per message.
import type { TestResult } from "./api";
import { sampledDataChart, summarize, type SampledData } from "./chart";

type Json = Record<string, unknown>;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...kids: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

const obj = (v: unknown): Json | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (v === undefined || v === null ? "" : String(v));

function codingText(concept: unknown): string {
  const c = obj(concept);
  if (!c) return "";
  const codings = arr(c.coding)
    .map(obj)
    .filter((x): x is Json => !!x && x.system !== "https://azure.microsoft.com/en-us/services/iomt-fhir-connector/")
    .map((x) => [x.code, x.display ? `(${x.display})` : ""].filter(Boolean).join(" "));
  return codings.join(", ");
}

function quantityText(q: Json): string {
  return [str(q.value), str(q.unit ?? q.code)].filter(Boolean).join(" ");
}

// value[x] of an Observation or a component -> a line of text, and a chart for SampledData.
function valueView(o: Json, start: string | undefined): { text: string; chart?: SVGSVGElement } | null {
  if (obj(o.valueQuantity)) return { text: quantityText(obj(o.valueQuantity)!) };
  if (o.valueString !== undefined) return { text: JSON.stringify(o.valueString) };
  if (obj(o.valueCodeableConcept)) {
    const c = obj(o.valueCodeableConcept)!;
    return { text: [str(c.text), codingText(c)].filter(Boolean).join(" — ") };
  }
  const sd = obj(o.valueSampledData) as SampledData | undefined;
  if (sd) {
    const s = summarize(sd);
    const unit = sd.origin?.unit ? ` ${sd.origin.unit}` : "";
    const text = `SampledData${unit}: ${s.slots} slots of ${sd.period} ms, ${s.values} values, ${s.gaps} gaps (E)${
      s.other ? `, ${s.other} non-numeric` : ""
    }`;
    return { text, chart: sampledDataChart(sd, start) };
  }
  return null;
}

function period(o: Json): string {
  const p = obj(o.effectivePeriod);
  if (p) return p.start === p.end ? str(p.start) : `${str(p.start)} → ${str(p.end)}`;
  return str(o.effectiveDateTime);
}

function observationCard(o: Json, index: number): HTMLElement {
  const code = obj(o.code);
  const name = str(code?.text) || `Observation ${index + 1}`;
  const start = str(obj(o.effectivePeriod)?.start) || undefined;
  const card = h("article", { class: "observation", "data-code": name });
  card.append(
    h(
      "header",
      {},
      h("h3", {}, name),
      h("span", { class: "codes" }, codingText(code)),
      h("span", { class: "badge" }, str(o.status)),
    ),
  );
  const facts = h("dl", { class: "facts" });
  const fact = (k: string, v: string) => {
    if (v) facts.append(h("dt", {}, k), h("dd", {}, v));
  };
  fact("effective", period(o));
  fact("subject", str(obj(o.subject)?.reference));
  fact("device", str(obj(o.device)?.reference));
  fact("encounter", str(obj(o.encounter)?.reference));
  const v = valueView(o, start);
  if (v) fact("value", v.text);
  card.append(facts);
  if (v?.chart) card.append(h("div", { class: "chart" }, v.chart));

  const comps = arr(o.component).map(obj).filter((c): c is Json => !!c);
  if (comps.length) {
    const table = h("table", { class: "components" }, h("tr", {}, h("th", {}, "component"), h("th", {}, "code"), h("th", {}, "value")));
    for (const c of comps) {
      const cv = valueView(c, start);
      const row = h("tr", {}, h("td", {}, str(obj(c.code)?.text)), h("td", {}, codingText(c.code)), h("td", {}, cv?.text ?? ""));
      table.append(row);
      if (cv?.chart) table.append(h("tr", {}, h("td", { colspan: "3" }, h("div", { class: "chart" }, cv.chart))));
    }
    card.append(table);
  }
  const details = h("details", { class: "json" }, h("summary", {}, "FHIR JSON"), h("pre", {}, JSON.stringify(o, null, 2)));
  card.append(details);
  return card;
}

export function renderObservations(target: HTMLElement, result: TestResult | null, note?: string): void {
  target.replaceChildren();
  if (note) target.append(h("p", { class: "note" }, note));
  if (!result) return;
  if (!result.observations.length) {
    target.append(h("p", { class: "empty" }, "No Observations. See Errors and Measurements for why."));
    return;
  }
  result.observations.forEach((o, i) => target.append(observationCard(o, i)));
}

export function renderMeasurements(target: HTMLElement, result: TestResult | null): void {
  target.replaceChildren();
  if (!result) return;
  if (!result.measurements.length) {
    target.append(h("p", { class: "empty" }, "No measurements: no template matched (check typeMatchExpression)."));
    return;
  }
  const table = h("table", { class: "measurements" });
  table.append(
    h(
      "tr",
      {},
      ...["#", "type", "deviceId", "patientId", "encounterId", "correlationId", "occurrenceTimeUtc", "values"].map((c) => h("th", {}, c)),
    ),
  );
  result.measurements.forEach((m, i) =>
    table.append(
      h(
        "tr",
        {},
        h("td", {}, String(i + 1)),
        h("td", {}, m.type),
        h("td", {}, m.deviceId),
        h("td", {}, m.patientId ?? ""),
        h("td", {}, m.encounterId ?? ""),
        h("td", {}, m.correlationId ?? ""),
        h("td", {}, m.occurrenceTimeUtc),
        h("td", {}, m.properties.map((p) => `${p.name} = ${p.value}`).join(", ")),
      ),
    ),
  );
  target.append(table);
}

// Normalization errors end with " (message-name)" (the message they come from); the others are
// FHIR conversion errors of a measurement group.
export function errorSource(message: string): string | null {
  const m = /\(([^()]*)\)$/.exec(message);
  return m ? m[1].replace(/:\d+$/, "") : null;
}

export function renderErrors(target: HTMLElement, result: TestResult | null, requestError?: string): void {
  target.replaceChildren();
  if (requestError) target.append(h("p", { class: "request-error" }, requestError));
  if (!result) return;
  const warnings = result.warnings ?? [];
  if (warnings.length) {
    const list = h("ul", {});
    for (const w of warnings) list.append(h("li", { class: "warning" }, w.message));
    target.append(h("section", { class: "error-group warnings" }, h("h3", {}, "Warnings"), list));
  }
  if (!result.errors.length) {
    if (!requestError) target.append(h("p", { class: "empty" }, "No errors."));
    return;
  }
  const groups = new Map<string, typeof result.errors>();
  for (const e of result.errors) {
    const key = e.stage === "normalization" ? (errorSource(e.message) ?? "messages") : "FHIR conversion";
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  for (const [key, errors] of groups) {
    const list = h("ul", {});
    for (const e of errors) list.append(h("li", { class: "error" }, h("strong", {}, e.type), ": ", e.message));
    target.append(h("section", { class: "error-group", "data-source": key }, h("h3", {}, key), list));
  }
}

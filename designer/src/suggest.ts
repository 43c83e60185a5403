// The guided start: a field picked in a sample message -> a CalculatedContent template for it
// (typeMatchExpression, deviceIdExpression, timestampExpression, patientIdExpression,
// valueExpression) and a CodeValueFhir template, then inserted as text at the end of the
// mappings' "template" arrays, leaving the rest of the documents as they were typed.
//
// Expressions follow the CalculatedContent evaluation root (iomt-spec §3.4): the type match runs
// over {Body, Properties, SystemProperties}; the others over that plus "matchedToken", so a field of
// the matched object is $.matchedToken.x and any other one is reached from $.Body / $.SystemProperties.
import type { EditorState } from "@codemirror/state";
import { arrayItems, templateArray } from "./diagnostics";
import type { DocEditor } from "./editors";
import { parseLenient } from "./lenient";
import type { PathSegment } from "./tree";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function jsonPathSegment(s: PathSegment): string {
  if (typeof s === "number") return `[${s}]`;
  return identifier.test(s) ? `.${s}` : `['${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}']`;
}

function jmesPathSegment(s: PathSegment, first: boolean): string {
  if (typeof s === "number") return `[${s}]`;
  const name = identifier.test(s) ? s : JSON.stringify(s);
  return first ? name : `.${name}`;
}

function filterFor(key: string): string {
  return identifier.test(key) ? `$..[?(@${key})]` : `$..[?(@['${key.replace(/'/g, "\\'")}'])]`;
}

function at(root: unknown, path: PathSegment[]): unknown {
  let cur: unknown = root;
  for (const s of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[s as never];
  }
  return cur;
}

interface Found {
  path: PathSegment[]; // from the wrapper root
  value: unknown;
  inMatch: boolean; // a direct member of the matched object
}

// Looks for a member whose name passes one of `tests` (in order of preference): in the matched
// object, then in each enclosing object up to the wrapper, then in SystemProperties / Properties.
function findField(
  wrapper: Obj,
  matchPath: PathSegment[],
  tests: RegExp[],
  accept: (v: unknown) => boolean,
  extra: [string, string][] = [],
): Found | null {
  for (const test of tests) {
    for (let depth = matchPath.length; depth >= 1; depth--) {
      const o = at(wrapper, matchPath.slice(0, depth));
      if (!isObj(o)) continue;
      for (const [k, v] of Object.entries(o))
        if (test.test(k) && accept(v)) return { path: [...matchPath.slice(0, depth), k], value: v, inMatch: depth === matchPath.length };
    }
  }
  for (const [section, key] of extra) {
    const o = wrapper[section];
    if (isObj(o) && key in o && accept(o[key])) return { path: [section, key], value: o[key], inMatch: false };
  }
  return null;
}

function jsonPathTo(f: Found, matchLength: number): string {
  if (f.inMatch) return "$.matchedToken" + f.path.slice(matchLength).map(jsonPathSegment).join("");
  return "$" + f.path.map(jsonPathSegment).join("");
}

function jmesPathTo(f: Found, matchLength: number): string {
  const segs = f.inMatch ? ["matchedToken", ...f.path.slice(matchLength)] : f.path;
  return segs.map((s, i) => jmesPathSegment(s, i === 0)).join("");
}

const looksLikeDate = (v: unknown) => typeof v === "string" && /\d/.test(v) && Number.isFinite(Date.parse(v));
const isEpoch = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v > 1e8;
const scalar = (v: unknown) => typeof v === "string" || typeof v === "number";
const numeric = (v: unknown) => (typeof v === "number" && Number.isFinite(v)) || (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)));

export interface Suggestion {
  typeName: string;
  device: Obj; // a CalculatedContent container
  fhir: Obj; // a CodeValueFhir container
  notes: string[];
}

// `wrapper`: {Body, Properties, SystemProperties}; `path`: the picked field, from the wrapper.
export function suggestTemplate(wrapper: Obj, path: PathSegment[]): Suggestion {
  const key = String(path[path.length - 1]);
  const value = at(wrapper, path);
  const matchPath = path.slice(0, -1);
  const notes: string[] = [];
  const typeName = key;

  const field = (f: Found) => jsonPathTo(f, matchPath.length);
  const template: Obj = { typeName, typeMatchExpression: filterFor(key) };

  const device = findField(wrapper, matchPath, [/^device[_-]?id$/i, /device.*id|id.*device/i, /^(serial(number)?|sn|device|mac)$/i], scalar, [
    ["SystemProperties", "iothub-connection-device-id"],
  ]);
  if (device) template.deviceIdExpression = field(device);
  else {
    template.deviceIdExpression = "$.Body.deviceId";
    notes.push("No device id field was found: edit deviceIdExpression.");
  }

  const time =
    findField(wrapper, matchPath, [/timestamp/i, /time/i, /date/i, /(^ts$|At$)/], looksLikeDate, [
      ["Properties", "iothub-creation-time-utc"],
      ["SystemProperties", "iothub-enqueuedtime"],
    ]) ?? findField(wrapper, matchPath, [/timestamp/i, /time/i, /(^ts$|^epoch$|At$)/], isEpoch);
  if (!time) {
    template.timestampExpression = "$.Body.timestamp";
    notes.push("No timestamp field was found: edit timestampExpression (required).");
  } else if (typeof time.value === "number") {
    const fn = time.value > 1e11 ? "fromUnixTimestampMs" : "fromUnixTimestamp";
    template.timestampExpression = { value: `${fn}(${jmesPathTo(time, matchPath.length)})`, language: "JmesPath" };
    notes.push(`The timestamp is a Unix time: ${fn} (JMESPath) converts it.`);
  } else {
    template.timestampExpression = field(time);
  }

  const patient = findField(wrapper, matchPath, [/^patient[_-]?id$/i, /patient/i, /^subject$/i], scalar);
  if (patient) template.patientIdExpression = field(patient);

  template.values = [{ valueName: key, valueExpression: "$.matchedToken" + jsonPathSegment(key), required: true }];
  if (matchPath.length === 0) notes.push("The field is not inside an object: the template cannot match it.");

  const fhirValue: Obj = numeric(value)
    ? { valueType: "Quantity", valueName: key, unit: "" }
    : { valueType: "String", valueName: key };
  const fhir: Obj = {
    templateType: "CodeValueFhir",
    template: { typeName, periodInterval: 0, codes: [{ code: key, display: key }], value: fhirValue },
  };
  return { typeName, device: { templateType: "CalculatedContent", template }, fhir, notes };
}

// The typeNames of a mapping's templates (lenient parse; [] when it does not parse).
export function typeNames(text: string): string[] {
  const r = parseLenient(text);
  if (!r.ok || !isObj(r.value) || !Array.isArray(r.value.template)) return [];
  return r.value.template.map((c) => (isObj(c) && isObj(c.template) ? String(c.template.typeName ?? "") : ""));
}

function indentOf(state: EditorState, pos: number): string {
  const line = state.doc.lineAt(pos);
  return /^[ \t]*/.exec(line.text)![0];
}

// Inserts `container` as the last element of the root "template" array of the editor's document
// (a blank document becomes a new collection). Returns an error message, or null when done.
export function insertTemplate(editor: DocEditor, container: Obj, collectionType: string): string | null {
  const state = editor.view.state;
  const nl = state.lineBreak;
  if (state.doc.toString().trim() === "") {
    const text = JSON.stringify({ templateType: collectionType, template: [container] }, null, 2) + "\n";
    editor.view.dispatch({ changes: { from: 0, to: state.doc.length, insert: text.replace(/\n/g, nl) } });
    return null;
  }
  const array = templateArray(state);
  if (!array) return `the ${collectionType} document has no "template" array to add to: fix its JSON first`;
  const items = arrayItems(array);
  const arrayIndent = indentOf(state, array.from);
  const indent = items.length ? indentOf(state, items[0].from) : arrayIndent + "  ";
  const unit = indent.length > arrayIndent.length ? indent.slice(arrayIndent.length) : "  ";
  const body = JSON.stringify(container, null, unit).replace(/\n/g, "\n" + indent);
  let from: number;
  let to: number;
  let insert: string;
  if (items.length) {
    from = to = items[items.length - 1].to;
    insert = `,\n${indent}${body}`;
  } else {
    from = array.from + 1;
    to = array.to - 1;
    insert = `\n${indent}${body}\n${arrayIndent}`;
  }
  insert = insert.replace(/\n/g, nl);
  editor.view.dispatch({
    changes: { from, to, insert },
    selection: { anchor: from + insert.indexOf("{"), head: from + insert.length },
    scrollIntoView: true,
  });
  return null;
}

// Validation problems (TemplateProblem, from the C++ validator) -> CodeMirror lint diagnostics.
// A problem with line/column is marked there (Newtonsoft line numbers are 1-based; the position
// is the column of the token at fault). A problem with only a template index (and property) is
// located through the JSON syntax tree: the property's name inside template[i], else template[i].
import { ensureSyntaxTree } from "@codemirror/language";
import type { Diagnostic } from "@codemirror/lint";
import type { EditorState } from "@codemirror/state";
import type { SyntaxNode } from "@lezer/common";
import type { TemplateProblem } from "./api";

const punctuation = new Set(["{", "}", "[", "]", ",", ":", "⚠"]);

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) if (!punctuation.has(c.name) && !c.type.isError) out.push(c);
  return out;
}

function propertyName(state: EditorState, prop: SyntaxNode): string {
  const name = prop.getChild("PropertyName");
  if (!name) return "";
  const raw = state.sliceDoc(name.from, name.to);
  return raw.startsWith('"') ? raw.slice(1, -1) : raw;
}

// The Property node `name` (case-insensitive, as MedTech matches properties) of an Object node.
export function findProperty(state: EditorState, object: SyntaxNode | null, name: string): SyntaxNode | null {
  if (!object || object.name !== "Object") return null;
  const lower = name.toLowerCase();
  for (const c of children(object)) if (c.name === "Property" && propertyName(state, c).toLowerCase() === lower) return c;
  return null;
}

export function propertyValue(prop: SyntaxNode | null): SyntaxNode | null {
  if (!prop) return null;
  const kids = children(prop).filter((c) => c.name !== "PropertyName");
  return kids[0] ?? null;
}

export function rootObject(state: EditorState): SyntaxNode | null {
  const tree = ensureSyntaxTree(state, state.doc.length, 200);
  if (!tree) return null;
  return children(tree.topNode).find((c) => c.name === "Object") ?? null;
}

// The root "template" array of a CollectionContent / CollectionFhir document.
export function templateArray(state: EditorState): SyntaxNode | null {
  const value = propertyValue(findProperty(state, rootObject(state), "template"));
  return value && value.name === "Array" ? value : null;
}

export function arrayItems(array: SyntaxNode): SyntaxNode[] {
  return children(array);
}

function templateRange(state: EditorState, index: number, property?: string): { from: number; to: number } | null {
  const array = templateArray(state);
  if (!array) return null;
  const item = arrayItems(array)[index];
  if (!item) return null;
  const inner = propertyValue(findProperty(state, item, "template"));
  if (property) {
    // "values[0].valueName" -> the first plain name; good enough to point at the right line.
    const first = property.split(/[.[]/)[0];
    const prop = findProperty(state, inner, first);
    const name = prop?.getChild("PropertyName");
    if (name) return { from: name.from, to: name.to };
  }
  const target = inner ?? item;
  const line = state.doc.lineAt(target.from);
  return { from: target.from, to: Math.max(target.from + 1, Math.min(line.to, target.to)) };
}

export function toDiagnostics(state: EditorState, problems: TemplateProblem[]): Diagnostic[] {
  const doc = state.doc;
  const out: Diagnostic[] = [];
  for (const p of problems) {
    let from = 0;
    let to = 0;
    if (p.line && p.line >= 1 && p.line <= doc.lines) {
      const line = doc.line(p.line);
      const col = Math.max(0, Math.min((p.column ?? 1) - 1, line.length));
      from = line.from + col;
      to = line.to > from ? line.to : Math.min(from + 1, doc.length);
    } else if (p.templateIndex !== undefined) {
      const r = templateRange(state, p.templateIndex, p.property);
      if (r) ({ from, to } = r);
    }
    if (to <= from) to = Math.min(from + 1, doc.length);
    out.push({
      from,
      to,
      severity: p.severity === "warning" ? "warning" : "error",
      source: p.type,
      message: p.message,
    });
  }
  return out;
}

// The 1-based line a problem points at (for the problem list under each editor).
export function problemLine(state: EditorState, d: Diagnostic): number {
  return state.doc.lineAt(Math.min(d.from, state.doc.length)).number;
}

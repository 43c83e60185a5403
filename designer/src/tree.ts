// The message as a tree of fields; clicking a field with a plain value starts a template for it
// (suggest.ts), like the old IoMT Connector Data Mapper's field picker.

export type PathSegment = string | number;

export interface PickedField {
  path: PathSegment[]; // from the root of `root` to the field
  value: unknown;
}

function scalarText(v: unknown): { text: string; cls: string } {
  if (v === null) return { text: "null", cls: "null" };
  if (typeof v === "string") return { text: JSON.stringify(v), cls: "str" };
  if (typeof v === "number") return { text: String(v), cls: "num" };
  if (typeof v === "boolean") return { text: String(v), cls: "bool" };
  return { text: "", cls: "" };
}

function node(key: PathSegment | null, value: unknown, path: PathSegment[], onPick: (f: PickedField) => void, depth: number): HTMLElement {
  const li = document.createElement("li");
  const label = key === null ? "" : typeof key === "number" ? `[${key}]` : key;
  if (value !== null && typeof value === "object") {
    const details = document.createElement("details");
    details.open = depth < 6;
    const summary = document.createElement("summary");
    const k = document.createElement("span");
    k.className = "key container";
    k.textContent = label || (Array.isArray(value) ? "message (array)" : "message");
    const info = document.createElement("span");
    info.className = "info";
    info.textContent = Array.isArray(value) ? ` [${value.length}]` : ` {${Object.keys(value).length}}`;
    summary.append(k, info);
    details.append(summary);
    const ul = document.createElement("ul");
    const entries: [PathSegment, unknown][] = Array.isArray(value)
      ? value.map((v, i) => [i, v])
      : Object.entries(value as Record<string, unknown>);
    if (depth < 64) for (const [ck, cv] of entries) ul.append(node(ck, cv, [...path, ck], onPick, depth + 1));
    details.append(ul);
    li.append(details);
    return li;
  }
  const k = document.createElement(typeof key === "string" ? "button" : "span");
  k.className = typeof key === "string" ? "key pick" : "key";
  k.textContent = label;
  k.dataset.path = path.map(String).join(".");
  if (typeof key === "string") {
    k.title = `Start a template for "${key}"`;
    k.addEventListener("click", () => onPick({ path, value }));
  }
  const v = scalarText(value);
  const span = document.createElement("span");
  span.className = `value ${v.cls}`;
  span.textContent = v.text;
  li.append(k, document.createTextNode(": "), span);
  return li;
}

export function renderTree(target: HTMLElement, root: unknown, onPick: (f: PickedField) => void): void {
  const ul = document.createElement("ul");
  ul.className = "tree-root";
  ul.append(node(null, root, [], onPick, 0));
  target.replaceChildren(ul);
}

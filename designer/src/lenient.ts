// A tolerant JSON.parse for *display only* (the field tree): device messages may carry // and /* */
// comments and trailing commas, which MedTech accepts (iomt-spec §2). What a message means to the
// mappings is decided by the C++ engine, never here.

export function stripJsonExtras(text: string): string {
  let out = "";
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"' || c === "'") {
      // Copy a string literal (single quotes become double quotes for JSON.parse).
      let j = i + 1;
      let body = "";
      while (j < n && text[j] !== c) {
        if (text[j] === "\\" && j + 1 < n) {
          body += text[j] + text[j + 1];
          j += 2;
        } else {
          body += c === "'" && text[j] === '"' ? '\\"' : text[j];
          j++;
        }
      }
      out += '"' + body + '"';
      i = j + 1;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < n && text[i] !== "\n") i++;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === ",") {
      // Drop a comma followed (after blanks and comments) by a closing bracket.
      let j = i + 1;
      for (;;) {
        while (j < n && /\s/.test(text[j])) j++;
        if (text[j] === "/" && text[j + 1] === "/") {
          while (j < n && text[j] !== "\n") j++;
        } else if (text[j] === "/" && text[j + 1] === "*") {
          const end = text.indexOf("*/", j + 2);
          j = end < 0 ? n : end + 2;
        } else break;
      }
      if (text[j] !== "}" && text[j] !== "]") out += c;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

export type ParseResult = { ok: true; value: unknown } | { ok: false; error: string };

export function parseLenient(text: string): ParseResult {
  const stripped = stripJsonExtras(text.replace(/^\ufeff/, ""));
  if (!stripped.trim()) return { ok: false, error: "empty" };
  try {
    return { ok: true, value: JSON.parse(stripped) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

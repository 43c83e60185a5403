// Upload and download that keep a file's bytes: the UTF-8 BOM and CRLF line endings are
// remembered on upload and written back on download (CodeMirror itself works on LF lines).

export interface LoadedFile {
  name: string;
  text: string; // without the BOM
  bom: boolean;
  lineSeparator: "\n" | "\r\n";
  warning?: string;
}

export async function readFile(file: File): Promise<LoadedFile> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const body = bom ? bytes.subarray(3) : bytes;
  let text: string;
  let warning: string | undefined;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(body);
    warning = `${file.name} is not valid UTF-8: invalid bytes were replaced`;
  }
  const crlf = (text.match(/\r\n/g) ?? []).length;
  const lf = (text.match(/\n/g) ?? []).length;
  let lineSeparator: "\n" | "\r\n" = "\n";
  if (crlf > 0 && crlf === lf) lineSeparator = "\r\n";
  else if (crlf > 0) warning = `${file.name} mixes CRLF and LF line endings: a download will use LF`;
  return { name: file.name, text, bom, lineSeparator, warning };
}

export function download(name: string, text: string, bom: boolean): void {
  const blob = new Blob(bom ? ["\ufeff", text] : [text], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

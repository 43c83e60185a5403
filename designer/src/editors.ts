// CodeMirror 6 JSON editors: highlighting, folding, bracket matching, search, lint markers. Each
// editor remembers its file's name, BOM and line separator (files.ts) so a download gives back
// exactly what was uploaded.
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { json } from "@codemirror/lang-json";
import {
  bracketMatching,
  defaultHighlightStyle,
  foldGutter,
  foldKeymap,
  indentOnInput,
  syntaxHighlighting,
} from "@codemirror/language";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { EditorState, type Extension } from "@codemirror/state";
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import type { LoadedFile } from "./files";

export interface FileInfo {
  name: string;
  bom: boolean;
  lineSeparator: "\n" | "\r\n";
}

function baseExtensions(sep: "\n" | "\r\n", onChange: () => void, extra: Extension[]): Extension[] {
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    foldGutter(),
    lintGutter(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    json(),
    EditorState.tabSize.of(2),
    keymap.of([...defaultKeymap, ...historyKeymap, ...foldKeymap, ...searchKeymap, indentWithTab]),
    // Only CRLF files set the separator; otherwise CodeMirror's default (any line break in, LF out).
    sep === "\r\n" ? EditorState.lineSeparator.of("\r\n") : [],
    EditorView.updateListener.of((u) => {
      if (u.docChanged) onChange();
    }),
    ...extra,
  ];
}

export function makeState(text: string, sep: "\n" | "\r\n", onChange: () => void, extra: Extension[] = []): EditorState {
  return EditorState.create({ doc: text, extensions: baseExtensions(sep, onChange, extra) });
}

export class DocEditor {
  readonly view: EditorView;
  file: FileInfo;

  constructor(
    parent: HTMLElement,
    name: string,
    private readonly onChange: () => void,
    private readonly extra: Extension[] = [],
  ) {
    this.file = { name, bom: false, lineSeparator: "\n" };
    this.view = new EditorView({ parent, state: makeState("", "\n", onChange, extra) });
  }

  // A state for this editor (its extensions and change listener), e.g. for another message tab.
  createState(text: string, sep: "\n" | "\r\n" = "\n"): EditorState {
    return makeState(text, sep, this.onChange, this.extra);
  }

  // The text as it would be saved (the file's own line separator, without the BOM).
  text(): string {
    const s = this.view.state;
    return s.sliceDoc(0, s.doc.length);
  }

  // Replaces the whole document (a new file: undo history starts afresh).
  load(text: string, file: Partial<FileInfo> = {}): void {
    this.file = { name: file.name ?? this.file.name, bom: file.bom ?? false, lineSeparator: file.lineSeparator ?? "\n" };
    this.view.setState(this.createState(text, this.file.lineSeparator));
    this.markLoaded();
    this.onChange();
  }

  // Counts the documents loaded into this editor (data-loads on its container; tests wait on it).
  markLoaded(): void {
    const host = this.view.dom.parentElement;
    if (host) host.dataset.loads = String(Number(host.dataset.loads ?? "0") + 1);
  }

  loadFile(f: LoadedFile): void {
    this.load(f.text, { name: f.name, bom: f.bom, lineSeparator: f.lineSeparator });
  }

  setDiagnostics(diagnostics: Diagnostic[]): void {
    this.view.dispatch(setDiagnostics(this.view.state, diagnostics));
  }

  // Puts the cursor at the start of a 1-based line and scrolls it into view.
  goToLine(line: number): void {
    const doc = this.view.state.doc;
    const pos = doc.line(Math.min(Math.max(line, 1), doc.lines)).from;
    this.view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
    this.view.focus();
  }
}

// The device messages: one tab per message (or per .ndjson file of messages), each with its own
// editor state, file info and, in envelope mode, its Properties / SystemProperties.
import type { EditorState } from "@codemirror/state";
import type { MessageInput } from "./api";
import type { DocEditor, FileInfo } from "./editors";

interface Tab {
  file: FileInfo;
  state: EditorState;
  properties: EditorState;
  systemProperties: EditorState;
}

const defaultProperties = `{
  "iothub-creation-time-utc": "2024-03-01T08:00:00Z"
}
`;
const defaultSystemProperties = `{
  "iothub-connection-device-id": "device-01",
  "iothub-enqueuedtime": "2024-03-01T08:00:01Z",
  "iothub-message-source": "Telemetry"
}
`;

export class MessageTabs {
  private tabs: Tab[] = [];
  private current = 0;

  constructor(
    private readonly bar: HTMLElement,
    readonly editor: DocEditor,
    readonly properties: DocEditor,
    readonly systemProperties: DocEditor,
    private readonly onChange: () => void,
  ) {
    this.add("message.json", "");
  }

  private newTab(name: string, text: string, file: Partial<FileInfo> = {}): Tab {
    const f: FileInfo = { name, bom: file.bom ?? false, lineSeparator: file.lineSeparator ?? "\n" };
    return {
      file: f,
      state: this.editor.createState(text, f.lineSeparator),
      properties: this.properties.createState(defaultProperties),
      systemProperties: this.systemProperties.createState(defaultSystemProperties),
    };
  }

  // Saves what the editors hold into the current tab.
  private save(): void {
    const t = this.tabs[this.current];
    if (!t) return;
    t.state = this.editor.view.state;
    t.file = this.editor.file;
    t.properties = this.properties.view.state;
    t.systemProperties = this.systemProperties.view.state;
  }

  select(index: number): void {
    this.save();
    this.current = Math.max(0, Math.min(index, this.tabs.length - 1));
    const t = this.tabs[this.current];
    this.editor.view.setState(t.state);
    this.editor.file = t.file;
    this.properties.view.setState(t.properties);
    this.systemProperties.view.setState(t.systemProperties);
    this.render();
    this.onChange();
  }

  // `parts`: the tab's Properties / SystemProperties (envelope mode) instead of the examples.
  add(name: string, text: string, file: Partial<FileInfo> = {}, parts?: { properties: string; systemProperties: string }): void {
    this.save();
    // An untouched empty first tab is replaced rather than kept.
    const first = this.tabs[0];
    if (this.tabs.length === 1 && first && first.state.doc.length === 0 && this.current === 0) this.tabs = [];
    const tab = this.newTab(name, text, file);
    if (parts) {
      tab.properties = this.properties.createState(parts.properties);
      tab.systemProperties = this.systemProperties.createState(parts.systemProperties);
    }
    this.tabs.push(tab);
    this.current = this.tabs.length - 1;
    const t = this.tabs[this.current];
    this.editor.view.setState(t.state);
    this.editor.file = t.file;
    this.properties.view.setState(t.properties);
    this.systemProperties.view.setState(t.systemProperties);
    this.editor.markLoaded();
    this.render();
    this.onChange();
  }

  replaceAll(messages: { name: string; text: string }[]): void {
    this.tabs = [];
    this.current = 0;
    for (const m of messages) this.tabs.push(this.newTab(m.name, m.text));
    if (!this.tabs.length) this.tabs.push(this.newTab("message.json", ""));
    this.current = -1;
    this.select(0);
  }

  remove(index: number): void {
    this.save();
    this.tabs.splice(index, 1);
    if (!this.tabs.length) this.tabs.push(this.newTab("message.json", ""));
    this.current = -1;
    this.select(Math.min(index, this.tabs.length - 1));
  }

  currentIndex(): number {
    return this.current;
  }

  names(): string[] {
    return this.tabs.map((t) => t.file.name);
  }

  // Everything to send to /api/mapping/test.
  inputs(envelope: boolean): MessageInput[] {
    this.save();
    return this.tabs
      .filter((t) => t.state.doc.toString().trim() !== "" || envelope)
      .map((t) => {
        const m: MessageInput = { name: t.file.name, text: t.state.sliceDoc(0, t.state.doc.length) };
        if (envelope) {
          m.properties = t.properties.doc.toString();
          m.systemProperties = t.systemProperties.doc.toString();
        }
        return m;
      });
  }

  // Marks tabs whose message produced errors (names from the test's error sources).
  setErrorCounts(counts: Map<string, number>): void {
    this.bar.querySelectorAll<HTMLElement>("[data-tab]").forEach((b) => {
      const n = counts.get(b.dataset.name ?? "") ?? 0;
      b.classList.toggle("has-errors", n > 0);
      const badge = b.querySelector(".count");
      if (badge) badge.textContent = n ? String(n) : "";
    });
  }

  private render(): void {
    this.bar.replaceChildren();
    this.tabs.forEach((t, i) => {
      const b = document.createElement("button");
      b.setAttribute("role", "tab");
      b.dataset.tab = String(i);
      b.dataset.name = t.file.name;
      b.className = i === this.current ? "active" : "";
      b.setAttribute("aria-selected", String(i === this.current));
      const label = document.createElement("span");
      label.textContent = t.file.name;
      const count = document.createElement("span");
      count.className = "count";
      b.append(label, count);
      b.addEventListener("click", () => this.select(i));
      b.addEventListener("dblclick", () => {
        const name = prompt("Message name", t.file.name);
        if (name) {
          this.save();
          t.file = { ...t.file, name };
          if (i === this.current) this.editor.file = t.file;
          this.render();
          this.onChange();
        }
      });
      if (this.tabs.length > 1) {
        const close = document.createElement("span");
        close.className = "close";
        close.textContent = "×";
        close.title = "Remove this message";
        close.addEventListener("click", (e) => {
          e.stopPropagation();
          this.remove(i);
        });
        b.append(close);
      }
      this.bar.append(b);
    });
    const add = document.createElement("button");
    add.className = "add";
    add.textContent = "+";
    add.title = "Add a message";
    add.addEventListener("click", () => {
      this.save();
      this.tabs.push(this.newTab(`message-${this.tabs.length + 1}.json`, "{\n  \n}\n"));
      this.current = -1;
      this.select(this.tabs.length - 1);
    });
    this.bar.append(add);
  }
}

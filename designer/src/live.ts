// The Live tab (issue 13): the running service's recent events with their paths, from its event
// trace (GET api/events, the service's /debug/events; needs `iomtflow run` with designer.enabled
// and debug.trace.enabled). "Open in designer" loads an event's body, exactly as the service
// received it, as a test message, so a mapping is fixed against the message that failed; then its
// dead letters are replayed (iomtflow deadletter replay).

export interface LiveError {
  stage: string;
  type: string;
  message: string;
  class: string;
}

export interface LiveGroup {
  type: string;
  deviceId: string;
  measurements: number;
  start: string;
  end: string;
  patient?: string;
  device?: string;
  encounter?: string;
  observations: { id: string; operation: string }[];
  errors: LiveError[];
}

export interface LiveEvent {
  id: number;
  received: string;
  source: string;
  partition?: number;
  partitionKey?: string;
  // The HTTP request that brought it (its x-ms-request-id) and its index in a batch send.
  request?: { id: string; index?: number };
  systemProperties: unknown;
  properties: unknown;
  body?: string;
  bodyBase64?: string;
  bodyBytes: number;
  bodyTruncated?: boolean;
  status: string;
  devices: string[];
  measurementCount: number;
  measurements: { type: string; deviceId: string; occurrenceTimeUtc: string; values: number }[];
  groups: LiveGroup[];
  errors: LiveError[];
  outcome?: LiveError;
}

interface EventsAnswer {
  events: LiveEvent[];
  stats?: { events: number; maxEvents: number };
}

const tokenKey = "iomtflow-designer/live-token";
function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, unknown> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
}

// The failure that decides the event's fate (what `iomtflow deadletter list` shows as its type).
export function failureOf(ev: LiveEvent): LiveError | undefined {
  return ev.outcome ?? ev.errors[0] ?? ev.groups.flatMap((g) => g.errors)[0];
}

function summary(ev: LiveEvent): string {
  const ops = new Map<string, number>();
  for (const g of ev.groups) for (const o of g.observations) ops.set(o.operation, (ops.get(o.operation) ?? 0) + 1);
  const parts = [...ops].map(([op, n]) => `${n} ${op}`);
  const f = failureOf(ev);
  if (f) parts.push(`${f.type} (${f.class})`);
  if (ev.status === "no measurements") parts.push("no template matched");
  return parts.join(", ") || ev.status;
}

// `onlyRequest`: show only the events of this HTTP request (the Request filter).
function pathView(ev: LiveEvent, onlyRequest: (id: string) => void): HTMLElement {
  const box = el("div", { className: "live-path" });
  const pos = ev.systemProperties && typeof ev.systemProperties === "object" ? (ev.systemProperties as Record<string, unknown>) : {};
  const at = ["x-opt-sequence-number", "x-opt-offset", "x-opt-publisher", "x-opt-enqueued-time"]
    .filter((k) => pos[k] !== undefined)
    .map((k) => `${k} ${String(pos[k])}`)
    .join(", ");
  const partition = ev.partition !== undefined ? `, partition ${ev.partition}` : "";
  box.append(el("p", {}, `received ${ev.received} from ${ev.source}${partition}${ev.partitionKey ? `, partition key ${ev.partitionKey}` : ""}${at ? ` (${at})` : ""}`));
  if (ev.request) {
    const request = el("p", { className: "live-request" }, "request ", el("code", {}, ev.request.id));
    if (ev.request.index !== undefined) request.append(`, batch item ${ev.request.index}`);
    request.title = "x-ms-request-id of the answer the sender got (its x-ms-client-request-id when it sent one)";
    const only = el("button", { className: "link filter-request", textContent: "only this request" });
    const id = ev.request.id;
    only.addEventListener("click", () => onlyRequest(id));
    request.append(" ", only);
    box.append(request);
  }
  const ms = el("ul", { className: "live-measurements" });
  for (const m of ev.measurements) ms.append(el("li", {}, `${m.type} · device ${m.deviceId} · ${m.occurrenceTimeUtc} · ${m.values} value(s)`));
  box.append(el("p", {}, `${ev.measurementCount} measurement(s)`), ms);
  for (const g of ev.groups) {
    const li = el("div", { className: `live-group ${g.errors.length ? "error" : "ok"}` });
    li.append(el("strong", {}, `${g.type} of ${g.deviceId}`), ` ${g.measurements} measurement(s) ${g.start}${g.end !== g.start ? ` … ${g.end}` : ""}`);
    const ids = [g.patient, g.device, g.encounter].filter(Boolean).join(" · ");
    if (ids) li.append(el("div", { className: "ids" }, ids));
    for (const o of g.observations) li.append(el("div", { className: `obs op-${o.operation}` }, `Observation/${o.id} ${o.operation}`));
    for (const e of g.errors) li.append(el("div", { className: "err" }, `${e.type} (${e.class}): ${e.message}`));
    box.append(li);
  }
  for (const e of ev.errors) box.append(el("div", { className: "err" }, `${e.stage}: ${e.type} (${e.class}): ${e.message}`));
  const f = failureOf(ev);
  if (ev.status === "failed" && f?.class === "permanent")
    box.append(
      el(
        "p",
        { className: "hint" },
        "Kept in the dead-letter store. Open it in the designer, fix the mapping, deploy it, then replay: ",
        el("code", {}, `iomtflow deadletter replay --type ${f.type} --config FILE`),
      ),
    );
  else if (ev.status === "failed") box.append(el("p", { className: "hint" }, "The event waits and is retried by its source."));
  return box;
}

export class LiveTab {
  private timer: number | undefined;
  private readonly list: HTMLElement;
  private readonly note: HTMLElement;
  private readonly device: HTMLInputElement;
  private readonly request: HTMLInputElement;
  private readonly token: HTMLInputElement;
  private readonly auto: HTMLInputElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly count: HTMLElement,
    private readonly open: (ev: LiveEvent) => void,
  ) {
    this.device = el("input", { id: "live-device", placeholder: "device id (empty: all)", type: "search" });
    this.request = el("input", { id: "live-request", placeholder: "x-ms-request-id (empty: all)", type: "search" });
    this.request.title = "The events of one HTTP request: the x-ms-request-id its sender was answered";
    this.token = el("input", { id: "live-token", placeholder: "SharedAccessSignature sr=…", type: "password", autocomplete: "off" });
    this.token.title = "A namespace-level SAS token made with one of source.http.keys (not needed with source.http.auth: none)";
    try {
      this.token.value = sessionStorage.getItem(tokenKey) ?? "";
    } catch {
      /* storage disabled */
    }
    this.auto = el("input", { type: "checkbox", id: "live-auto" });
    const refresh = el("button", { id: "live-refresh", textContent: "Refresh" });
    refresh.addEventListener("click", () => void this.load());
    this.device.addEventListener("change", () => void this.load());
    this.request.addEventListener("change", () => void this.load());
    this.token.addEventListener("change", () => {
      try {
        sessionStorage.setItem(tokenKey, this.token.value);
      } catch {
        /* storage disabled */
      }
      void this.load();
    });
    this.auto.addEventListener("change", () => this.schedule());
    const tools = el(
      "div",
      { className: "live-tools" },
      el("label", {}, "Device ", this.device),
      el("label", {}, "Request ", this.request),
      el("label", {}, "Token ", this.token),
      refresh,
      el("label", { className: "toggle" }, this.auto, " every 3 s"),
    );
    this.note = el("p", { className: "note", id: "live-note" });
    this.list = el("div", { className: "live-list", id: "live-list" });
    root.replaceChildren(tools, this.note, this.list);
  }

  // Called when the tab is shown.
  shown(): void {
    void this.load();
    this.schedule();
  }

  private schedule(): void {
    clearInterval(this.timer);
    if (this.auto.checked) this.timer = window.setInterval(() => !this.root.hidden && void this.load(), 3000);
  }

  async load(): Promise<void> {
    const q = new URLSearchParams({ limit: "50" });
    if (this.device.value.trim()) q.set("device", this.device.value.trim());
    if (this.request.value.trim()) q.set("request", this.request.value.trim());
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.token.value.trim()) headers.Authorization = this.token.value.trim();
    let res: Response;
    try {
      res = await fetch(`api/events?${q}`, { headers });
    } catch (err) {
      this.show([], `cannot reach iomtflow: ${String(err)}`);
      return;
    }
    let body: Record<string, unknown> = {};
    try {
      body = (await res.json()) as Record<string, unknown>;
    } catch {
      /* not JSON: reported below */
    }
    if (!res.ok) {
      const why = typeof body.message === "string" ? body.message : typeof body.error === "string" ? body.error : `HTTP ${res.status}`;
      const hint =
        res.status === 401
          ? " Paste a namespace-level SAS token (sr = the service's address) made with one of source.http.keys."
          : res.status === 404
            ? " Live events need `iomtflow run` with debug.trace.enabled: true (and designer.enabled)."
            : "";
      this.show([], `${res.status}: ${why}.${hint}`);
      return;
    }
    const answer = body as unknown as EventsAnswer;
    const st = answer.stats;
    this.show(answer.events ?? [], st ? `${answer.events.length} event(s) shown; the service keeps the last ${st.maxEvents} (${st.events} now).` : "");
  }

  private show(events: LiveEvent[], note: string): void {
    this.note.textContent = note;
    this.count.textContent = String(events.length);
    this.list.replaceChildren();
    if (!events.length) {
      this.list.append(el("p", { className: "empty" }, "No events."));
      return;
    }
    for (const ev of events) {
      const row = el("details", { className: `live-event status-${ev.status.replace(/ /g, "-")}` });
      row.dataset.eventId = String(ev.id);
      const openButton = el("button", { className: "primary open-event", textContent: "Open in designer" });
      openButton.disabled = ev.body === undefined;
      openButton.title = ev.body === undefined ? "The body is not UTF-8 text" : "Load this event's body as a test message";
      openButton.addEventListener("click", (e) => {
        e.preventDefault();
        this.open(ev);
      });
      const head = el(
        "summary",
        {},
        el("span", { className: "id" }, `#${ev.id}`),
        el("span", { className: "time" }, ev.received.slice(11, 19)),
        el("span", { className: "devices" }, ev.devices.join(", ") || ev.partitionKey || "(no device)"),
        el("span", { className: "live-status" }, ev.status),
        el("span", { className: "summary" }, summary(ev)),
        openButton,
      );
      row.append(
        head,
        pathView(ev, (id) => {
          this.request.value = id;
          void this.load();
        }),
      );
      this.list.append(row);
    }
  }
}

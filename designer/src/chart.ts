// A SampledData value drawn as a line chart: one slot every `period` ms from `start`; "E" (no
// value in that slot) breaks the line, so gaps show as gaps (iomt-spec §8.2). Plain SVG.

const SVG = "http://www.w3.org/2000/svg";

export interface SampledData {
  origin?: { value?: number; unit?: string };
  period?: number;
  factor?: number;
  dimensions?: number;
  data?: string;
}

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function fmtTime(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

export interface ChartSummary {
  slots: number;
  values: number;
  gaps: number;
  other: number; // slots whose token is neither a number nor "E"
}

export function summarize(sd: SampledData): ChartSummary {
  const tokens = (sd.data ?? "").trim().split(/\s+/).filter((t) => t.length > 0);
  let values = 0;
  let gaps = 0;
  let other = 0;
  for (const t of tokens) {
    if (t === "E") gaps++;
    else if (Number.isFinite(Number(t))) values++;
    else other++;
  }
  return { slots: tokens.length, values, gaps, other };
}

export function sampledDataChart(sd: SampledData, startIso: string | undefined): SVGSVGElement {
  const tokens = (sd.data ?? "").trim().split(/\s+/).filter((t) => t.length > 0);
  const origin = sd.origin?.value ?? 0;
  const factor = sd.factor ?? 1;
  const values = tokens.map((t) => (t === "E" || !Number.isFinite(Number(t)) ? null : origin + Number(t) * factor));
  const present = values.filter((v): v is number => v !== null);

  const W = 640;
  const H = 180;
  const pad = { left: 44, right: 12, top: 12, bottom: 30 };
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "sampled-data-chart", role: "img" });
  const n = Math.max(tokens.length, 1);
  let lo = present.length ? Math.min(...present) : 0;
  let hi = present.length ? Math.max(...present) : 1;
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const x = (i: number) => pad.left + (n === 1 ? (W - pad.left - pad.right) / 2 : (i / (n - 1)) * (W - pad.left - pad.right));
  const y = (v: number) => pad.top + (1 - (v - lo) / (hi - lo)) * (H - pad.top - pad.bottom);

  // Frame and axis labels.
  svg.append(el("rect", { x: pad.left, y: pad.top, width: W - pad.left - pad.right, height: H - pad.top - pad.bottom, class: "frame" }));
  const label = (text: string, attrs: Record<string, string | number>) => {
    const t = el("text", attrs);
    t.textContent = text;
    svg.append(t);
  };
  label(String(+hi.toFixed(3)), { x: pad.left - 4, y: pad.top + 4, "text-anchor": "end", class: "axis" });
  label(String(+lo.toFixed(3)), { x: pad.left - 4, y: H - pad.bottom, "text-anchor": "end", class: "axis" });
  const start = startIso ? Date.parse(startIso) : NaN;
  if (Number.isFinite(start) && sd.period) {
    label(fmtTime(start), { x: pad.left, y: H - 8, class: "axis" });
    label(fmtTime(start + (n - 1) * sd.period), { x: W - pad.right, y: H - 8, "text-anchor": "end", class: "axis" });
  }

  // Gaps: shaded bands over runs of E.
  const slotW = (W - pad.left - pad.right) / n;
  for (let i = 0; i < tokens.length; ) {
    if (values[i] !== null) {
      i++;
      continue;
    }
    let j = i;
    while (j < tokens.length && values[j] === null) j++;
    svg.append(
      el("rect", {
        x: pad.left + i * slotW,
        y: pad.top,
        width: Math.max((j - i) * slotW, 0.5),
        height: H - pad.top - pad.bottom,
        class: "gap",
      }),
    );
    i = j;
  }

  // Line segments between consecutive values; a value alone between gaps is a dot.
  let run: string[] = [];
  const flush = () => {
    if (run.length > 1) svg.append(el("polyline", { points: run.join(" "), class: "line" }));
    run = [];
  };
  values.forEach((v, i) => {
    if (v === null) {
      flush();
      return;
    }
    run.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    // Every value gets a dot while they are few enough to tell apart; a value alone always does.
    const alone = (i === 0 || values[i - 1] === null) && (i === values.length - 1 || values[i + 1] === null);
    if (alone || present.length <= 200) svg.append(el("circle", { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 3, class: "point" }));
  });
  flush();
  const title = el("title", {});
  const s = summarize(sd);
  title.textContent = `${s.slots} slots of ${sd.period ?? "?"} ms: ${s.values} values, ${s.gaps} gaps (E)`;
  svg.prepend(title);
  return svg;
}

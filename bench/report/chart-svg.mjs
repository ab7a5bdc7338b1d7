// A hand-made SVG: for each scenario, throughput and p99 latency against concurrency, one line per
// target. Concurrency and latency use log scales; throughput is linear from zero.

const COLORS = {
  workerd: "#f38020",
  miniflare: "#e0b000",
  wrangler: "#8e44ad",
  baseline: "#336791",
};
const PANEL_W = 380;
const PANEL_H = 210;
const MARGIN = { left: 64, right: 16, top: 28, bottom: 36 };

const esc = (s) =>
  String(s).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const short = (v) => (v >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(v < 10 ? 1 : 0)}`);

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}

/**
 * One panel at (x0, y0).
 * @param {number} x0
 * @param {number} y0
 * @param {{ title: string, series: { key: string, points: [number, number][] }[], log: boolean, concurrencies: number[] }} panel
 */
function drawPanel(x0, y0, { title, series, log, concurrencies }) {
  const w = PANEL_W - MARGIN.left - MARGIN.right;
  const h = PANEL_H - MARGIN.top - MARGIN.bottom;
  const values = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v > 0);
  const cMin = Math.min(...concurrencies);
  const cMax = Math.max(...concurrencies);
  const xOf = (c) =>
    x0 + MARGIN.left + (cMax === cMin ? w / 2 : (Math.log2(c / cMin) / Math.log2(cMax / cMin)) * w);
  let yOf;
  let ticks;
  if (log) {
    const lo = 10 ** Math.floor(Math.log10(Math.min(...values, 1)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...values, 1) * 1.01));
    yOf = (v) => y0 + MARGIN.top + h - (Math.log10(Math.max(v, lo) / lo) / Math.log10(hi / lo)) * h;
    ticks = [];
    for (let t = lo; t <= hi; t *= 10) ticks.push(t);
  } else {
    const hi = niceMax(Math.max(...values, 1) * 1.05);
    yOf = (v) => y0 + MARGIN.top + h - (v / hi) * h;
    ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * hi);
  }
  const out = [`<text x="${x0 + MARGIN.left}" y="${y0 + 18}" class="title">${esc(title)}</text>`];
  for (const t of ticks) {
    const y = yOf(t);
    out.push(
      `<line x1="${x0 + MARGIN.left}" x2="${x0 + MARGIN.left + w}" y1="${y}" y2="${y}" class="grid"/>`,
    );
    out.push(
      `<text x="${x0 + MARGIN.left - 6}" y="${y + 4}" class="tick" text-anchor="end">${short(t)}</text>`,
    );
  }
  for (const c of concurrencies) {
    out.push(
      `<text x="${xOf(c)}" y="${y0 + MARGIN.top + h + 16}" class="tick" text-anchor="middle">${c}</text>`,
    );
  }
  out.push(
    `<text x="${x0 + MARGIN.left + w / 2}" y="${y0 + PANEL_H - 4}" class="axis" text-anchor="middle">connections</text>`,
  );
  out.push(
    `<rect x="${x0 + MARGIN.left}" y="${y0 + MARGIN.top}" width="${w}" height="${h}" class="frame"/>`,
  );
  for (const s of series) {
    const pts = s.points.filter((p) => p[1] > 0 || !log);
    if (pts.length === 0) continue;
    const color = COLORS[s.key] ?? "#555";
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([c, v]) => `${xOf(c).toFixed(1)},${yOf(v).toFixed(1)}`).join(" ")}"/>`,
    );
    for (const [c, v] of pts)
      out.push(
        `<circle cx="${xOf(c).toFixed(1)}" cy="${yOf(v).toFixed(1)}" r="3" fill="${color}"><title>${esc(`${s.key} c=${c}: ${short(v)}`)}</title></circle>`,
      );
  }
  return out.join("\n");
}

/**
 * @param {any[]} rows measured rows
 * @param {{ key: string, label: string }[]} targets
 * @param {{ key: string, title: string }[]} scenarios
 * @param {string} subtitle
 */
export function chartSvg(rows, targets, scenarios, subtitle) {
  const concurrencies = [...new Set(rows.map((r) => r.connections))].sort((a, b) => a - b);
  const shown = scenarios.filter((s) => rows.some((r) => r.scenario === s.key));
  const top = 76;
  const width = PANEL_W * 2 + 20;
  const height = top + shown.length * PANEL_H + 10;
  const parts = [];
  shown.forEach((scenario, i) => {
    const y = top + i * PANEL_H;
    const seriesOf = (metric) =>
      targets.map((t) => ({
        key: t.key,
        points: rows
          .filter((r) => r.target === t.key && r.scenario === scenario.key)
          .sort((a, b) => a.connections - b.connections)
          .map((r) => /** @type {[number, number]} */ ([r.connections, metric(r)])),
      }));
    parts.push(
      drawPanel(10, y, {
        title: `${scenario.key}: requests/s`,
        series: seriesOf((r) => r.rps),
        log: false,
        concurrencies,
      }),
    );
    parts.push(
      drawPanel(10 + PANEL_W, y, {
        title: `${scenario.key}: p99 latency, ms (log)`,
        series: seriesOf((r) => r.latencyMs.p99 ?? 0),
        log: true,
        concurrencies,
      }),
    );
  });
  const legend = targets
    .map(
      (t, i) =>
        `<g transform="translate(${20 + i * 200},62)"><rect width="14" height="4" y="-6" fill="${COLORS[t.key] ?? "#555"}"/><text x="20" y="0" class="legend">${esc(t.label)}</text></g>`,
    )
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">
<style>
  .title { font-size: 13px; font-weight: 600; fill: #222 }
  .tick { font-size: 10px; fill: #555 }
  .axis { font-size: 10px; fill: #777 }
  .legend { font-size: 12px; fill: #222 }
  .grid { stroke: #e6e6e6; stroke-width: 1 }
  .frame { fill: none; stroke: #bbb }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="24" font-size="16" font-weight="700" fill="#111">Flash-sale checkout: throughput and p99 against concurrency</text>
<text x="20" y="40" font-size="11" fill="#555">${esc(subtitle)}</text>
${legend}
${parts.join("\n")}
</svg>
`;
}

// A live chart of a sale, drawn as an SVG of our own (no library, nothing from another host):
// items sold and in baskets over the last minutes, the line's length, and holds made per second.
// Samples come from the live socket (stock) and the counters read every few seconds (sold,
// holds, queue); each sample carries the latest of both.

const SVG = "http://www.w3.org/2000/svg";
/** How much history the chart keeps and shows. */
const WINDOW_MS = 5 * 60_000;
const WIDTH = 320;
const HEIGHT = 96;
const PAD = 4;

/**
 * One moment of the sale.
 * @typedef {object} SaleSample
 * @property {number} at ms
 * @property {number} sold
 * @property {number} held
 * @property {number} queue people waiting in line
 * @property {number} holdsMade every hold ever made (active, ordered, expired, released)
 */

/** The series drawn, each a class for its colour (console.css) and a name for the legend. */
const SERIES = /** @type {const} */ ([
  { key: "sold", name: "Sold", className: "series-sold" },
  { key: "held", name: "In baskets", className: "series-held" },
  { key: "queue", name: "In line", className: "series-queue" },
  { key: "rate", name: "Holds per second", className: "series-rate" },
]);

export class SaleChart {
  constructor() {
    /** @type {SaleSample[]} */
    this.samples = [];
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
    this.svg.setAttribute("preserveAspectRatio", "none");
    this.svg.setAttribute("class", "sale-chart-plot");
    this.svg.setAttribute("aria-hidden", "true");
    /** @type {Record<string, SVGPolylineElement>} */
    this.lines = {};
    for (const s of SERIES) {
      const line = document.createElementNS(SVG, "polyline");
      line.setAttribute("class", s.className);
      line.setAttribute("fill", "none");
      line.setAttribute("vector-effect", "non-scaling-stroke");
      this.svg.append(line);
      this.lines[s.key] = line;
    }
    // The legend carries the latest figures in words: the plot itself is hidden from screen
    // readers, which could make nothing of its lines.
    this.legend = document.createElement("ul");
    this.legend.className = "sale-chart-legend";
    /** @type {Record<string, HTMLElement>} */
    this.values = {};
    for (const s of SERIES) {
      const item = document.createElement("li");
      item.className = s.className;
      const value = document.createElement("strong");
      value.textContent = "–";
      this.values[s.key] = value;
      item.append(`${s.name} `, value);
      this.legend.append(item);
    }
    this.root = document.createElement("figure");
    this.root.className = "sale-chart";
    this.root.dataset.samples = "0";
    const caption = document.createElement("figcaption");
    caption.className = "visually-hidden";
    caption.textContent = "The sale over the last five minutes";
    this.root.append(caption, this.svg, this.legend);
  }

  /**
   * Add a moment of the sale (a new one replaces the last if it is under a second newer).
   * @param {SaleSample} sample
   */
  add(sample) {
    const last = this.samples.at(-1);
    if (last && sample.at - last.at < 1_000) this.samples[this.samples.length - 1] = sample;
    else this.samples.push(sample);
    while (this.samples.length > 2 && this.samples[0].at < sample.at - WINDOW_MS) {
      this.samples.shift();
    }
    this.draw();
  }

  /** Holds made per second between each sample and the one before it. */
  rates() {
    return this.samples.map((s, i) => {
      const before = this.samples[i - 1];
      if (!before) return 0;
      const seconds = (s.at - before.at) / 1_000;
      return seconds > 0 ? Math.max(0, s.holdsMade - before.holdsMade) / seconds : 0;
    });
  }

  draw() {
    const samples = this.samples;
    this.root.dataset.samples = String(samples.length);
    if (samples.length === 0) return;
    const rates = this.rates();
    const first = samples[0].at;
    const span = Math.max(1, (samples.at(-1)?.at ?? first) - first);
    const counts = samples.flatMap((s) => [s.sold, s.held, s.queue]);
    const top = Math.max(1, ...counts);
    const rateTop = Math.max(1, ...rates);
    const x = (/** @type {number} */ at) => PAD + ((at - first) / span) * (WIDTH - 2 * PAD);
    const y = (/** @type {number} */ v, /** @type {number} */ max) =>
      HEIGHT - PAD - (v / max) * (HEIGHT - 2 * PAD);
    /** @type {Record<string, number[]>} */
    const series = {
      sold: samples.map((s) => s.sold),
      held: samples.map((s) => s.held),
      queue: samples.map((s) => s.queue),
      rate: rates,
    };
    for (const s of SERIES) {
      const values = series[s.key] ?? [];
      const max = s.key === "rate" ? rateTop : top;
      const points = samples.map(
        (sample, i) => `${x(sample.at).toFixed(1)},${y(values[i] ?? 0, max).toFixed(1)}`,
      );
      // One sample is a flat line across, so the chart shows something from the start.
      if (points.length === 1) points.push(`${WIDTH - PAD},${y(values[0] ?? 0, max).toFixed(1)}`);
      this.lines[s.key]?.setAttribute("points", points.join(" "));
      const latest = values.at(-1) ?? 0;
      const value = this.values[s.key];
      if (value) value.textContent = s.key === "rate" ? latest.toFixed(1) : String(latest);
    }
  }
}

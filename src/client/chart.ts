// One line chart as inline SVG (no scripts): axes with round tick values, linear or
// logarithmic y, a legend above the plot where it covers no line, labels kept inside
// the picture.

const WIDTH = 720;
const HEIGHT = 300;
/** Room for the legend above, y tick labels and the y title on the left, the last x label on the right. */
const PAD = { left: 86, right: 44, top: 34, bottom: 44 };
const PLOT_WIDTH = WIDTH - PAD.left - PAD.right;
const PLOT_HEIGHT = HEIGHT - PAD.top - PAD.bottom;
const LEGEND_SPACING = 100;

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

/** The smallest of 1, 2, 2.5 or 5 × 10^k that is at least `x` (x > 0). */
export function niceStep(x: number): number {
  const power = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= x * (1 - 1e-9)) return m * power;
  return 10 * power;
}

/** Round tick values from 0 covering `max`, about `count` of them: 0, step, 2·step, … ≥ max. */
export function niceTicks(max: number, count = 5): number[] {
  const step = niceStep(Math.max(max, 1e-9) / count);
  const ticks = [0];
  while (ticks[ticks.length - 1] < max * (1 - 1e-9)) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

/** A tick label: thousands separated, at most the decimals the step needs. */
function tickLabel(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

/**
 * A chart of `series`. The x axis runs from the smallest to the largest of the x ticks
 * and points; the y axis from 0 (linear) or 1 (log) to a round value above every point.
 */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[], xTicks: [number, string][], logY = false): string {
  const all = series.flatMap((s) => s.points);
  const xs = [...all.map((p) => p[0]), ...xTicks.map((t) => t[0])];
  const xMin = Math.min(...xs);
  const xSpan = Math.max(1e-9, Math.max(...xs) - xMin);
  const yData = Math.max(1, ...all.map((p) => p[1]));
  const yTicks = logY
    ? Array.from({ length: Math.max(1, Math.ceil(Math.log10(yData - 1e-9))) + 1 }, (_, i) => 10 ** i)
    : niceTicks(yData);
  const yTop = yTicks[yTicks.length - 1];
  const fy = (y: number) => (logY ? Math.log10(Math.max(1, y)) / Math.log10(Math.max(10, yTop)) : y / yTop);
  const px = (x: number) => PAD.left + ((x - xMin) / xSpan) * PLOT_WIDTH;
  const py = (y: number) => HEIGHT - PAD.bottom - fy(y) * PLOT_HEIGHT;
  const at = (v: number) => v.toFixed(1);
  const lines = series.map((s) => `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.points.map(([x, y]) => `${at(px(x))},${at(py(y))}`).join(' ')}"/>`);
  const legend = series.map((s, i) => `<text x="${PAD.left + i * LEGEND_SPACING}" y="${PAD.top - 12}" fill="${s.color}" font-size="12">■ ${escapeHtml(s.name)}</text>`);
  return `<figure><figcaption>${escapeHtml(title)}</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">
<rect x="${PAD.left}" y="${PAD.top}" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}" fill="#fafafa" stroke="#ccc"/>
${yTicks.map((v) => `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${at(py(v))}" y2="${at(py(v))}" stroke="#e4e4e4"/><text x="${PAD.left - 6}" y="${at(py(v) + 4)}" text-anchor="end">${tickLabel(v)}</text>`).join('\n')}
${xTicks.map(([x, label]) => `<text x="${at(px(x))}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle">${escapeHtml(label)}</text>`).join('\n')}
<text x="${PAD.left + PLOT_WIDTH / 2}" y="${HEIGHT - 8}" text-anchor="middle">${escapeHtml(xLabel)}</text>
<text x="14" y="${PAD.top + PLOT_HEIGHT / 2}" transform="rotate(-90 14 ${PAD.top + PLOT_HEIGHT / 2})" text-anchor="middle">${escapeHtml(yLabel)}</text>
${lines.join('\n')}
${legend.join('\n')}
</svg></figure>`;
}

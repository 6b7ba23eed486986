// Presents a load report: the text table, and a self-contained HTML page with a
// latency-over-time chart and a latency-distribution chart (inline SVG, no scripts).

import type { LoadReport } from './load.ts';

const n = (x: number) => Math.round(x).toLocaleString('en-US');

export function formatText(r: LoadReport): string {
  const l = r.latency;
  return [
    `rokv client: ${r.server} (${r.protocol}), ${r.clients} connections × pipeline ${r.pipeline}, ${r.threads} thread${r.threads > 1 ? 's' : ''}`,
    `requests     ${n(r.requests)} in ${r.seconds.toFixed(2)} s`,
    `throughput   ${n(r.throughput)} req/s`,
    `latency µs   p50 ${n(l.p50)}  p90 ${n(l.p90)}  p99 ${n(l.p99)}  p99.9 ${n(l.p999)}  max ${n(l.max)}  (mean ${l.mean.toFixed(1)})`,
    `answers      ${n(r.hits)} hits, ${n(r.misses)} misses, ${n(r.errors)} errors, ${n(r.mismatches)} mismatches`,
    `connections  ${r.lostConnections} lost (${n(r.lostRequests)} requests unanswered)${r.server.startsWith('cluster') ? `, ${n(r.failovers)} failovers to replicas` : ''}`,
    `client CPU   ${r.clientCpuSeconds.toFixed(2)} s (${r.seconds > 0 ? (r.clientCpuSeconds / r.seconds).toFixed(2) : '-'} cores)`,
    ...r.examples.map((e) => `${e.kind.padEnd(12)} key ${e.key}: expected ${e.expected}, got ${e.got}`),
  ].join('\n');
}

const WIDTH = 720;
const HEIGHT = 280;
const PAD = { left: 70, right: 20, top: 20, bottom: 40 };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[], xTicks: [number, string][], logY = false): string {
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(1e-9, ...all.map((p) => p[0]), ...xTicks.map((t) => t[0]));
  const yRaw = all.map((p) => p[1]);
  const yMax = Math.max(1, ...yRaw);
  const fy = (y: number) => (logY ? Math.log10(Math.max(1, y)) / Math.log10(Math.max(10, yMax)) : y / yMax);
  const px = (x: number) => PAD.left + (x / xMax) * (WIDTH - PAD.left - PAD.right);
  const py = (y: number) => HEIGHT - PAD.bottom - fy(y) * (HEIGHT - PAD.top - PAD.bottom);
  const yTicks = logY
    ? Array.from({ length: Math.ceil(Math.log10(Math.max(10, yMax))) + 1 }, (_, i) => 10 ** i).filter((v) => v <= yMax * 1.0001)
    : [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax);
  const lines = series.map((s) => `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
  const legend = series.map((s, i) => `<text x="${PAD.left + 10 + i * 90}" y="${PAD.top + 4}" fill="${s.color}" font-size="12">■ ${escapeHtml(s.name)}</text>`);
  return `<figure><figcaption>${escapeHtml(title)}</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="11">
<rect x="${PAD.left}" y="${PAD.top}" width="${WIDTH - PAD.left - PAD.right}" height="${HEIGHT - PAD.top - PAD.bottom}" fill="#fafafa" stroke="#ccc"/>
${yTicks.map((v) => `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${py(v)}" y2="${py(v)}" stroke="#e4e4e4"/><text x="${PAD.left - 6}" y="${py(v) + 4}" text-anchor="end">${n(v)}</text>`).join('\n')}
${xTicks.map(([x, label]) => `<text x="${px(x)}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle">${escapeHtml(label)}</text>`).join('\n')}
<text x="${(WIDTH + PAD.left) / 2}" y="${HEIGHT - 6}" text-anchor="middle">${escapeHtml(xLabel)}</text>
<text x="14" y="${HEIGHT / 2}" transform="rotate(-90 14 ${HEIGHT / 2})" text-anchor="middle">${escapeHtml(yLabel)}</text>
${lines.join('\n')}
${legend.join('\n')}
</svg></figure>`;
}

export function renderHtml(r: LoadReport): string {
  const t = r.timeline;
  const lastT = t.length > 0 ? t[t.length - 1].t + r.intervalSeconds : 1;
  const timeTicks: [number, string][] = Array.from({ length: 6 }, (_, i) => [(lastT * i) / 5, `${((lastT * i) / 5).toFixed(1)} s`]);
  const overTime = lineChart('Latency over time', 'time since the first counted answer', 'latency (µs)', [
    { name: 'p50', color: '#1f77b4', points: t.map((p) => [p.t + r.intervalSeconds / 2, p.p50]) },
    { name: 'p99', color: '#d62728', points: t.map((p) => [p.t + r.intervalSeconds / 2, p.p99]) },
    { name: 'max', color: '#999999', points: t.map((p) => [p.t + r.intervalSeconds / 2, p.max]) },
  ], timeTicks, true);
  // Distribution on the classic "nines" axis: x = log10(1 / (1 - percentile)).
  const nines = (p: number) => Math.log10(100 / Math.max(1e-3, 100 - p));
  const dist = r.distribution.filter((d) => d.percentile < 100);
  const distribution = lineChart('Latency distribution', 'percentile', 'latency (µs)', [
    { name: 'latency', color: '#2ca02c', points: dist.map((d) => [nines(d.percentile), d.micros]) },
  ], [0, 50, 90, 99, 99.9, 99.99, 99.999].map((p) => [nines(p), `${p}%`] as [number, string]), true);
  const throughput = lineChart('Throughput over time', 'time since the first counted answer', 'requests/s', [
    { name: 'req/s', color: '#9467bd', points: t.map((p) => [p.t + r.intervalSeconds / 2, p.count / r.intervalSeconds]) },
  ], timeTicks);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rokv load report</title>
<style>body{font-family:sans-serif;max-width:780px;margin:2em auto;color:#222}pre{background:#f4f4f4;padding:1em;overflow-x:auto}figure{margin:1.5em 0}figcaption{font-weight:bold;margin-bottom:.4em}</style>
</head><body>
<h1>rokv load report</h1>
<pre>${escapeHtml(formatText(r))}</pre>
${overTime}
${distribution}
${throughput}
</body></html>
`;
}

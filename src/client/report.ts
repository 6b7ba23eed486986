// Presents a load report: the text table, and a self-contained HTML page with a
// header naming the data file, date and command, and charts of latency over time,
// latency distribution and throughput (inline SVG, no scripts).

import { escapeHtml, lineChart, niceTicks } from './chart.ts';
import type { LoadReport } from './load.ts';

const n = (x: number) => Math.round(x).toLocaleString('en-US');

export function formatText(r: LoadReport): string {
  const l = r.latency;
  return [
    `rokv client: ${r.server} (${r.protocol}), ${r.clients} connections × pipeline ${r.pipeline}, ${r.threads} thread${r.threads > 1 ? 's' : ''}${r.interrupted ? ' (interrupted: answers so far)' : ''}`,
    `keys         ${r.keyDistribution} over ${n(r.keyCount)} keys`,
    `requests     ${n(r.requests)} in ${r.seconds.toFixed(2)} s`,
    `throughput   ${n(r.throughput)} req/s`,
    `latency µs   p50 ${n(l.p50)}  p90 ${n(l.p90)}  p99 ${n(l.p99)}  p99.9 ${n(l.p999)}  max ${n(l.max)}  (mean ${l.mean.toFixed(1)})`,
    `answers      ${n(r.hits)} hits, ${n(r.misses)} misses, ${n(r.errors)} errors, ${n(r.mismatches)} mismatches`,
    `connections  ${r.lostConnections} lost (${n(r.lostRequests)} requests unanswered)${r.server.startsWith('cluster') ? `, ${n(r.failovers)} failovers to replicas` : ''}`,
    `client CPU   ${r.clientCpuSeconds.toFixed(2)} s (${r.seconds > 0 ? (r.clientCpuSeconds / r.seconds).toFixed(2) : '-'} cores)`,
    ...r.examples.map((e) => `${e.kind.padEnd(12)} key ${e.key}: expected ${e.expected}, got ${e.got}`),
  ].join('\n');
}

/** What the page says about the run besides the report: the data file, the command, when. */
export interface RunContext {
  file: string;
  command: string;
  date?: Date;
}

export function renderHtml(r: LoadReport, run: RunContext): string {
  const t = r.timeline;
  const lastT = t.length > 0 ? t[t.length - 1].t + r.intervalSeconds : 1;
  const timeTicks = niceTicks(lastT, 6).filter((v) => v <= lastT).map((v): [number, string] => [v, `${v} s`]);
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
<p>Data file <code>${escapeHtml(run.file)}</code>, run on ${escapeHtml((run.date ?? new Date()).toISOString().replace('T', ' ').slice(0, 19))} UTC:<br><code>${escapeHtml(run.command)}</code></p>
<pre>${escapeHtml(formatText(r))}</pre>
${overTime}
${distribution}
${throughput}
</body></html>
`;
}

// make bench-cluster: the same data and the same client load on 1, 2 and 3 shard
// servers reached two ways: through twemproxy (bin/shard --ketama, nutcracker.yml,
// bin/client speaking RESP to the proxy) and through a cluster-aware client
// (bin/shard --slots, bin/client --cluster routing each key to its shard). A table of
// medians and charts per node count; results go to an ignored folder unless --publish.

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../src/errors.ts';
import { newCommand, parseCount, parseIntIn, runMain } from '../../src/cli.ts';
import { lineChart } from '../../src/client/chart.ts';
import { type Started, freePort, median, startUntil, stop, waitForPort } from './processes.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE_COUNTS = [1, 2, 3];
const ROUTES = ['twemproxy', 'cluster client'] as const;
type Route = (typeof ROUTES)[number];

interface Row {
  route: Route;
  nodes: number;
  pipeline: number;
  throughput: number;
  p50: number;
  p99: number;
  runs: number[];
}

const program = newCommand('bench-cluster')
  .description('Throughput and latency of 1, 2 and 3 shard servers, through twemproxy and through a cluster-aware client, with the same data and load.')
  .option('--data <file>', 'data file', 'testdata_1M.data')
  .option('--requests <n>', 'requests per run', parseCount, 300_000)
  .option('--repeat <n>', 'runs per cell (median reported)', parseIntIn(1, 20), 3)
  .option('-o, --output <dir>', 'where cluster.json, cluster.html and CLUSTER.md go (git ignores it)', 'bench/latest')
  .option('--publish', 'write into bench/, the committed results, instead');

const bin = (name: string) => path.join(ROOT, 'bin', name);

/** Runs bin/client with `args` `repeat` times; the median row. */
function measure(route: Route, nodes: number, pipeline: number, repeat: number, args: string[]): Row {
  const runs: { throughput: number; p50: number; p99: number }[] = [];
  for (let i = 0; i < repeat; i++) {
    const r = JSON.parse(execFileSync(bin('client'), [...args, '--pipeline', String(pipeline), '--json'], { encoding: 'utf8' }));
    if (r.errors + r.mismatches > 0) throw new Error(`wrong answers through ${route} with ${nodes} nodes`);
    runs.push({ throughput: r.throughput, p50: r.latency.p50, p99: r.latency.p99 });
    process.stderr.write(`bench-cluster: ${route}, ${nodes} nodes, pipeline ${pipeline}, run ${i + 1}: ${Math.round(r.throughput).toLocaleString('en-US')} req/s, p50 ${r.latency.p50} µs, p99 ${r.latency.p99} µs\n`);
  }
  return {
    route, nodes, pipeline,
    throughput: median(runs.map((r) => r.throughput)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)),
    runs: runs.map((r) => Math.round(r.throughput)),
  };
}

program.action((opts) => runMain('bench-cluster', async () => {
  const out: string = opts.publish ? path.join(ROOT, 'bench') : opts.output;
  const work = path.join(ROOT, 'bench', 'tmp');
  const hasProxy = spawnSync('sh', ['-c', 'command -v nutcracker']).status === 0;
  if (!hasProxy && opts.publish) throw new InputError('--publish replaces the committed comparison with twemproxy: install nutcracker (apt-get install nutcracker)');
  if (!hasProxy) process.stderr.write('bench-cluster: nutcracker (twemproxy) is not installed (apt-get install nutcracker): measuring the cluster client only\n');
  const load = ['--clients', '10', '--requests', String(opts.requests), '--warmup', '10000'];
  const rows: Row[] = [];
  for (const route of ROUTES) {
    if (route === 'twemproxy' && !hasProxy) continue;
    for (const nodes of NODE_COUNTS) {
      const dir = path.join(work, `${route === 'twemproxy' ? 'ketama' : 'slots'}-${nodes}`);
      const binaryPorts: number[] = [];
      const respPorts: number[] = [];
      for (let i = 0; i < nodes; i++) {
        binaryPorts.push(await freePort());
        respPorts.push(await freePort());
      }
      const proxyPort = await freePort();
      const nodeList = respPorts.map((p) => `127.0.0.1:${p}`).join(',');
      execFileSync(bin('shard'), [opts.data, '--shards', String(nodes), route === 'twemproxy' ? '--ketama' : '--slots', '--nodes', nodeList,
        ...(route === 'twemproxy' ? ['--proxy-listen', `127.0.0.1:${proxyPort}`] : []), '-o', dir], { stdio: 'ignore' });
      const servers: Started[] = [];
      let proxy: ChildProcess | null = null;
      try {
        for (let shard = 0; shard < nodes; shard++) {
          servers.push(await startUntil(bin('server'), [path.join(dir, `shard-${shard}.data`), '--cluster', path.join(dir, 'cluster.json'),
            '--port', String(binaryPorts[shard]), '--resp-port', String(respPorts[shard]), '--quiet'], /listening on/));
        }
        if (route === 'twemproxy') {
          proxy = spawn('nutcracker', ['-c', path.join(dir, 'nutcracker.yml'), '-s', String(await freePort()), '-a', '127.0.0.1'], { stdio: 'ignore' });
          await waitForPort(proxyPort);
        }
        for (const pipeline of [1, 16]) {
          const target = route === 'twemproxy'
            ? ['--protocol', 'resp', '--port', String(proxyPort)]
            : ['--cluster', path.join(dir, 'cluster.json'), '--servers', binaryPorts.map((p) => `127.0.0.1:${p}`).join(',')];
          rows.push(measure(route, nodes, pipeline, opts.repeat, [opts.data, ...target, ...load]));
        }
      } finally {
        if (proxy) await stop(proxy);
        for (const s of servers) await stop(s.child);
      }
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const md = [
    '# rokv cluster benchmark',
    '',
    `Written by \`make bench-cluster\` on ${new Date().toISOString().slice(0, 10)}: \`${opts.data}\` split by \`bin/shard\` over 1, 2 and 3 shard servers, all on this machine (${os.availableParallelism()} cores, ${os.cpus()[0]?.model}), ${n(opts.requests)} requests per run by \`bin/client\` with 10 connections, median of ${opts.repeat} runs. Two ways in:`,
    '',
    '- **twemproxy**: `bin/shard --ketama` and its nutcracker.yml; `bin/client --protocol resp` sends every GET to one nutcracker process, which forwards it to the shard twemproxy\'s ketama ring names.',
    '- **cluster client**: `bin/shard --slots`; `bin/client --cluster` routes each GET to its slot\'s server itself (rokv\'s binary protocol, one connection per server and client).',
    '',
    `**This machine has ${os.availableParallelism()} cores**, shared by every server, the proxy and the client: more nodes add processes competing for the same cores, so the table shows the cost of each way in and of more processes, not what separate machines would buy. twemproxy is one single-threaded process: every request crosses it, so it caps throughput whatever the node count. The cluster client goes through the promise-based library, slower per request than the single-server load loop in BENCHMARKS.md.`,
    '',
    ...(hasProxy ? [] : ['twemproxy was not installed for this run: its rows are missing.', '']),
    '| way in | nodes | pipeline | req/s | p50 µs | p99 µs | runs (req/s) |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows.map((r) => `| ${r.route} | ${r.nodes} | ${r.pipeline} | ${n(r.throughput)} | ${n(r.p50)} | ${n(r.p99)} | ${r.runs.map(n).join(', ')} |`),
    '',
  ].join('\n');
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
  const series = (pick: (r: Row) => number, pipelines: number[]) => ROUTES.flatMap((route) => pipelines.map((pipeline) => ({
    name: `${route === 'twemproxy' ? 'proxy' : 'client'} P${pipeline}`,
    points: rows.filter((r) => r.route === route && r.pipeline === pipeline).map((r): [number, number] => [r.nodes, pick(r)]),
  }))).filter((s) => s.points.length > 0).map((s, i) => ({ ...s, color: colors[i % colors.length] }));
  const ticks = NODE_COUNTS.map((c): [number, string] => [c, `${c} node${c > 1 ? 's' : ''}`]);
  const table = `<table><tr><th>way in</th><th>nodes</th><th>pipeline</th><th>req/s</th><th>p50 µs</th><th>p99 µs</th></tr>${
    rows.map((r) => `<tr><td>${r.route}</td><td>${r.nodes}</td><td>${r.pipeline}</td><td>${n(r.throughput)}</td><td>${n(r.p50)}</td><td>${n(r.p99)}</td></tr>`).join('')}</table>`;
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>rokv cluster benchmark</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}.row{display:flex;gap:2em;align-items:flex-start}
table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head><body>
<h1>rokv cluster benchmark</h1>
<p>${os.availableParallelism()} cores shared by all servers, the proxy and the client; ${new Date().toISOString().slice(0, 10)}; <code>${opts.data}</code>.</p>
<div class="row"><div>
${lineChart('Throughput per node count', 'shard servers', 'requests/s', series((r) => r.throughput, [1, 16]), ticks)}
${lineChart('Latency per node count (pipeline 1)', 'shard servers', 'p99 latency (µs)', series((r) => r.p99, [1]), ticks)}
</div>${table}</div>
</body></html>
`;
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'cluster.json'), `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`);
  fs.writeFileSync(path.join(out, 'cluster.html'), html);
  fs.writeFileSync(path.join(out, 'CLUSTER.md'), md);
  process.stdout.write(`${md}\nwrote ${path.join(out, 'CLUSTER.md')}, cluster.html and cluster.json\n`);
}));

await program.parseAsync();

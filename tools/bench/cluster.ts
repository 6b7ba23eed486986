// make bench-cluster: the same data and the same client load on 1, 2 and 3 shard
// servers (a consistent-hash ring, one replica) on this machine; a table of medians
// and charts of throughput and latency per node count.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { parseCount, parseIntIn, runMain } from '../../src/cli.ts';
import { lineChart } from '../../src/client/report.ts';
import { type Started, freePort, median, startUntil, stop } from './processes.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE_COUNTS = [1, 2, 3];

interface Row {
  nodes: number;
  pipeline: number;
  throughput: number;
  p50: number;
  p99: number;
  runs: number[];
}

const program = new Command('bench-cluster')
  .description('Throughput and latency of 1, 2 and 3 shard servers with the same data and client load.')
  .option('--data <file>', 'data file', 'testdata_1M.data')
  .option('--requests <n>', 'requests per run', parseCount, 300_000)
  .option('--repeat <n>', 'runs per cell (median reported)', parseIntIn(1, 20), 3)
  .option('--out <dir>', 'where cluster.json, cluster.html and CLUSTER.md go', 'bench');

program.action((opts) => runMain('bench-cluster', async () => {
  const work = path.join(opts.out, 'tmp');
  const rows: Row[] = [];
  for (const nodes of NODE_COUNTS) {
    const dir = path.join(work, `cluster-${nodes}`);
    execFileSync(path.join(ROOT, 'bin', 'shard'), [opts.data, '--shards', String(nodes), '-o', dir], { stdio: 'ignore' });
    const servers: Started[] = [];
    const ports: number[] = [];
    try {
      for (let shard = 0; shard < nodes; shard++) {
        const port = await freePort();
        ports.push(port);
        servers.push(await startUntil(path.join(ROOT, 'bin', 'server'), [path.join(dir, `shard-${shard}.data`), '--cluster', path.join(dir, 'cluster.json'), '--port', String(port), '--quiet'], /listening on/));
      }
      for (const pipeline of [1, 16]) {
        const runs: { throughput: number; p50: number; p99: number }[] = [];
        for (let i = 0; i < opts.repeat; i++) {
          const out = execFileSync(path.join(ROOT, 'bin', 'client'), [
            opts.data, '--cluster', path.join(dir, 'cluster.json'), '--servers', ports.map((p) => `127.0.0.1:${p}`).join(','),
            '--clients', '10', '--pipeline', String(pipeline), '--requests', String(opts.requests), '--warmup', '10000', '--json',
          ], { encoding: 'utf8' });
          const r = JSON.parse(out);
          if (r.errors + r.mismatches > 0) throw new Error(`wrong answers from the ${nodes}-node cluster`);
          runs.push({ throughput: r.throughput, p50: r.latency.p50, p99: r.latency.p99 });
          process.stderr.write(`bench-cluster: ${nodes} nodes, pipeline ${pipeline}, run ${i + 1}: ${Math.round(r.throughput).toLocaleString('en-US')} req/s, p50 ${r.latency.p50} µs, p99 ${r.latency.p99} µs\n`);
        }
        rows.push({
          nodes, pipeline,
          throughput: median(runs.map((r) => r.throughput)),
          p50: median(runs.map((r) => r.p50)),
          p99: median(runs.map((r) => r.p99)),
          runs: runs.map((r) => Math.round(r.throughput)),
        });
      }
    } finally {
      for (const s of servers) await stop(s.child);
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const md = [
    '# rokv cluster benchmark',
    '',
    `Written by \`make bench-cluster\` on ${new Date().toISOString().slice(0, 10)}: \`${opts.data}\` split by \`bin/shard\` over 1, 2 and 3 shard servers (one replica), all on this machine (${os.availableParallelism()} cores, ${os.cpus()[0]?.model}), driven by \`bin/client --cluster\` with 10 connections to every server, ${n(opts.requests)} requests per run, median of ${opts.repeat} runs.`,
    '',
    `**This machine has ${os.availableParallelism()} cores** shared by every server and the client, so more nodes add processes competing for the same cores: the table shows the cost of routing and of more processes, not what separate machines would buy. The cluster client routes through the promise-based library (one ClusterClient per connection group), which is slower per request than the single-server load loop in BENCHMARKS.md.`,
    '',
    '| nodes | pipeline | req/s | p50 µs | p99 µs | runs (req/s) |',
    '|---:|---:|---:|---:|---:|---|',
    ...rows.map((r) => `| ${r.nodes} | ${r.pipeline} | ${n(r.throughput)} | ${n(r.p50)} | ${n(r.p99)} | ${r.runs.map(n).join(', ')} |`),
    '',
  ].join('\n');
  const colors = ['#1f77b4', '#d62728'];
  const byPipeline = (pipeline: number, pick: (r: Row) => number) => rows.filter((r) => r.pipeline === pipeline).map((r): [number, number] => [r.nodes, pick(r)]);
  const ticks = NODE_COUNTS.map((c): [number, string] => [c, `${c} node${c > 1 ? 's' : ''}`]);
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>rokv cluster benchmark</title>
<style>body{font-family:sans-serif;max-width:780px;margin:2em auto}</style></head><body>
<h1>rokv cluster benchmark</h1>
${lineChart('Throughput per node count', 'shard servers', 'requests/s', [1, 16].map((p, i) => ({ name: `pipeline ${p}`, color: colors[i], points: byPipeline(p, (r) => r.throughput) })), ticks)}
${lineChart('Latency per node count (pipeline 1)', 'shard servers', 'latency (µs)', [
    { name: 'p50', color: colors[0], points: byPipeline(1, (r) => r.p50) },
    { name: 'p99', color: colors[1], points: byPipeline(1, (r) => r.p99) },
  ], ticks)}
</body></html>
`;
  fs.mkdirSync(opts.out, { recursive: true });
  fs.writeFileSync(path.join(opts.out, 'cluster.json'), `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`);
  fs.writeFileSync(path.join(opts.out, 'cluster.html'), html);
  fs.writeFileSync(path.join(opts.out, 'CLUSTER.md'), md);
  process.stdout.write(md);
}));

await program.parseAsync();

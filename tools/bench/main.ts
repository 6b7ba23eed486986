// make bench: the end-to-end benchmark. Starts rokv with its RESP port (and Redis, when
// redis-server is on PATH) on the same records, drives rokv's binary protocol, rokv's
// RESP front and Redis with bin/client in turns, runs redis-benchmark against both
// RESP servers when it is installed, and writes one table of medians with ratios to
// results.json and BENCHMARKS.md in an ignored folder (bench/latest/), or with
// --publish to the committed bench/results.json and BENCHMARKS.md.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newCommand, parseCount, parseIntIn, runMain } from '../../src/cli.ts';
import { InputError } from '../../src/errors.ts';
import { loadDataFile } from '../../src/format/load.ts';
import { type Started, cpuSeconds, freePort, median, rssBytes, startUntil, stop } from './processes.ts';
import { loadRedis, redisAvailable, startRedis } from './redis.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MB = 1e6;

interface Scenario {
  name: string;
  clients: number;
  pipeline: number;
  requests: number;
}

interface Measurement {
  throughput: number;
  p50: number;
  p99: number;
  serverCpuSeconds: number;
  serverRss: number;
  clientCpuSeconds: number;
  failures: number;
}

type TargetName = 'rokv' | 'rokvResp' | 'redis';
const LABEL: Record<TargetName, string> = { rokv: 'rokv, binary', rokvResp: 'rokv, RESP', redis: 'Redis' };

interface Target {
  name: TargetName;
  port: number;
  started: Started;
  protocol: 'rokv' | 'resp';
}

function runClient(file: string, target: Target, scenario: Scenario): Measurement {
  const pid = target.started.child.pid as number;
  const cpuBefore = cpuSeconds(pid);
  const out = execFileSync(path.join(ROOT, 'bin', 'client'), [
    file, '--port', String(target.port), '--protocol', target.protocol, '--json',
    '--clients', String(scenario.clients), '--pipeline', String(scenario.pipeline),
    '--requests', String(scenario.requests), '--warmup', String(Math.min(20_000, scenario.requests / 10)),
  ], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const report = JSON.parse(out);
  return {
    throughput: report.throughput,
    p50: report.latency.p50,
    p99: report.latency.p99,
    serverCpuSeconds: cpuSeconds(pid) - cpuBefore,
    serverRss: rssBytes(pid),
    clientCpuSeconds: report.client_cpu_seconds,
    failures: report.errors + report.mismatches + report.lost_connections,
  };
}

function summarize(runs: Measurement[]) {
  return {
    throughput: median(runs.map((r) => r.throughput)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    serverCpuSeconds: median(runs.map((r) => r.serverCpuSeconds)),
    serverRss: Math.max(...runs.map((r) => r.serverRss)),
    failures: runs.reduce((a, r) => a + r.failures, 0),
    runs: runs.map((r) => Math.round(r.throughput)),
  };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    redis: redisAvailable() ? execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim() : null,
    os: `${os.type()} ${os.release()}`,
  };
}

const program = newCommand('bench')
  .description('End-to-end benchmark of bin/server (and Redis, if redis-server is on PATH) with bin/client.')
  .option('--data <file>', 'data file', 'testdata_1M.data')
  .option('--repeat <n>', 'runs of each scenario per server (medians are reported)', parseIntIn(1, 20), 3)
  .option('--requests-p1 <n>', 'requests at 10 × pipeline 1', parseCount, 300_000)
  .option('--requests-p16 <n>', 'requests at 10 × pipeline 16', parseCount, 2_000_000)
  .option('--requests-floor <n>', 'requests at 1 × pipeline 1', parseCount, 100_000)
  .option('--no-redis', 'rokv only')
  .option('-o, --output <dir>', 'where results.json and BENCHMARKS.md go (git ignores it)', 'bench/latest')
  .option('--publish', 'replace the committed results (bench/results.json, BENCHMARKS.md) instead; needs Redis for the comparison');

program.action((opts) => runMain('bench', async () => {
  const file: string = opts.data;
  const scenarios: Scenario[] = [
    { name: '10 × pipeline 1', clients: 10, pipeline: 1, requests: opts.requestsP1 },
    { name: '10 × pipeline 16', clients: 10, pipeline: 16, requests: opts.requestsP16 },
    { name: '1 × pipeline 1', clients: 1, pipeline: 1, requests: opts.requestsFloor },
  ];
  const targets: Target[] = [];
  const rokvPort = await freePort();
  const respPort = await freePort();
  const rokv = await startUntil(path.join(ROOT, 'bin', 'server'), [file, '--port', String(rokvPort), '--resp-port', String(respPort), '--quiet'], /listening on/);
  targets.push({ name: 'rokv', port: rokvPort, started: rokv, protocol: 'rokv' });
  targets.push({ name: 'rokvResp', port: respPort, started: rokv, protocol: 'resp' });
  const loadSeconds = Number(/loaded in ([\d.]+) s/.exec(rokv.line)?.[1]);
  const rokvRssAfterLoad = rssBytes(rokv.child.pid as number);
  process.stderr.write(`bench: ${rokv.line}\n`);
  let redisRssAfterLoad: number | null = null;
  const useRedis = opts.redis && redisAvailable();
  if (opts.redis && !useRedis) process.stderr.write('bench: redis-server is not on PATH; rokv only (apt-get install redis-server for the side-by-side)\n');
  if (opts.publish && !useRedis) throw new InputError('--publish replaces the committed comparison with Redis: install redis-server (and keep --redis)');
  try {
    if (useRedis) {
      const port = await freePort();
      const redis = await startRedis(port);
      targets.push({ name: 'redis', port, started: redis, protocol: 'resp' });
      const loading = performance.now();
      await loadRedis(port, loadDataFile(file));
      redisRssAfterLoad = rssBytes(redis.child.pid as number);
      process.stderr.write(`bench: Redis loaded in ${((performance.now() - loading) / 1000).toFixed(1)} s, RSS ${(redisRssAfterLoad / MB).toFixed(1)} MB\n`);
    }
    const rows = [];
    for (const scenario of scenarios) {
      const runs: Record<TargetName, Measurement[]> = { rokv: [], rokvResp: [], redis: [] };
      for (let i = 0; i < opts.repeat; i++) {
        for (const target of targets) {
          const m = runClient(file, target, scenario);
          runs[target.name].push(m);
          process.stderr.write(`bench: ${scenario.name} ${LABEL[target.name]} run ${i + 1}: ${Math.round(m.throughput).toLocaleString('en-US')} req/s, p50 ${m.p50} µs, p99 ${m.p99} µs\n`);
        }
      }
      rows.push({ scenario, rokv: summarize(runs.rokv), rokvResp: summarize(runs.rokvResp), redis: useRedis ? summarize(runs.redis) : null });
    }
    const redisBenchmark = redisBenchmarkAvailable()
      ? targets.filter((t) => t.protocol === 'resp').map((t) => ({ name: t.name, requestsPerSecond: runRedisBenchmark(t.port, opts.repeat) }))
      : [];
    const results = {
      date: new Date().toISOString(),
      machine: machine(),
      data: { file, records: loadDataFile(file).recordCount, bytes: fs.statSync(file).size },
      repeat: opts.repeat,
      startup: { rokvLoadSeconds: loadSeconds, rokvReadySeconds: rokv.readySeconds, rokvRssAfterLoad, redisRssAfterLoad },
      rows,
      redisBenchmark,
    };
    const resultsFile = opts.publish ? path.join(ROOT, 'bench', 'results.json') : path.join(opts.output, 'results.json');
    const markdownFile = opts.publish ? path.join(ROOT, 'BENCHMARKS.md') : path.join(opts.output, 'BENCHMARKS.md');
    fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
    fs.writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
    const markdown = renderMarkdown(results);
    fs.writeFileSync(markdownFile, markdown);
    process.stdout.write(`${markdown}\nwrote ${markdownFile} and ${resultsFile}\n`);
  } finally {
    for (const started of new Set(targets.map((t) => t.started))) await stop(started.child);
  }
}));

type Results = {
  date: string; machine: ReturnType<typeof machine>; data: { file: string; records: number; bytes: number }; repeat: number;
  startup: { rokvLoadSeconds: number; rokvReadySeconds: number; rokvRssAfterLoad: number; redisRssAfterLoad: number | null };
  rows: { scenario: Scenario; rokv: Summary; rokvResp: Summary; redis: Summary | null }[];
  redisBenchmark: { name: TargetName; requestsPerSecond: number }[];
};
type Summary = ReturnType<typeof summarize>;

const REDIS_BENCHMARK_ARGS = ['-t', 'get', '-P', '16', '-c', '50', '-n', '2000000', '-r', '1000000', '--csv'];

function redisBenchmarkAvailable(): boolean {
  try {
    execFileSync('redis-benchmark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Median GET req/s of redis-benchmark over `repeat` runs (random keys: mostly misses on both servers). */
function runRedisBenchmark(port: number, repeat: number): number {
  const runs: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const csv = execFileSync('redis-benchmark', ['-p', String(port), ...REDIS_BENCHMARK_ARGS], { encoding: 'utf8' });
    const row = csv.split('\n').find((line) => line.startsWith('"GET"'));
    runs.push(Number(row?.split(',')[1]?.replaceAll('"', '')));
    process.stderr.write(`bench: redis-benchmark on port ${port} run ${i + 1}: ${Math.round(runs[i]).toLocaleString('en-US')} req/s\n`);
  }
  return median(runs);
}

function renderMarkdown(r: Results): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}×` : '–');
  const lines = [
    '# rokv benchmarks',
    '',
    `Written by \`make bench\` on ${r.date.slice(0, 10)}. Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, ${r.machine.os}; Node ${r.machine.node}${r.machine.redis ? `; ${r.machine.redis}` : ''}.`,
    `Data: \`${r.data.file}\`, ${n(r.data.records)} records, ${n(r.data.bytes)} bytes. Client: \`bin/client\` (the same for both servers, every answer verified), on the same machine as the server.`,
    `Each cell is the median of ${r.repeat} runs; the targets ran in turns (rokv binary, rokv RESP${r.rows.some((row) => row.redis) ? ', Redis' : ''}, rokv binary, …). rokv's binary protocol and its RESP front are two ports of the same server process. Latencies in µs. Server CPU is seconds of user + system time during the run.`,
    '',
    '| scenario | server | req/s | p50 | p99 | server RSS MB | server CPU s | req/s ÷ rokv binary | req/s ÷ Redis |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of r.rows) {
    const s = `${row.scenario.name} (${n(row.scenario.requests)} req)`;
    const cells = (name: TargetName, m: Summary) =>
      `| ${name === 'rokv' ? s : ''} | ${LABEL[name]} | ${n(m.throughput)} | ${n(m.p50)} | ${n(m.p99)} | ${(m.serverRss / MB).toFixed(1)} | ${m.serverCpuSeconds.toFixed(2)} | ` +
      `${name === 'rokv' ? '' : ratio(m.throughput, row.rokv.throughput)} | ${name === 'redis' ? '' : ratio(m.throughput, row.redis?.throughput)} |`;
    lines.push(cells('rokv', row.rokv), cells('rokvResp', row.rokvResp));
    if (row.redis) lines.push(cells('redis', row.redis));
  }
  if (r.redisBenchmark.length > 0) {
    const bench = Object.fromEntries(r.redisBenchmark.map((b) => [b.name, b.requestsPerSecond]));
    lines.push(
      '',
      `\`redis-benchmark ${REDIS_BENCHMARK_ARGS.filter((a) => a !== '--csv').join(' ')}\` (its own client; random keys, so mostly misses on both servers), median of ${r.repeat}: ` +
      `rokv RESP ${n(bench.rokvResp)} req/s${bench.redis ? `, Redis ${n(bench.redis)} req/s, rokv/Redis ${ratio(bench.rokvResp, bench.redis)}` : ''}.`,
    );
  }
  const failures = r.rows.reduce((a, row) => a + row.rokv.failures + row.rokvResp.failures + (row.redis?.failures ?? 0), 0);
  lines.push(
    '',
    `Startup: rokv loaded and validated the file in ${r.startup.rokvLoadSeconds.toFixed(3)} s and was listening ${r.startup.rokvReadySeconds.toFixed(3)} s after its process started.`,
    `RSS after loading: rokv ${(r.startup.rokvRssAfterLoad / MB).toFixed(1)} MB${r.startup.redisRssAfterLoad ? `, Redis ${(r.startup.redisRssAfterLoad / MB).toFixed(1)} MB (rokv/Redis ${ratio(r.startup.rokvRssAfterLoad, r.startup.redisRssAfterLoad)})` : ''}.`,
    `Wrong answers, errors or lost connections in all runs: ${failures}.`,
    '',
    'What was optimized, what was tried and dropped, and where the time goes: [docs/PERFORMANCE.md](docs/PERFORMANCE.md).',
    '',
  );
  return lines.join('\n');
}

await program.parseAsync();

// make soak [MINUTES=2]: server and client at load for a while; samples the server's
// RSS and event-loop delay every second; fails on any wrong answer or if RSS grows
// after warm-up by more than the bound. Prints the samples as a table and a chart.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { newCommand, parseIntIn, parseNumberIn, runMain } from '../src/cli.ts';
import { connect } from '../src/client/connection.ts';
import { freePort, rssBytes, startUntil, stop } from './bench/processes.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const MB = 1e6;
const SAMPLE_MS = 1000;
const SPARK = '▁▂▃▄▅▆▇█';

interface Sample {
  t: number;
  rssMB: number;
  loopMean: number;
  loopMax: number;
  requests: number;
}

function sparkline(values: number[], width: number): string {
  const step = Math.max(1, Math.ceil(values.length / width));
  const buckets: number[] = [];
  for (let i = 0; i < values.length; i += step) buckets.push(Math.max(...values.slice(i, i + step)));
  const lo = Math.min(...buckets);
  const hi = Math.max(...buckets);
  return buckets.map((v) => SPARK[hi > lo ? Math.round(((v - lo) / (hi - lo)) * (SPARK.length - 1)) : 0]).join('');
}

const program = newCommand('soak')
  .description('Run server + client at load, sampling server RSS and event-loop delay every second.')
  .option('--minutes <m>', 'how long', parseNumberIn(0.1, 24 * 60), 2)
  .option('--data <file>', 'data file', 'testdata_1M.data')
  .option('--warmup <seconds>', 'seconds before the RSS baseline is taken', parseNumberIn(0, 3600), 15)
  .option('--max-growth <MB>', 'allowed RSS growth after warm-up', parseNumberIn(0, 100_000), 16)
  .option('--clients <n>', 'client connections', parseIntIn(1, 1000), 10)
  .option('--pipeline <d>', 'requests in flight per connection', parseIntIn(1, 1000), 4);

program.action((opts) => runMain('soak', async () => {
  const seconds = opts.minutes * 60;
  const port = await freePort();
  const server = await startUntil(path.join(ROOT, 'bin', 'server'), [opts.data, '--port', String(port), '--quiet'], /listening on/);
  process.stderr.write(`soak: ${server.line}\nsoak: ${seconds} s of load, ${opts.clients} connections × pipeline ${opts.pipeline}, 10% misses\n`);
  const samples: Sample[] = [];
  let clientExit: number | null = null;
  let clientOutput = '';
  try {
    const client = spawn(path.join(ROOT, 'bin', 'client'), [
      opts.data, '--port', String(port), '--duration', String(seconds), '--clients', String(opts.clients),
      '--pipeline', String(opts.pipeline), '--miss-ratio', '0.1', '--json',
    ], { stdio: ['ignore', 'pipe', 'inherit'] });
    client.stdout.on('data', (d) => (clientOutput += d));
    const clientDone = new Promise<number | null>((resolve) => client.once('exit', resolve));
    const info = await connect({ port });
    const started = performance.now();
    while (clientExit === null) {
      const tick = new Promise((r) => setTimeout(r, SAMPLE_MS));
      const i = await info.info();
      const lag = i.loop_lag_ms as { mean: number; max: number };
      samples.push({
        t: (performance.now() - started) / 1000,
        rssMB: rssBytes(server.child.pid as number) / MB,
        loopMean: lag.mean,
        loopMax: lag.max,
        requests: i.requests as number,
      });
      clientExit = await Promise.race([clientDone, tick.then(() => null)]);
    }
    await info.close();
  } finally {
    await stop(server.child);
  }

  const report = JSON.parse(clientOutput || '{}');
  const afterWarmup = samples.filter((s) => s.t >= opts.warmup);
  const base = afterWarmup[0] ?? samples[samples.length - 1];
  const maxRss = Math.max(...afterWarmup.map((s) => s.rssMB));
  const growth = maxRss - base.rssMB;
  const every = Math.max(1, Math.round(samples.length / 24));
  const lines = [
    '    t s   RSS MB  loop lag mean ms  loop lag max ms     requests',
    ...samples.filter((_, i) => i % every === 0 || i === samples.length - 1).map((s) =>
      `${s.t.toFixed(0).padStart(7)}  ${s.rssMB.toFixed(1).padStart(7)}  ${s.loopMean.toFixed(2).padStart(16)}  ${s.loopMax.toFixed(2).padStart(15)}  ${s.requests.toLocaleString('en-US').padStart(11)}`),
    '',
    `RSS       ${sparkline(samples.map((s) => s.rssMB), 60)}  first ${samples[0].rssMB.toFixed(1)} MB, last ${samples[samples.length - 1].rssMB.toFixed(1)} MB, max ${Math.max(...samples.map((s) => s.rssMB)).toFixed(1)} MB`,
    `loop lag  ${sparkline(samples.map((s) => s.loopMax), 60)}  max ${Math.max(...samples.map((s) => s.loopMax)).toFixed(2)} ms (per-second max)`,
    '',
    `client: ${Math.round(report.requests ?? 0).toLocaleString('en-US')} requests, ${Math.round(report.throughput ?? 0).toLocaleString('en-US')} req/s, ` +
      `${report.mismatches ?? '?'} mismatches, ${report.errors ?? '?'} errors, ${report.lost_connections ?? '?'} lost connections (exit ${clientExit})`,
    `RSS growth after ${opts.warmup} s warm-up: ${growth.toFixed(1)} MB (bound ${opts.maxGrowth} MB)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const failures: string[] = [];
  if (clientExit !== 0) failures.push(`the client reported wrong answers or lost connections (exit ${clientExit})`);
  if (growth > opts.maxGrowth) failures.push(`RSS grew ${growth.toFixed(1)} MB after warm-up (bound ${opts.maxGrowth} MB)`);
  if (failures.length > 0) throw Object.assign(new Error(`FAILED: ${failures.join('; ')}`), { exitCode: 1 });
  process.stdout.write('soak: PASSED\n');
}));

await program.parseAsync();

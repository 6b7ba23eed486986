// make bench-tls (and make bench): what TLS costs, rokv against Redis 7 side by side.
// One data set (100,000 keys "key:000000000000"… with 3-byte values, redis-benchmark's
// own key names) on rokv's RESP port and TLS RESP port and on redis-server's port and
// TLS port, driven by redis-benchmark (GET, random keys, 10 connections) at pipeline 1
// and 16, in alternating rounds: GETs/s, p99 and the server's CPU per GET. The
// certificate is made with openssl for the run (never committed); no client
// certificates (--tls-auth-clients no on both). Writes bench/latest/tls.json.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newCommand, parseIntIn, runMain } from '../../src/cli.ts';
import { loadDataFile } from '../../src/format/load.ts';
import { type Started, cpuSeconds, freePort, median, startUntil, stop } from './processes.ts';
import { loadRedis, redisAvailable } from './redis.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const KEYS = 100_000;

interface Target {
  name: string;
  started: Started;
  port: number;
  tls: boolean;
}

interface Run {
  rps: number;
  p99Ms: number;
  cpuMicrosPerGet: number;
}

/** A self-signed certificate for 127.0.0.1 (its own CA), in `dir`. */
function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'server.pem');
  const key = path.join(dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

/** redis-benchmark's GETs against `target` (random keys of the set): GETs/s, p99 and the server's CPU per GET. */
function benchmark(target: Target, ca: string, requests: number, pipeline: number): Run {
  const before = cpuSeconds(target.started.child.pid as number);
  const out = execFileSync('redis-benchmark', [
    '-h', '127.0.0.1', '-p', String(target.port), ...(target.tls ? ['--tls', '--cacert', ca] : []),
    '-t', 'get', '-r', String(KEYS), '-n', String(requests), '-c', '10', '-P', String(pipeline), '--csv',
  ], { encoding: 'utf8' });
  const cpu = cpuSeconds(target.started.child.pid as number) - before;
  const row = out.trim().split('\n').find((line) => line.startsWith('"GET"'));
  if (row === undefined) throw new Error(`redis-benchmark printed no GET row: ${out}`);
  const fields = row.split(',').map((f) => Number(f.replaceAll('"', '')));
  return { rps: fields[1], p99Ms: fields[6], cpuMicrosPerGet: (cpu / requests) * 1e6 };
}

const program = newCommand('bench-tls')
  .description('What TLS costs: rokv and Redis 7, clear and TLS, pipeline 1 and 16, with redis-benchmark (GETs/s, p99, server CPU per GET).')
  .option('--repeat <n>', 'alternating rounds', parseIntIn(1, 20), 3)
  .option('--requests <n>', 'GETs of each pipeline-1 run (16 times as many at pipeline 16)', parseIntIn(1000, 10_000_000), 100_000);

program.action((opts) => runMain('bench-tls', async () => {
  if (!redisAvailable()) throw new Error('bench-tls needs redis-server and redis-benchmark (apt-get install redis-server redis-tools)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rokv-bench-tls-'));
  const targets: Target[] = [];
  try {
    const { cert, key } = makeCertificate(dir);
    const tsv = path.join(dir, 'keys.tsv');
    fs.writeFileSync(tsv, Array.from({ length: KEYS }, (_, i) => `key:${String(i).padStart(12, '0')}\txxx\n`).join(''));
    const file = path.join(dir, 'keys.data');
    execFileSync(path.join(ROOT, 'bin', 'pack'), [tsv, '-o', file, '--quiet'], { stdio: 'ignore' });

    const [rokvPort, rokvTlsPort, redisPort, redisTlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const tlsFiles = ['--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no'];
    const rokv = await startUntil(path.join(ROOT, 'bin', 'server'), [
      file, '--port', '0', '--resp-port', String(rokvPort), '--tls-resp-port', String(rokvTlsPort), ...tlsFiles, '--quiet',
    ], /listening on/);
    const redis = await startUntil('redis-server', [
      '--port', String(redisPort), '--tls-port', String(redisTlsPort), ...tlsFiles, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no',
    ], /Ready to accept connections/);
    await loadRedis(redisPort, loadDataFile(file));
    targets.push(
      { name: 'rokv', started: rokv, port: rokvPort, tls: false }, { name: 'rokv TLS', started: rokv, port: rokvTlsPort, tls: true },
      { name: 'Redis', started: redis, port: redisPort, tls: false }, { name: 'Redis TLS', started: redis, port: redisTlsPort, tls: true },
    );
    const runs: Record<string, Run[]> = {};
    for (let round = 0; round < opts.repeat; round++) {
      for (const pipeline of [1, 16]) {
        for (const target of targets) {
          const run = benchmark(target, cert, opts.requests * pipeline, pipeline);
          (runs[`${target.name}, pipeline ${pipeline}`] ??= []).push(run);
          process.stderr.write(`bench-tls: round ${round + 1}, ${target.name}, pipeline ${pipeline}: ${Math.round(run.rps).toLocaleString('en-US')} GETs/s, p99 ${run.p99Ms} ms, ${run.cpuMicrosPerGet.toFixed(2)} µs CPU/GET\n`);
        }
      }
    }
    const result = {
      date: new Date().toISOString(),
      requests: opts.requests,
      medians: Object.fromEntries(Object.entries(runs).map(([name, rs]) => [name, {
        rps: median(rs.map((r) => r.rps)), p99Ms: median(rs.map((r) => r.p99Ms)), cpuMicrosPerGet: median(rs.map((r) => r.cpuMicrosPerGet)),
      }])),
      runs,
    };
    const out = path.join(ROOT, 'bench', 'latest');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'tls.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result.medians, null, 2)}\nbench-tls: wrote bench/latest/tls.json\n`);
  } finally {
    for (const started of new Set(targets.map((t) => t.started))) await stop(started.child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}));

await program.parseAsync();

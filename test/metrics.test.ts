// --metrics-port: /metrics in Prometheus text format and /healthz, with exact counts
// summed over two event loops, read from a real server after real traffic.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { ROOT, packRecords, runBin, tempDir } from './helpers.ts';
import { scrape, value } from './metrics-helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

const RECORDS = Array.from({ length: 500 }, (_, i): [string, string] => [`key-${i}`, `value-${i}`]);

describe('--metrics-port', () => {
  let server: RunningServer;
  let metricsPort: number;
  let file: string;

  beforeAll(async () => {
    file = packRecords(RECORDS);
    server = await startServer(file, ['--resp-port', '0', '--metrics-port', '0', '--workers', '2']);
    metricsPort = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(server.stdout)?.[1]);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('counts requests by protocol, command and outcome exactly, summed over both event loops', async () => {
    const before = await scrape(metricsPort);
    expect(value(before, 'rokv_event_loops')).toBe(2);
    expect(value(before, 'rokv_requests_total', { protocol: 'rokv', command: 'get', outcome: 'hit' })).toBeUndefined();
    // Several binary connections, spread over the two loops by the kernel.
    for (let c = 0; c < 6; c++) {
      const db = await connect({ port: server.port });
      await Promise.all(Array.from({ length: 50 }, (_, i) => db.get(`key-${c * 50 + i}`)));
      await Promise.all(Array.from({ length: 10 }, (_, i) => db.get(`absent-${c}-${i}`)));
      await db.ping(Buffer.from('x'));
      await db.close();
    }
    const redis = new Redis({ port: server.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await redis.connect();
    expect(await redis.get('key-1')).toBe('value-1');
    expect(await redis.get('nope')).toBe(null);
    expect(await redis.mget('key-2', 'nope', 'key-3')).toEqual(['value-2', null, 'value-3']);
    await expect(redis.call('frobnicate')).rejects.toThrow(/unknown command/);
    await expect(redis.call('get')).rejects.toThrow(/wrong number of arguments/);
    await expect(redis.set('k', 'v')).rejects.toThrow(/READONLY/);
    redis.disconnect();

    const after = await scrape(metricsPort);
    const requests = (labels: Record<string, string>) => value(after, 'rokv_requests_total', labels);
    expect(requests({ protocol: 'rokv', command: 'get', outcome: 'hit' })).toBe(300);
    expect(requests({ protocol: 'rokv', command: 'get', outcome: 'miss' })).toBe(60);
    expect(requests({ protocol: 'rokv', command: 'ping', outcome: 'ok' })).toBe(6);
    expect(requests({ protocol: 'resp', command: 'get', outcome: 'hit' })).toBe(1);
    expect(requests({ protocol: 'resp', command: 'get', outcome: 'miss' })).toBe(1);
    expect(requests({ protocol: 'resp', command: 'get', outcome: 'error' })).toBe(1);
    expect(requests({ protocol: 'resp', command: 'mget', outcome: 'ok' })).toBe(1);
    expect(requests({ protocol: 'resp', command: 'unknown', outcome: 'error' })).toBe(1);
    expect(requests({ protocol: 'resp', command: 'set', outcome: 'error' })).toBe(1);
    expect(value(after, 'rokv_keyspace_hits_total')).toBe(300 + 1 + 2);
    expect(value(after, 'rokv_keyspace_misses_total')).toBe(60 + 1 + 1);
    expect(value(after, 'rokv_errors_total')).toBe(3);
    expect(value(after, 'rokv_connections_accepted_total')).toBe(7);
    expect(value(after, 'rokv_connections_rejected_total')).toBe(0);
    // 360 GET frames: 5-byte header + key; 6 PINGs of 1 byte.
    const keyBytes = RECORDS.slice(0, 300).reduce((a, [k]) => a + k.length, 0) + Array.from({ length: 6 }, (_, c) => Array.from({ length: 10 }, (_, i) => `absent-${c}-${i}`.length).reduce((a, b) => a + b, 0)).reduce((a, b) => a + b, 0);
    const rokvIn = 360 * 5 + keyBytes + 6 * 6;
    expect(value(after, 'rokv_net_input_bytes_total')).toBeGreaterThan(rokvIn);
    expect(value(after, 'rokv_net_output_bytes_total')).toBeGreaterThan(300 * (5 + 'value-0'.length));
    const lag = after.filter((s) => s.name === 'rokv_event_loop_lag_max_seconds');
    expect(lag.map((s) => s.labels.loop).sort()).toEqual(['0', '1']);
    expect(value(after, 'process_resident_memory_bytes')).toBeGreaterThan(10e6);
    expect(value(after, 'rokv_data_keys')).toBe(500);
    expect(value(after, 'rokv_data_bytes')).toBe(fs.statSync(file).size);
  });

  it('follows a hot swap: new version, key count, reload counters', async () => {
    const before = await scrape(metricsPort);
    const oldVersion = before.find((s) => s.name === 'rokv_data_version_info')?.labels.version;
    const next = packRecords(RECORDS.slice(0, 123), path.join(tempDir(), 'next.data'));
    fs.renameSync(next, file);
    server.process.kill('SIGHUP');
    let after = before;
    for (let i = 0; i < 100 && value(after, 'rokv_reloads_total') !== 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await scrape(metricsPort);
    }
    expect(value(after, 'rokv_reloads_total')).toBe(1);
    expect(value(after, 'rokv_reload_failures_total')).toBe(0);
    expect(value(after, 'rokv_data_keys')).toBe(123);
    const newVersion = after.find((s) => s.name === 'rokv_data_version_info')?.labels.version;
    expect(newVersion).toMatch(/-123$/);
    expect(newVersion).not.toBe(oldVersion);
    expect(after.filter((s) => s.name === 'rokv_data_version_info')).toHaveLength(1);
  });

  it('passes promtool check metrics (Prometheus\'s own parser and linter)', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.error, 'promtool (Debian package prometheus) is missing: make test installs it').toBeUndefined();
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(text).toMatch(/^rokv_requests_total\{protocol="rokv",command="get",outcome="hit"\} \d+$/m);
  });

  it('answers /healthz, 404 elsewhere, 405 for other methods', async () => {
    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/nothing`)).status).toBe(404);
    const post = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('metrics flags', () => {
  const fixture = path.join(ROOT, 'data', 'fixture.data');

  it('binds the server\'s host by default', async () => {
    const server = await startServer(fixture, ['--host', '127.0.0.1', '--metrics-port', '0']);
    try {
      expect(server.stdout).toMatch(/metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
    } finally {
      await server.stop();
    }
  });

  it('a port in use is one line and exit 1; --metrics-host needs --metrics-port', async () => {
    const busy = await startServer(fixture);
    try {
      const run = runBin('server', [fixture, '--port', '0', '--metrics-port', String(busy.port)]);
      expect(run.stderr).toBe(`server: cannot listen on 127.0.0.1:${busy.port}: address in use\n`);
      expect(run.status).toBe(1);
    } finally {
      await busy.stop();
    }
    const lone = spawnSync(path.join(ROOT, 'bin', 'server'), [fixture, '--port', '0', '--metrics-host', '127.0.0.1'], { encoding: 'utf8' });
    expect(lone.stderr).toBe('server: --metrics-host goes with --metrics-port; see --help\n');
    expect(lone.status).toBe(2);
  });
});

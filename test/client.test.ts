// The client library and bin/client against the real server: pipelined calls resolve
// in order, errors carry codes, calls after close() say so; the CLI's counts add up
// and it catches wrong answers. Against servers that misbehave:
// client-faulty-servers.test.ts.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RokvError, connect } from '../src/client/connection.ts';
import { type Pair, ROOT, packRecords, runBin, tempDir } from './helpers.ts';
import { serveRecords, startServer } from './server-helpers.ts';

const FIXTURE = path.join(ROOT, 'data', 'fixture.data');

const records: Pair[] = [];
for (let i = 0; i < 3000; i++) records.push([`k${i}`, `v${i}-${'x'.repeat(i % 50)}`]);
records.push(['empty', '']);

const running = serveRecords(records);

describe('library', () => {
  it('get, ping, info, close; keys as string or Buffer', async () => {
    const c = await connect({ port: running.server.port });
    expect((await c.get('k1'))?.toString()).toBe('v1-x');
    expect((await c.get(Buffer.from('k2')))?.toString()).toBe('v2-xx');
    expect(await c.get('absent')).toBeNull();
    expect((await c.get('empty'))?.length).toBe(0);
    expect((await c.ping('hello')).toString()).toBe('hello');
    const info = await c.info();
    expect(info.keys).toBe(records.length);
    await c.close();
  });

  it('pipelines many outstanding calls that resolve in order', async () => {
    const c = await connect({ port: running.server.port });
    const order: number[] = [];
    const calls = records.slice(0, 2000).map(([key], i) => c.get(key).then((v) => {
      order.push(i);
      return v?.toString();
    }));
    const values = await Promise.all(calls);
    expect(values).toEqual(records.slice(0, 2000).map(([, v]) => v));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    await c.close();
  });

  it('ERROR frames reject with the code; the connection goes on', async () => {
    const c = await connect({ port: running.server.port });
    const error = await c.send(0x7f, Buffer.alloc(0)).catch((e) => e);
    expect(error).toBeInstanceOf(RokvError);
    expect(error.code).toBe(1);
    expect(error.codeName).toBe('UNKNOWN_OP');
    await expect(c.get('')).rejects.toMatchObject({ code: 2 });
    expect((await c.get('k3'))?.toString()).toBe('v3-xxx');
    await c.close();
  });



  it('calls after the user\'s own close() say so', async () => {
    const server = await startServer(FIXTURE);
    const c = await connect({ port: server.port });
    expect((await c.get('fixture-01'))?.toString()).toBe('gbcnnchcrnbsdhuu');
    await c.close();
    await expect(c.get('fixture-01')).rejects.toThrow('connection closed by the client (close() was called)');
    expect(await server.stop()).toBe(0);
  });
});

describe('bin/client', () => {
  function client(args: string[], dataFile = running.file) {
    return runBin('client', [dataFile, '--port', String(running.server.port), '--json', ...args]);
  }

  it('counts add up: exact requests, hits + misses, misses near the ratio', () => {
    const run = client(['--clients', '4', '--requests', '20000', '--pipeline', '8', '--miss-ratio', '0.25', '--threads', '2', '--warmup', '1000']);
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(r.requests).toBe(20_000);
    expect(r.hits + r.misses).toBe(20_000);
    expect(r.misses / r.requests).toBeGreaterThan(0.2);
    expect(r.misses / r.requests).toBeLessThan(0.3);
    expect(r.errors + r.mismatches + r.lost_connections).toBe(0);
    expect(r.threads).toBe(2);
    expect(r.latency.p50).toBeGreaterThan(0);
    expect(r.latency.p99).toBeGreaterThanOrEqual(r.latency.p50);
    expect(r.timeline.reduce((a: number, p: { count: number }) => a + p.count, 0)).toBe(20_000);
  });

  it('runs for a duration instead of a count', () => {
    const run = client(['--clients', '2', '--duration', '0.5']);
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(r.requests).toBeGreaterThan(100);
    expect(r.seconds).toBeGreaterThan(0.4);
    expect(r.seconds).toBeLessThan(2);
  });

  it('detects wrong answers: a server whose data differs in three values', () => {
    const changed = records.map(([k, v], i): Pair => [k, i === 5 || i === 77 || i === 2999 ? `${v}!` : v]);
    const expectedFile = packRecords(changed, path.join(tempDir(), 'expected.data'));
    const run = client(['--clients', '2', '--requests', '30000'], expectedFile);
    expect(run.status).toBe(1);
    const r = JSON.parse(run.stdout);
    expect(r.mismatches).toBeGreaterThan(0);
    expect(r.hits + r.mismatches).toBe(30_000);
    expect(r.examples[0].kind).toBe('mismatch');
    expect(r.examples[0].key).toMatch(/^"k(5|77|2999)"$/);
    expect(r.examples[0].expected).toMatch(/!"$/);
  });

  it('reports a server killed mid-run as lost connections, exit 1', async () => {
    const victim = await startServer(running.file);
    const run = new Promise<{ status: number | null; stdout: string }>((resolve) => {
      const child = spawn(path.join(ROOT, 'bin', 'client'), [running.file, '--port', String(victim.port), '--duration', '30', '--json']);
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      child.on('exit', (status) => resolve({ status, stdout }));
    });
    await new Promise((r) => setTimeout(r, 1500));
    await victim.stop('SIGKILL');
    const { status, stdout } = await run;
    expect(status).toBe(1);
    const r = JSON.parse(stdout);
    expect(r.lost_connections).toBe(10);
    expect(r.requests).toBeGreaterThan(0);
  });

  it('fails clearly when no server listens', () => {
    const dead = runBin('client', [running.file, '--port', '1', '--requests', '10']);
    expect(dead.status).toBe(1);
    expect(dead.stderr).toMatch(/cannot connect to 127\.0\.0\.1:1/);
  });
});

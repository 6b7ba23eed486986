// The client and the library against servers that misbehave: silent, HTTP, Redis-like
// and garbage servers (timeouts), an unknown status byte, answers nobody asked for, a
// connection lost with calls outstanding, a BUSY shard in a cluster.

import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { encodeFrame } from '../src/protocol/rokv/frames.ts';
import { ROOT, runBin, tempDir } from './helpers.ts';
import { RawClient, startServer } from './server-helpers.ts';

const FIXTURE = path.join(ROOT, 'data', 'fixture.data');
const closers: (() => void)[] = [];
afterEach(() => {
  while (closers.length > 0) closers.pop()?.();
});

/** A TCP server that answers each chunk it reads with reply(chunk) (null: stay silent). */
function fakeServer(reply: (chunk: Buffer) => Buffer | null): Promise<number> {
  return new Promise((resolve) => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        const answer = reply(chunk);
        if (answer) socket.write(answer);
      });
    }).listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    closers.push(() => {
      for (const s of sockets) s.destroy();
      server.close();
    });
  });
}

/** Runs bin/client asynchronously (the fake servers live in this process). */
function client(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(path.join(ROOT, 'bin', 'client'), [FIXTURE, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (status) => resolve({ status, stdout, stderr, ms: Date.now() - started }));
  });
}

describe('bin/client ends, non-zero and with the reason, against servers that do not answer right', () => {
  const servers: [string, () => Promise<number>, RegExp][] = [
    ['a silent server', () => fakeServer(() => null), /no answer for 1 s/],
    ['a Redis server (it answers an error line to what it takes for inline commands)', () => fakeServer(() => Buffer.from('-ERR unknown command\r\n')), /no answer for 1 s|protocol error|closed/],
    ['a server sending garbage', () => fakeServer(() => Buffer.from([0, 0, 0, 3, 0x09, 1, 2])), /protocol error: unknown status 0x09/],
  ];
  for (const [name, start, reason] of servers) {
    it(name, async () => {
      const port = await start();
      const run = await client(['--port', String(port), '--duration', '3', '--timeout', '1', '--clients', '2']);
      expect(run.status).toBe(1);
      expect(run.stdout + run.stderr).toMatch(reason);
      expect(run.ms).toBeLessThan(8000);
    });
  }

  it('an HTTP server', async () => {
    const server = http.createServer((_req, res) => res.end('hello')).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    closers.push(() => server.close());
    const run = await client(['--port', String((server.address() as net.AddressInfo).port), '--requests', '1000', '--timeout', '1']);
    expect(run.status).toBe(1);
    expect(run.ms).toBeLessThan(8000);
  });

  it('an unknown status byte is one protocol error that closes the connection, not 1,000 mismatches', async () => {
    const port = await fakeServer((chunk) => Buffer.concat(Array.from({ length: Math.max(1, Math.floor(chunk.length / 10)) }, () => Buffer.from([0, 0, 0, 1, 0x07]))));
    const run = await client(['--port', String(port), '--requests', '1000', '--json', '--clients', '1']);
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.mismatches).toBe(0);
    expect(report.lost_connections).toBe(1);
    expect(JSON.stringify(report.examples)).toMatch(/protocol error: unknown status 0x07/);
  });

  it('a listener that never accepts: the connect timeout ends the run', async () => {
    // A socket that listens with a backlog of 0 and never accepts: once its queue is full, SYNs go unanswered.
    const holder = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(0); print(s.getsockname()[1], flush=True); time.sleep(60)']);
    closers.push(() => holder.kill());
    const port = Number(await new Promise<string>((r) => holder.stdout.once('data', (d) => r(String(d)))));
    const fillers = await Promise.all(Array.from({ length: 3 }, () => new Promise<net.Socket>((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      setTimeout(() => r(s), 200);
    })));
    closers.push(() => fillers.forEach((s) => s.destroy()));
    const run = await client(['--port', String(port), '--requests', '100', '--connect-timeout', '1']);
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toMatch(/^client: cannot connect to 127\.0\.0\.1:\d+: no answer within 1 s$/);
  });
});

describe('the library', () => {
  it('get() against a silent server rejects after the response timeout, and so does everything waiting', async () => {
    const port = await fakeServer(() => null);
    const c = await connect({ port, timeoutMs: 300 });
    const started = Date.now();
    const results = await Promise.allSettled([c.get('a'), c.get('b')]);
    expect(Date.now() - started).toBeLessThan(2000);
    for (const r of results) expect((r as PromiseRejectedResult).reason.message).toMatch(/^no answer from 127\.0\.0\.1:\d+ within 0\.3 s$/);
  });

  it('an unknown status byte rejects with a protocol error and closes', async () => {
    const port = await fakeServer(() => Buffer.from([0, 0, 0, 1, 0x07]));
    const c = await connect({ port });
    await expect(c.get('a')).rejects.toThrow('protocol error: unknown status 0x7');
    await expect(c.get('b')).rejects.toThrow('protocol error: unknown status 0x7');
  });

  it('PING answered NOT_FOUND, and INFO answered with no JSON object, are protocol errors, not null or a TypeError', async () => {
    const notFound = await fakeServer(() => Buffer.from([0, 0, 0, 1, 0x01]));
    await expect((await connect({ port: notFound })).ping()).rejects.toThrow('protocol error: NOT_FOUND in answer to op 0x02');
    await expect((await connect({ port: notFound })).info()).rejects.toThrow('protocol error: NOT_FOUND in answer to op 0x03');
    const notJson = await fakeServer(() => Buffer.from([0, 0, 0, 4, 0x00, 0x78, 0x79, 0x7a]));
    await expect((await connect({ port: notJson })).info()).rejects.toThrow('protocol error: the INFO answer is not a JSON object');
  });

  it('connect() to a port nobody listens on rejects at once with the address', async () => {
    const port = await fakeServer(() => null);
    closers.pop()?.();
    await new Promise((r) => setTimeout(r, 50));
    await expect(connect({ port })).rejects.toThrow(new RegExp(`^cannot connect to 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  });



  it('a lost connection rejects everything outstanding, and later calls', async () => {
    const fake = net.createServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const c = await connect({ port: (fake.address() as net.AddressInfo).port });
    const outstanding = [c.get('a'), c.get('b'), c.ping()];
    for (const call of outstanding) await expect(call).rejects.toThrow(/connection lost/);
    await expect(c.get('c')).rejects.toThrow(/connection lost/);
    fake.close();
  });

  it('a response with an unknown status is a protocol error', async () => {
    const fake = net.createServer((socket) => socket.once('data', () => socket.write(encodeFrame(0x09))));
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const c = await connect({ port: (fake.address() as net.AddressInfo).port });
    await expect(c.get('a')).rejects.toThrow(/unknown status 0x9/);
    fake.close();
  });
});

describe('a BUSY shard', () => {
  it('bin/client --cluster fails over to the replica instead of crashing', async () => {
    const dir = tempDir();
    expect(runBin('shard', [FIXTURE, '--shards', '2', '--replicas', '2', '-o', dir]).status).toBe(0);
    const map = path.join(dir, 'cluster.json');
    const busy = await startServer(path.join(dir, 'shard-0.data'), ['--cluster', map, '--max-connections', '1']);
    const healthy = await startServer(path.join(dir, 'shard-1.data'), ['--cluster', map]);
    const holder = await RawClient.connect(busy.port); // takes shard 0's only connection
    await new Promise((r) => setTimeout(r, 100));
    const run = spawnSync(path.join(ROOT, 'bin', 'client'), [FIXTURE, '--cluster', map, '--servers', `127.0.0.1:${busy.port},127.0.0.1:${healthy.port}`, '--requests', '2000', '--json'], { encoding: 'utf8' });
    expect(run.stderr).not.toMatch(/internal error|    at /);
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    expect([report.errors, report.mismatches]).toEqual([0, 0]);
    expect(report.hits).toBeGreaterThan(0);
    holder.socket.destroy();
    expect(await busy.stop()).toBe(0);
    expect(await healthy.stop()).toBe(0);
  });
});

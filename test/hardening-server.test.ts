// Hardening of the server, each case a test that failed before its fix: logging into
// a closed or broken pipe, refused connections that never close, SIGUSR1, an empty
// --host, the stall timeout, FRAME_TOO_LARGE closing for real, and memory bounded by
// default against clients that never read and half frames.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { type Pair, ROOT, packRecords, runBin } from './helpers.ts';
import { RawClient, flood, frame, serverInfo, startServer } from './server-helpers.ts';

const GET = 1;
const BIG = Buffer.alloc(1 << 20, 0x62);
const records: Pair[] = [['big', BIG]];
for (let i = 0; i < 1000; i++) records.push([`k${i}`, `value-${i}`]);
for (let i = 0; i < 100; i++) records.push([`m${i}`, Buffer.alloc(2000, i)]); // copied into the batch buffer, unlike large values
const file = packRecords(records);

async function expectServes(port: number): Promise<void> {
  const c = await connect({ port });
  expect((await c.get('k7'))?.toString()).toBe('value-7');
  await c.close();
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function openDescriptors(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('log output never takes the server down', () => {
  it('a stats line into a pipe whose reader is gone (server 2>&1 | head -1)', async () => {
    const child = spawn(path.join(ROOT, 'bin', 'server'), [file, '--port', '0', '--stats-interval', '0.2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const firstLine = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d))));
    const port = Number(/listening on \S+:(\d+)/.exec(firstLine)?.[1]);
    child.stdout.destroy();
    child.stderr.destroy(); // both ends of the "pipe" gone, as when head exits
    for (let i = 0; i < 5; i++) {
      await expectServes(port); // requests, so that each interval writes a stats line
      await sleep(250);
    }
    expect(child.exitCode).toBeNull();
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('started with stdout and stderr closed', async () => {
    const port = await freePort();
    const child = spawn('bash', ['-c', `exec 1>&- 2>&-; exec "${path.join(ROOT, 'bin', 'server')}" "${file}" --port ${port} --stats-interval 0.2`], { stdio: 'ignore' });
    let served = false;
    for (let i = 0; i < 50 && !served; i++) {
      await sleep(100);
      served = await expectServes(port).then(() => true, () => false);
    }
    expect(served).toBe(true);
    await sleep(500);
    await expectServes(port);
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
  });
});

describe('signals and flags', () => {
  it('SIGUSR1 neither opens a debugger nor stops the server', async () => {
    const inspectorOpen = () => new Promise<boolean>((resolve) => {
      const probe = net.connect(9229, '127.0.0.1', () => (probe.destroy(), resolve(true)));
      probe.on('error', () => resolve(false));
    });
    const server = await startServer(file);
    try {
      const before = await inspectorOpen();
      server.process.kill('SIGUSR1');
      await sleep(500);
      await expectServes(server.port);
      expect(!before && (await inspectorOpen())).toBe(false);
      expect(server.stderr()).not.toMatch(/Debugger listening/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('an empty --host is refused, not bound to every interface', () => {
    const run = runBin('server', [file, '--port', '0', '--host', '']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/empty host/);
    expect(run.stdout).not.toMatch(/listening/);
  });
});

describe('connections the server is done with are closed', () => {
  it('refused connections that send and never read do not keep descriptors', async () => {
    const server = await startServer(file, ['--max-connections', '1']);
    const pid = server.process.pid as number;
    const holder = await RawClient.connect(server.port);
    await sleep(200);
    const before = openDescriptors(pid);
    const refused = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(server.port)));
    for (const client of refused) {
      client.socket.pause(); // never reads the BUSY frame
      client.socket.write(Buffer.alloc(100_000, 0x41));
    }
    await sleep(2500);
    expect(openDescriptors(pid) - before).toBeLessThan(20);
    for (const client of refused) client.socket.destroy();
    holder.socket.destroy();
    await sleep(200);
    await expectServes(server.port);
    expect(await server.stop()).toBe(0);
  });

  it('after FRAME_TOO_LARGE the connection is closed even if the client keeps its half open and sending', async () => {
    const server = await startServer(file);
    const socket = net.connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((r) => socket.once('connect', r));
    let received = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
    socket.on('error', () => {});
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
    const bad = Buffer.alloc(5);
    bad.writeUInt32BE(1 << 20, 0);
    socket.write(bad);
    const started = Date.now();
    const junk = setInterval(() => socket.writable && socket.write(Buffer.alloc(4096, 0x7a)), 20);
    const closedAt = await Promise.race([closed, sleep(5000).then(() => Infinity)]);
    clearInterval(junk);
    socket.destroy();
    expect(closedAt - started).toBeLessThan(3000);
    expect(received[4]).toBe(2); // the ERROR frame came first
    expect(received[5]).toBe(3); // FRAME_TOO_LARGE
    expect(await server.stop()).toBe(0);
  });
});

describe('stall timeout counts what the client drained', () => {
  it('a client reading slowly but steadily is kept; one that stops reading is dropped', async () => {
    const server = await startServer(file, ['--idle-timeout', '1']);
    const steady = await RawClient.connect(server.port);
    const stalled = await RawClient.connect(server.port);
    const burst = Buffer.concat(Array.from({ length: 200 }, () => frame(GET, 'big')));
    stalled.socket.pause();
    stalled.socket.write(burst);
    // Reads at most one chunk per 50 ms (~1 MB/s at most), far less than 200 MB of replies.
    steady.socket.removeAllListeners('data');
    let read = 0;
    steady.socket.on('data', (d: Buffer) => {
      read += d.length;
      steady.socket.pause();
      setTimeout(() => steady.socket.resume(), 50);
    });
    steady.socket.write(burst);
    await sleep(3500);
    // The stalled client never reads, so it cannot see the close: count on the server.
    expect((await serverInfo(server.port)).connections).toBe(2); // steady + this INFO
    expect(steady.closed).toBe(false);
    expect(read).toBeGreaterThan(1_000_000);
    expect(read).toBeLessThan(200 * BIG.length);
    steady.socket.destroy();
    expect(await server.stop()).toBe(0);
  });
});

describe('memory is bounded by default', () => {
  it('300 clients that pipeline and never read: RSS stays bounded, a good client is served', async () => {
    const server = await startServer(file);
    const before = (await serverInfo(server.port)).rss_bytes;
    const hogs = await Promise.all(Array.from({ length: 300 }, () => RawClient.connect(server.port)));
    const burst = Buffer.concat(Array.from({ length: 2000 }, (_, i) => frame(GET, `m${i % 100}`)));
    const floods = hogs.map((hog) => {
      hog.socket.pause();
      return flood(hog.socket, burst, 2500);
    });
    await sleep(1500);
    await expectServes(server.port);
    await Promise.all(floods);
    const info = await serverInfo(server.port);
    // The default budget (64 MiB), plus at most one 64 KiB share per client once it is spent.
    expect(info.unsent_bytes).toBeLessThan(64 * 2 ** 20 + 300 * 64 * 1024 + (1 << 20));
    // Without the budget each such client held its 1 MiB high-water mark of replies and more: over 400 MB here.
    expect(info.rss_bytes - before).toBeLessThan(220e6);
    for (const hog of hogs) hog.socket.destroy();
    await expectServes(server.port);
    expect(await server.stop()).toBe(0);
  });

  it('1,000 half frames of 60 KB: the partial-request budget closes the excess, a good client is served', async () => {
    const server = await startServer(file, ['--max-partial-mb', '8']);
    const before = (await serverInfo(server.port)).rss_bytes;
    const half = Buffer.alloc(60_000, 0x6b);
    half.writeUInt32BE(65_536, 0);
    half[4] = GET;
    const clients = await Promise.all(Array.from({ length: 1000 }, () => RawClient.connect(server.port)));
    for (const client of clients) client.socket.write(half);
    await sleep(2000);
    const info = await serverInfo(server.port);
    const after = info.rss_bytes;
    expect(info.partial_bytes).toBeLessThanOrEqual(8 * 2 ** 20); // 60 MB of half frames were sent
    const refused = clients.filter((c) => c.received.length > 0);
    expect(refused.length).toBeGreaterThan(700);
    for (const c of refused) expect(c.received.toString('latin1')).toMatch(/too many unfinished requests/);
    expect(after - before).toBeLessThan(100e6); // RSS also counts the read chunks not yet collected
    await expectServes(server.port);
    for (const c of clients) c.socket.destroy();
    expect(await server.stop()).toBe(0);
  });
});

// The metrics port under a connection flood: idle sockets, however many and whoever
// holds them, never lock out /healthz or a scrape. At the limit (64) a new connection
// cuts the connection idle longest; the number of open sockets stays bounded; a
// connection whose request is being answered is never cut for room.

import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packRecords } from './helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

/** The documented limit (README, Metrics). */
const MAX_METRICS_CONNECTIONS = 64;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** One GET on a connection of its own; rejects if the connection is cut. */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode as number, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${path}: no answer in 5 s`)));
  });
}

/** A connection that sends nothing, and whether the server has cut it. */
interface Idle {
  socket: net.Socket;
  closed: boolean;
}

async function idle(port: number): Promise<Idle> {
  const socket = net.connect(port, '127.0.0.1');
  const held: Idle = { socket, closed: false };
  socket.on('error', () => {});
  socket.on('close', () => (held.closed = true));
  await new Promise((r) => socket.once('connect', r));
  return held;
}

/** Opens idle connections one after another: in this order the server sees them, oldest first. */
async function idles(port: number, n: number): Promise<Idle[]> {
  const held: Idle[] = [];
  for (let i = 0; i < n; i++) held.push(await idle(port));
  return held;
}

/** Bytes the kernel holds in the send queue of the server's side of the connection from `clientPort` to `serverPort`. */
function serverSendQueue(serverPort: number, clientPort: number): number {
  const hex = (port: number) => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of fs.readFileSync('/proc/net/tcp', 'latin1').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] === hex(serverPort) && f[2] === hex(clientPort)) return parseInt(f[4].split(':')[0], 16);
  }
  return -1;
}

let server: RunningServer;
let port: number;
const held: Idle[] = [];

beforeAll(async () => {
  server = await startServer(packRecords([['k', 'v']]), ['--metrics-port', '0']);
  port = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(server.stdout)?.[1]);
});

afterAll(async () => {
  for (const h of held) h.socket.destroy();
  expect(await server.stop()).toBe(0);
});

describe(`the metrics port with ${MAX_METRICS_CONNECTIONS} idle connections held open`, () => {
  it('answers /healthz and /metrics every time while the idle ones are refilled; the oldest idle are cut, the count stays bounded', async () => {
    held.push(...await idles(port, MAX_METRICS_CONNECTIONS));
    for (let round = 0; round < 5; round++) {
      const health = await get(port, '/healthz');
      expect([health.status, health.body]).toEqual([200, 'ok\n']);
      const scrape = await get(port, '/metrics');
      expect(scrape.status).toBe(200);
      expect(scrape.body).toMatch(/^rokv_connections 0$/m);
      held.push(...await idles(port, 2)); // the attacker takes the room back
    }
    // 40 more: the server keeps at most the limit open, cutting the oldest first.
    held.push(...await idles(port, 40));
    await until('the cuts', () => held.filter((h) => !h.closed).length <= MAX_METRICS_CONNECTIONS);
    await sleep(200);
    const open = held.filter((h) => !h.closed).length;
    expect(open).toBeLessThanOrEqual(MAX_METRICS_CONNECTIONS);
    expect(open).toBeGreaterThanOrEqual(MAX_METRICS_CONNECTIONS - 2); // the probes' own connections may have counted for a moment
    const cut = held.map((h) => h.closed);
    expect(cut.indexOf(false), 'the cut connections are the oldest ones').toBe(held.length - open);
    for (const h of held.splice(0)) h.socket.destroy();
  });

  it('never cuts a connection whose request is being answered, even the oldest', async () => {
    // A scraper that pipelines scrapes and reads none: its answers fill both kernels'
    // buffers, then one waits in the server, being answered, for as long as it does not read.
    const sample = await get(port, '/metrics');
    const wmemMax = Number(fs.readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8').trim().split(/\s+/)[2]);
    const requests = Math.ceil((2 * wmemMax) / sample.body.length) + 100;
    const busy = net.connect(port, '127.0.0.1');
    let busyError: string | null = null;
    busy.on('error', (e: NodeJS.ErrnoException) => (busyError = e.code ?? e.message));
    await new Promise((r) => busy.once('connect', r));
    busy.pause();
    busy.write('GET /metrics HTTP/1.1\r\nHost: rokv\r\n\r\n'.repeat(requests));
    let last = -1;
    await until('the server to stall on the unread answers', () => {
      const now = serverSendQueue(port, busy.localPort as number);
      const stalled = now > wmemMax / 4 && now === last;
      last = now;
      return stalled;
    }, 20_000);

    held.push(...await idles(port, MAX_METRICS_CONNECTIONS - 1));
    for (let round = 0; round < 3; round++) {
      expect((await get(port, '/healthz')).status).toBe(200);
      held.push(await idle(port)); // full again
    }
    // Room was made by cutting idle connections, oldest first, never the busy one (older still).
    await until('an idle connection cut', () => held.some((h) => h.closed));
    await sleep(100);
    const cut = held.filter((h) => h.closed).length;
    expect(held.findIndex((h) => !h.closed)).toBe(cut);

    // The busy scraper reads now: every answer arrives, the connection was not cut.
    const STATUS_LINE = 'HTTP/1.1 200 OK\r\n';
    let answers = 0;
    let tail = '';
    let ended = false;
    busy.setEncoding('latin1');
    busy.on('data', (d: string) => {
      const text = tail + d;
      answers += text.split(STATUS_LINE).length - 1;
      tail = text.slice(-(STATUS_LINE.length - 1));
    });
    busy.on('close', () => (ended = true));
    busy.resume();
    await until('every answer', () => ended || answers === requests, 30_000);
    expect([answers, busyError]).toEqual([requests, null]);
    busy.destroy();
  }, 60_000);
});

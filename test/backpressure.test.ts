// Backpressure: a client that does not read its answers is not read either (the server
// stops reading it at its connection's high-water mark), costs bounded memory and never
// slows the others down — one such client on each protocol, and 300 at once against the
// event loop's budget for unsent replies.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { type Pair, packRecords } from './helpers.ts';
import { command, respExchange, text } from './resp-helpers.ts';
import { RawClient, type RunningServer, flood, frame, serverInfo, startServer } from './server-helpers.ts';

const GET = 1;
const PING = 2;
const records: Pair[] = [];
for (let i = 0; i < 2000; i++) records.push([`k${i}`, `value-${i}`]);
for (let i = 0; i < 100; i++) records.push([`key-${i}`, `value-${i}`]);
for (let i = 0; i < 100; i++) records.push([`m${i}`, Buffer.alloc(2000, i)]); // copied into the batch buffer, unlike large values
records.push(['big', Buffer.alloc(200_000, 0x62)]);
const valueOf = new Map(records.map(([k, v]) => [Buffer.from(k).toString('latin1'), Buffer.from(v)]));
const file = packRecords(records);

let server: RunningServer;
let baselineRss = 0;
const port = () => server.respPort;

beforeAll(async () => {
  server = await startServer(file, ['--resp-port', '0']);
  baselineRss = (await serverInfo(server.port)).rss_bytes;
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

/** A good client gets every answer right. */
async function expectHealthy(): Promise<void> {
  const c = await connect({ port: server.port });
  const answers = await Promise.all(records.slice(0, 300).map(([k]) => c.get(k)));
  answers.forEach((v, i) => expect(v?.toString()).toBe(`value-${i}`));
  expect(await c.get('absent')).toBeNull();
  await c.close();
}

async function expectServes(port: number): Promise<void> {
  const c = await connect({ port });
  expect((await c.get('k7'))?.toString()).toBe('value-7');
  await c.close();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a client that never reads', () => {
  // What the server holds for the hog is read from its own accounting (INFO unsent_bytes,
  // partial_bytes), sampled during the flood: exact, unlike RSS, which also counts garbage
  // V8 has not collected yet. RSS keeps only a loose bound against a runaway.
  it('a client that pipelines for seconds and never reads: bounded server memory, others unaffected', async () => {
    const hog = await RawClient.connect(server.port);
    hog.socket.pause();
    const burst = Buffer.concat(Array.from({ length: 1000 }, (_, i) => frame(GET, `k${i}`)));
    const flooding = flood(hog.socket, burst, 3000);
    let held = 0;
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const info = await serverInfo(server.port);
      held = Math.max(held, info.unsent_bytes + info.partial_bytes);
    }
    await expectHealthy(); // while the flood is on
    const pushed = await flooding;
    const info = await serverInfo(server.port);
    held = Math.max(held, info.unsent_bytes + info.partial_bytes);
    // One connection is held to its 1 MiB output high-water mark plus one read's answers.
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(2 * 2 ** 20);
    // The server stopped reading: what the hog pushed sits in the kernel's buffers.
    expect(pushed - hog.socket.writableLength).toBeLessThan(64e6);
    expect(info.rss_bytes - baselineRss).toBeLessThan(200e6);
    hog.socket.destroy();
    await expectHealthy();
  });

  it('a client that never reads does not block another, and the server stops reading it', async () => {
    const hog = await RawClient.connect(server.port);
    hog.socket.pause(); // never reads its answers
    const ping = frame(PING, Buffer.alloc(65_535, 1)); // each answer is as large as its request
    const pushed = await flood(hog.socket, ping, 1500);
    const good = await connect({ port: server.port });
    for (let i = 0; i < 100; i++) expect((await good.get(`key-${i}`))?.toString()).toBe(`value-${i}`);
    const info = await good.info();
    // Without backpressure the server reads (and answers into memory) all the hog sends:
    // hundreds of MB in 1.5 s on loopback. With it, only socket buffers' worth gets through.
    const accepted = pushed - hog.socket.writableLength;
    expect(accepted).toBeLessThan(64e6);
    expect(info.rss_bytes as number).toBeLessThan(250e6);
    await good.close();
    hog.socket.destroy();
  });

  it('a client that never reads is held by backpressure while another is served', async () => {
    const hog = await RawClient.connect(port());
    hog.socket.pause();
    const pushed = await flood(hog.socket, command('GET', 'big'), 1500);
    expect(pushed).toBeGreaterThan(1_000_000);
    const { replies } = await respExchange(port(), command('GET', 'key-1'), 1);
    expect(text(replies[0])).toBe(valueOf.get('key-1')?.toString());
    hog.socket.destroy();
  });
});

describe('many clients that never read', () => {
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
});

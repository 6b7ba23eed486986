// Limits a server holds whatever clients do: the connection limit (over both ports,
// BUSY or Redis's text, descriptors of refused clients not kept), the budget for
// unfinished requests, and closing a connection it is done with (after FRAME_TOO_LARGE,
// even against a client that keeps sending).

import fs from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { type Pair, packRecords } from './helpers.ts';
import { command, respExchange } from './resp-helpers.ts';
import { RawClient, frame, parseFrames, serverInfo, startServer } from './server-helpers.ts';

const GET = 1;
const records: Pair[] = Array.from({ length: 2000 }, (_, i) => [`k${i}`, `value-${i}`]);
const file = packRecords(records);

async function expectServes(port: number): Promise<void> {
  const c = await connect({ port });
  expect((await c.get('k7'))?.toString()).toBe('value-7');
  await c.close();
}

function openDescriptors(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const settle = () => sleep(200);

describe('the connection limit', () => {
  it('the connection limit: BUSY, then close', async () => {
    const limited = await startServer(file, ['--max-connections', '2']);
    const a = await connect({ port: limited.port });
    const b = await connect({ port: limited.port });
    await a.ping();
    await b.ping();
    const third = await RawClient.connect(limited.port);
    await third.waitClosed();
    const { frames } = parseFrames(third.received);
    expect(frames).toHaveLength(1);
    expect([frames[0].status, frames[0].payload[0]]).toEqual([2, 4]);
    await a.close();
    const again = await connect({ port: limited.port }); // a slot is free again
    expect((await again.ping('ok')).toString()).toBe('ok');
    expect((await again.info()).connections_rejected).toBe(1);
    await Promise.all([b.close(), again.close()]);
    expect(await limited.stop()).toBe(0);
  });

  it('100 connections against a limit of 20: 20 served, the rest BUSY, then all is well', async () => {
    const limited = await startServer(file, ['--max-connections', '20']);
    const clients = await Promise.all(Array.from({ length: 100 }, () => RawClient.connect(limited.port)));
    await settle();
    for (const raw of clients) raw.socket.write(frame(2, 'hi'));
    await settle();
    let busy = 0;
    let served = 0;
    for (const raw of clients) {
      const [reply] = await raw.frames(1);
      if (reply.status === 2 && reply.payload[0] === 4) busy++;
      else if (reply.status === 0 && reply.payload.toString() === 'hi') served++;
    }
    expect(served).toBe(20);
    expect(busy).toBe(80);
    for (const raw of clients) raw.socket.destroy();
    await settle();
    const c = await connect({ port: limited.port });
    expect((await c.get('k7'))?.toString()).toBe('value-7');
    await c.close();
    expect(await limited.stop()).toBe(0);
  });

  it('one connection limit across both ports; RESP refusals use Redis\'s text', async () => {
    const server = await startServer(file, ['--resp-port', '0', '--max-connections', '2']);
    try {
      const a = await RawClient.connect(server.port);
      const b = await RawClient.connect(server.respPort);
      await new Promise((r) => setTimeout(r, 100));
      const refusedResp = await respExchange(server.respPort, command('PING'), 1);
      expect(refusedResp.replies).toEqual([{ error: 'ERR max number of clients reached' }]);
      const refusedBinary = await RawClient.connect(server.port);
      const [busy] = await refusedBinary.frames(1);
      expect(busy.status).toBe(2);
      expect(busy.payload[0]).toBe(4);
      for (const c of [a, b, refusedBinary]) c.socket.destroy();
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

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
});

describe('the budget for unfinished requests', () => {
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

describe('connections the server is done with are closed', () => {
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

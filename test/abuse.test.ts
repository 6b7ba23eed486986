// Hostile and broken clients against one real server: garbage, idle half frames, a
// storm of connects and resets, absurd frame lengths en masse. After each attack the
// server must be alive and answer a good client correctly. (One client that never
// reads: backpressure.test.ts; the limits a server holds: limits.test.ts.)

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { type Pair, packRecords } from './helpers.ts';
import { RawClient, type RunningServer, frame, serverInfo, startServer } from './server-helpers.ts';

const GET = 1;
const records: Pair[] = Array.from({ length: 2000 }, (_, i) => [`k${i}`, `value-${i}`]);
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(packRecords(records));
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

function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(Math.random() * 256);
  return b;
}

/** Garbage that sometimes looks like frames: random ops, random keys, bad lengths. */
function garbage(): Buffer {
  const roll = Math.random();
  if (roll < 0.3) return randomBytes(1 + Math.floor(Math.random() * 2000));
  if (roll < 0.6) return frame(Math.floor(Math.random() * 256), randomBytes(Math.floor(Math.random() * 100)));
  if (roll < 0.8) return frame(GET, randomBytes(1 + Math.floor(Math.random() * 64)));
  const bad = Buffer.alloc(5);
  bad.writeUInt32BE(Math.random() < 0.5 ? 0 : 65_537 + Math.floor(Math.random() * 1e9), 0);
  return bad;
}

const settle = () => new Promise((r) => setTimeout(r, 200));

describe('abuse', () => {
  it('random garbage on 50 connections while a good client is served', async () => {
    let stop = false;
    let sent = 0;
    const attacker = async () => {
      while (!stop) {
        const raw = await RawClient.connect(server.port);
        for (let i = 0; i < 20 && !raw.closed && !stop; i++) {
          raw.socket.write(garbage());
          sent++;
          await new Promise((r) => setImmediate(r));
        }
        raw.socket.destroy();
      }
    };
    const attackers = Array.from({ length: 50 }, attacker);
    const good = await connect({ port: server.port });
    let checked = 0;
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      const i = checked % records.length;
      expect((await good.get(`k${i}`))?.toString()).toBe(`value-${i}`);
      checked++;
    }
    stop = true;
    await Promise.all(attackers);
    await good.close();
    expect(sent).toBeGreaterThan(1000);
    expect(checked).toBeGreaterThan(100);
    await expectHealthy();
  });

  it('1,000 idle connections holding half frames cost about their bytes', async () => {
    const before = (await serverInfo(server.port)).rss_bytes;
    const idle: RawClient[] = [];
    for (let i = 0; i < 1000; i++) {
      const raw = await RawClient.connect(server.port);
      raw.socket.write(frame(GET, Buffer.alloc(60_000, 1)).subarray(0, 40)); // header says 60 KB, 35 bytes sent
      idle.push(raw);
    }
    await settle();
    const info = await serverInfo(server.port);
    expect(info.connections).toBeGreaterThanOrEqual(1001);
    try {
      console.log(`1,000 idle connections: server RSS +${((info.rss_bytes - before) / 1e6).toFixed(1)} MB`);
      // Preallocating each announced 60 KB frame alone would take 60 MB.
      expect(info.rss_bytes - before).toBeLessThan(40e6);
      await expectHealthy();
    } finally {
      for (const raw of idle) raw.socket.destroy();
    }
    await settle();
    expect((await serverInfo(server.port)).connections).toBeLessThan(10);
  });


  it('a storm of 2,000 connects and disconnects, half of them resets, some mid-frame', async () => {
    const one = async (i: number) => {
      const raw = await RawClient.connect(server.port);
      if (i % 3 === 0) raw.socket.write(frame(GET, `k${i % 2000}`).subarray(0, 7));
      if (i % 3 === 1) raw.socket.write(Buffer.concat([frame(GET, 'k1'), frame(GET, 'k2')]));
      if (i % 2 === 0) raw.socket.resetAndDestroy();
      else raw.socket.destroy();
    };
    for (let wave = 0; wave < 40; wave++) await Promise.all(Array.from({ length: 50 }, (_, j) => one(wave * 50 + j)));
    await settle();
    expect((await serverInfo(server.port)).connections).toBeLessThan(10);
    await expectHealthy();
  });

  it('oversize and zero lengths on 200 connections at once: each gets FRAME_TOO_LARGE and is closed', async () => {
    const clients = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(server.port)));
    clients.forEach((raw, i) => {
      const header = Buffer.alloc(5);
      header.writeUInt32BE(i % 2 ? 0 : 0x7fffffff, 0);
      raw.socket.write(header);
    });
    await Promise.all(clients.map((raw) => raw.waitClosed()));
    for (const raw of clients) {
      const [reply] = await raw.frames(1);
      expect([reply.status, reply.payload[0]]).toEqual([2, 3]);
    }
    await expectHealthy();
  });

});

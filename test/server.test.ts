// bin/server over real TCP: every row of docs/PROTOCOL.md, framing under any
// split, pipelining, backpressure, the connection limit, idle timeout, shutdown.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { type Pair, runBin, tempDir } from './helpers.ts';
import { RawClient, flood, frame, parseFrames, serveRecords, startServer } from './server-helpers.ts';

const GET = 1;
const PING = 2;
const INFO = 3;
const BIG_VALUE = Buffer.alloc(1 << 20, 0x61);

const records: Pair[] = [['abc', 'xyz'], ['empty', ''], ['big', BIG_VALUE], [Buffer.from([0, 0xff]), Buffer.from([0xfe, 0])]];
for (let i = 0; i < 5000; i++) records.push([`key-${i}`, `value-${i}`]);
const expected = new Map(records.map(([k, v]) => [Buffer.from(k).toString('hex'), Buffer.from(v)]));

const running = serveRecords(records);

async function exchange(bytes: Buffer, responses: number): Promise<Buffer> {
  const client = await RawClient.connect(running.server.port);
  client.socket.write(bytes);
  await client.frames(responses);
  client.socket.destroy();
  return client.received;
}

describe('protocol rows', () => {
  it('GET hit, byte for byte as in the spec example', async () => {
    expect((await exchange(frame(GET, 'abc'), 1)).toString('hex')).toBe('000000040078797a');
  });

  it('GET miss is NOT_FOUND with no payload', async () => {
    expect((await exchange(frame(GET, 'nope'), 1)).toString('hex')).toBe('0000000101');
  });

  it('GET of an empty value is OK with length 1', async () => {
    expect((await exchange(frame(GET, 'empty'), 1)).toString('hex')).toBe('0000000100');
  });

  it('GET of binary keys and a 1 MiB value', async () => {
    const { frames } = parseFrames(await exchange(Buffer.concat([frame(GET, Buffer.from([0, 0xff])), frame(GET, 'big')]), 2));
    expect(frames[0].payload.toString('hex')).toBe('fe00');
    expect(frames[1].payload.equals(BIG_VALUE)).toBe(true);
  });

  it('PING echoes any payload, empty and 65,535 bytes', async () => {
    expect((await exchange(frame(PING), 1)).toString('hex')).toBe('0000000100');
    const payload = Buffer.alloc(65_535, 7);
    const { frames } = parseFrames(await exchange(frame(PING, payload), 1));
    expect(frames[0].status).toBe(0);
    expect(frames[0].payload.equals(payload)).toBe(true);
  });

  it('INFO has every required field with the right values', async () => {
    const { frames } = parseFrames(await exchange(frame(INFO), 1));
    const info = JSON.parse(frames[0].payload.toString('utf8'));
    expect(info.protocol).toBe(1);
    expect(info.keys).toBe(records.length);
    expect(info.data_bytes).toBe(fs.statSync(running.file).size);
    expect(info.file).toBe(running.file);
    expect(typeof info.uptime_s).toBe('number');
    expect(info.connections).toBeGreaterThanOrEqual(1);
    expect(info.requests).toBeGreaterThan(0);
    for (const field of ['hits', 'misses', 'errors', 'rss_bytes', 'connections_accepted', 'connections_rejected']) expect(typeof info[field]).toBe('number');
    expect(info.connections_accepted).toBeGreaterThanOrEqual(info.connections);
  });

  it('UNKNOWN_OP: an error, and the connection stays open', async () => {
    const { frames } = parseFrames(await exchange(Buffer.concat([frame(0x09), frame(PING, 'after')]), 2));
    expect(frames[0].status).toBe(2);
    expect(frames[0].payload[0]).toBe(1);
    expect(frames[1].payload.toString()).toBe('after');
  });

  it('BAD_REQUEST for GET with no key and INFO with a payload; the connection stays open', async () => {
    const { frames } = parseFrames(await exchange(Buffer.concat([frame(GET), frame(INFO, 'x'), frame(GET, 'abc')]), 3));
    expect([frames[0].status, frames[0].payload[0]]).toEqual([2, 2]);
    expect([frames[1].status, frames[1].payload[0]]).toEqual([2, 2]);
    expect(frames[2].payload.toString()).toBe('xyz');
  });

  for (const [name, length] of [['over 65,535 bytes', 65_537], ['length 0', 0]] as const) {
    it(`FRAME_TOO_LARGE for ${name}: the error, then the server closes`, async () => {
      const client = await RawClient.connect(running.server.port);
      const header = Buffer.alloc(5);
      header.writeUInt32BE(length, 0);
      header[4] = GET;
      client.socket.write(Buffer.concat([frame(GET, 'abc'), header, frame(GET, 'abc')]));
      await client.waitClosed();
      const { frames, rest } = parseFrames(client.received);
      expect(frames).toHaveLength(2);
      expect(frames[0].payload.toString()).toBe('xyz');
      expect([frames[1].status, frames[1].payload[0]]).toEqual([2, 3]);
      expect(rest).toBe(0);
    });
  }
});

describe('framing and pipelining', () => {
  const stream: Buffer[] = [];
  const answers: Buffer[] = [];
  for (let i = 0; i < 10_000; i++) {
    const key = i % 7 === 0 ? `missing-${i}` : `key-${i % 5000}`;
    stream.push(frame(GET, key));
    answers.push(expected.get(Buffer.from(key).toString('hex')) ?? Buffer.from('NOT_FOUND'));
  }
  const all = Buffer.concat(stream);

  const check = (received: Buffer) => {
    const { frames } = parseFrames(received);
    expect(frames).toHaveLength(answers.length);
    frames.forEach((f, i) => expect(f.status === 1 ? 'NOT_FOUND' : f.payload.toString(), `response ${i}`).toBe(answers[i].toString()));
  };

  it('10,000 frames in one write come back in order', async () => {
    check(await exchange(all, answers.length));
  });

  it('random splits of the stream give the same answers', async () => {
    for (let round = 0; round < 3; round++) {
      const client = await RawClient.connect(running.server.port);
      let pos = 0;
      while (pos < all.length) {
        const size = 1 + Math.floor(Math.random() * 300);
        client.socket.write(all.subarray(pos, pos + size));
        pos += size;
        if (Math.random() < 0.05) await new Promise((r) => setTimeout(r, 1));
      }
      await client.frames(answers.length);
      client.socket.destroy();
      check(client.received);
    }
  });

  it('one byte per write', async () => {
    const client = await RawClient.connect(running.server.port);
    const bytes = Buffer.concat([frame(GET, 'abc'), frame(PING, 'p'), frame(GET, 'nope')]);
    for (const byte of bytes) {
      client.socket.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 2));
    }
    const frames = await client.frames(3);
    client.socket.destroy();
    expect(frames.map((f) => [f.status, f.payload.toString()])).toEqual([[0, 'xyz'], [0, 'p'], [1, '']]);
  });

  it('a client that never reads does not block another, and the server stops reading it', async () => {
    const hog = await RawClient.connect(running.server.port);
    hog.socket.pause(); // never reads its answers
    const ping = frame(PING, Buffer.alloc(65_535, 1)); // each answer is as large as its request
    const pushed = await flood(hog.socket, ping, 1500);
    const good = await connect({ port: running.server.port });
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
});

describe('limits, timeouts and lifecycle', () => {
  it('the connection limit: BUSY, then close', async () => {
    const limited = await startServer(running.file, ['--max-connections', '2']);
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

  it('the idle timeout closes idle connections and ones holding half a frame, not busy ones', async () => {
    const timed = await startServer(running.file, ['--idle-timeout', '0.4']);
    const idle = await RawClient.connect(timed.port);
    const half = await RawClient.connect(timed.port);
    half.socket.write(frame(GET, 'abc').subarray(0, 5));
    const busy = await connect({ port: timed.port });
    const started = Date.now();
    while (Date.now() - started < 900) {
      await busy.ping();
      await new Promise((r) => setTimeout(r, 50));
    }
    await idle.waitClosed(2000);
    await half.waitClosed(2000);
    expect((await busy.get('abc'))?.toString()).toBe('xyz');
    await busy.close();
    expect(await timed.stop()).toBe(0);
  });

  it('SIGTERM with requests in flight: answers what it received, closes, exits 0 quickly', async () => {
    const victim = await startServer(running.file);
    const client = await RawClient.connect(victim.port);
    const batch = Buffer.concat(Array.from({ length: 20_000 }, (_, i) => frame(GET, `key-${i % 5000}`)));
    client.socket.write(batch);
    await client.frames(1);
    const stopped = Date.now();
    const code = await victim.stop('SIGTERM');
    expect(code).toBe(0);
    expect(Date.now() - stopped).toBeLessThan(3000);
    await client.waitClosed();
    const { frames, rest } = parseFrames(client.received);
    expect(rest).toBe(0);
    expect(frames.length).toBeGreaterThan(0);
    frames.forEach((f, i) => expect(f.payload.toString()).toBe(`value-${i % 5000}`));
  });

  it('refuses to start on a missing file, a corrupt file, a port in use, a bad flag', async () => {
    const missing = runBin('server', ['/nonexistent.data']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^server: cannot open \/nonexistent\.data: ENOENT/);
    const dir = tempDir();
    const bad = path.join(dir, 'bad.data');
    fs.writeFileSync(bad, fs.readFileSync(running.file).subarray(0, 1000));
    expect(runBin('server', [bad]).stderr).toMatch(/header says/);
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const busy = runBin('server', [running.file, '--port', String(port)]);
    expect(busy.status).not.toBe(0);
    expect(busy.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address in use`));
    blocker.close();
    const flag = runBin('server', [running.file, '--port', 'seventy']);
    expect(flag.status).not.toBe(0);
    expect(flag.stderr).toMatch(/"seventy" is not a whole number/);
  });
});

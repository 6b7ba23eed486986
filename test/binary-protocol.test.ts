// The binary protocol over real TCP: every row of docs/PROTOCOL.md, framing under any
// split, pipelining. The session's logic in process: rokv-session.test.ts.

import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Pair } from './helpers.ts';
import { RawClient, frame, parseFrames, serveRecords } from './server-helpers.ts';

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

});

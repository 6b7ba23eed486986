// A command that pauses for output room (an MGET far larger than the socket takes,
// EXEC of such MGETs) answers wholly from the data version it began on, though a hot
// swap comes while it waits: Redis's MGET and EXEC are atomic. In every tier; the disk
// tier keeps the old version's file open until the command is done.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Pair, packRecords, tempDir } from './helpers.ts';
import { command } from './resp-helpers.ts';
import { startServer } from './server-helpers.ts';

const KEYS = 160;
const VALUE = 200_000; // 160 × 200 kB = 32 MB of reply: far past what the sockets hold
const version = (tag: string): Pair[] => Array.from({ length: KEYS }, (_, i) => [`k${i}`, `${tag}:${i}:`.padEnd(VALUE, tag[1])]);

/** Reads bulk strings off `socket` until `count` arrived (after the array header). */
function bulks(socket: net.Socket, count: number, skipHeader: boolean): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    let headerSkipped = !skipHeader;
    const got: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const eol = buffered.indexOf('\r\n');
        if (eol < 0) return;
        if (!headerSkipped) {
          headerSkipped = true;
          buffered = buffered.subarray(eol + 2);
          continue;
        }
        const length = Number(buffered.toString('latin1', 1, eol));
        if (buffered.length < eol + 2 + length + 2) return;
        got.push(buffered.subarray(eol + 2, eol + 2 + length));
        buffered = buffered.subarray(eol + 2 + length + 2);
        if (got.length === count) {
          socket.off('data', onData);
          return resolve(got);
        }
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

describe.each(['memory', 'mmap', 'disk'])('--storage %s: a paused command keeps its version', (tier) => {
  it('an MGET paused by a client that does not read, then a hot swap: every value from the old version; the next GET from the new', async () => {
    const dir = tempDir();
    const live = path.join(dir, 'live.data');
    packRecords(version('v1'), live);
    packRecords(version('v2'), path.join(dir, 'next.data'));
    const server = await startServer(live, ['--resp-port', '0', '--storage', tier]);
    try {
      const socket = net.connect(server.respPort, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.pause(); // take nothing: the MGET waits for output room
      socket.write(command('MGET', ...Array.from({ length: KEYS }, (_, i) => `k${i}`)));
      await new Promise((resolve) => setTimeout(resolve, 300));
      fs.renameSync(path.join(dir, 'next.data'), live);
      server.process.kill('SIGHUP');
      const deadline = Date.now() + 20_000;
      while (!server.stderr().includes('reloaded') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(server.stderr()).toMatch(/reloaded/);
      const reply = bulks(socket, KEYS, true);
      socket.resume();
      const values = await reply;
      values.forEach((v, i) => expect(v.toString('latin1', 0, 4 + String(i).length), `k${i}`).toBe(`v1:${i}:`));
      socket.write(command('GET', 'k7'));
      const [after] = await bulks(socket, 1, false);
      expect(after.toString('latin1', 0, 5)).toBe('v2:7:');
      socket.destroy();
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 60_000);
});

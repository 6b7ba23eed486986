// Redis for side-by-side runs: start redis-server on a loopback port with no
// persistence and load the same records by mass insertion (pipelined SETs).

import { execFileSync } from 'node:child_process';
import net from 'node:net';
import type { DataFile } from '../../src/format/data-file.ts';
import { type Started, startUntil } from './processes.ts';

const BATCH_BYTES = 1 << 20;
const OK_REPLY = Buffer.from('+OK\r\n');

export function redisAvailable(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function startRedis(port: number): Promise<Started> {
  return startUntil('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--protected-mode', 'no', '--loglevel', 'notice',
  ], /Ready to accept connections/);
}

function bulk(parts: Buffer[], bytes: Uint8Array): void {
  parts.push(Buffer.from(`$${bytes.length}\r\n`, 'latin1'), Buffer.from(bytes), Buffer.from('\r\n'));
}

/** Sends a SET for every record and waits for every +OK. */
export async function loadRedis(port: number, data: DataFile): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let replies = 0;
  let tail: Buffer = Buffer.alloc(0);
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      const all = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      let pos = 0;
      while (all.length - pos >= OK_REPLY.length) {
        if (!all.subarray(pos, pos + OK_REPLY.length).equals(OK_REPLY)) {
          return reject(new Error(`Redis refused a SET: ${all.toString('latin1', pos, pos + 80)}`));
        }
        pos += OK_REPLY.length;
        replies++;
      }
      tail = all.subarray(pos);
      if (replies === data.recordCount) resolve();
    });
    socket.once('error', reject);
  });
  let parts: Buffer[] = [];
  let size = 0;
  for (const record of data.recordOffsets()) {
    parts.push(Buffer.from('*3\r\n$3\r\nSET\r\n'));
    bulk(parts, data.key(record));
    bulk(parts, data.value(record));
    size += 40 + data.keyLength(record) + data.valueLength(record);
    if (size >= BATCH_BYTES) {
      if (!socket.write(Buffer.concat(parts))) await new Promise((r) => socket.once('drain', r));
      parts = [];
      size = 0;
    }
  }
  socket.write(Buffer.concat(parts));
  if (data.recordCount > 0) await done;
  socket.end();
}

// Shutdown loses nothing (docs/PROTOCOL.md "answer what was received, then close"):
// on SIGTERM every request that reached the server before the signal is answered, in
// whole frames, then the connection ends with FIN (no reset) and the server exits 0
// quickly. "Reached" is measured, not guessed: a client's requests are in the
// server's hands once its own kernel send queue (tx_queue) is empty.

import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernelQueues, socketInode } from '../src/server/kernel-queues.ts';
import { type Pair, packRecords } from './helpers.ts';
import { RawClient, frame, parseFrames, startServer } from './server-helpers.ts';

const GET = 1;
const KEYS = 5000;
const key = (i: number) => `key-${String(i % KEYS).padStart(5, '0')}`;
const value = (i: number) => `value-${i % KEYS}-`.padEnd(100, 'x');
const records: Pair[] = Array.from({ length: KEYS }, (_, i) => [key(i), value(i)]);
const FRAME_BYTES = frame(GET, key(0)).length;
let file: string;

beforeAll(() => {
  file = packRecords(records);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client whose socket we watch: bytes received, errors, how it ended. */
class Watched {
  readonly socket: net.Socket;
  received: Buffer[] = [];
  receivedBytes = 0;
  errors: string[] = [];
  ended = false;
  closed: Promise<void>;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.received.push(d);
      this.receivedBytes += d.length;
    });
    socket.on('error', (e: NodeJS.ErrnoException) => this.errors.push(e.code ?? e.message));
    socket.on('end', () => (this.ended = true));
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  static async open(port: number, allowHalfOpen = false): Promise<Watched> {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen });
    await new Promise((r, j) => socket.once('connect', r).once('error', j));
    return new Watched(socket);
  }

  /** Bytes the client's kernel still holds unsent or unacknowledged. */
  kernelUnsent(): number {
    const inode = socketInode(this.socket);
    if (!inode) throw new Error('no /proc socket inode');
    const q = kernelQueues(new Set([inode])).get(inode);
    if (!q) throw new Error('socket not in /proc/net/tcp');
    return q.send;
  }

  /** Waits until every byte written has left the client's kernel for the server's. */
  async delivered(): Promise<void> {
    for (let i = 0; i < 500; i++) {
      if (this.socket.writableLength === 0 && this.kernelUnsent() === 0) return;
      await sleep(10);
    }
    throw new Error('requests never reached the server');
  }

  /** Every answer whole, in order, right. */
  answers(): number {
    const { frames, rest } = parseFrames(Buffer.concat(this.received));
    expect(rest, 'a partial frame at the end').toBe(0);
    frames.forEach((f, i) => {
      if (f.status !== 0 || f.payload.toString() !== value(i)) expect(`answer ${i}: ${f.status} ${f.payload}`).toBe(value(i));
    });
    return frames.length;
  }
}

/** Reads about `bytesPerTick` every 20 ms: a client slower than the server. */
function readSlowly(client: Watched, bytesPerTick: number): () => void {
  client.socket.pause();
  const timer = setInterval(() => {
    for (let got = 0; got < bytesPerTick;) {
      const chunk = client.socket.read() as Buffer | null; // also emitted as 'data', which keeps it
      if (!chunk) break;
      got += chunk.length;
    }
  }, 20);
  client.socket.once('end', () => clearInterval(timer));
  return () => clearInterval(timer);
}

function requests(from: number, count: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, i) => frame(GET, key(from + i))));
}

describe.each([1, 2])('SIGTERM with --workers %i', (workers) => {
  it('a slow reader with 50,000 requests delivered: every one answered, whole frames, FIN, exit 0', async () => {
    const server = await startServer(file, ['--workers', String(workers)]);
    const client = await Watched.open(server.port);
    const stopReading = readSlowly(client, 64 * 1024); // ~3 MB/s: 5 MB of answers take ~1.7 s
    client.socket.write(requests(0, 50_000)); // 0.55 MB: more than the server reads while it waits on this reader
    await client.delivered();
    await sleep(100);
    expect(client.receivedBytes).toBeLessThan(50_000 * 100); // still owed most of it
    const code = await server.stop('SIGTERM');
    await client.closed;
    stopReading();
    expect(code).toBe(0);
    expect(client.answers()).toBe(50_000);
    expect(client.ended).toBe(true);
    expect(client.errors).toEqual([]);
  });

  it.each([['as fast as it can', 0], ['slowly', 16 * 1024]])('a client pipelining without pause, reading %s: every request that reached the server answered, then FIN', async (_, readRate) => {
    const server = await startServer(file, ['--workers', String(workers)]);
    const client = await Watched.open(server.port);
    const stopReading = readRate ? readSlowly(client, readRate) : () => {};
    let written = 0; // requests handed to the socket
    let completed = 0; // bytes whose write completed: in the client's kernel or beyond
    let stopped = false;
    const pump = () => {
      if (stopped || client.ended) return;
      const chunk = requests(written, 500);
      written += 500;
      const more = client.socket.write(chunk, (error) => {
        if (!error) completed += chunk.length;
      });
      if (more) setImmediate(pump); // yields to reads between batches, as a real pipeliner does
      else client.socket.once('drain', pump);
    };
    pump();
    await sleep(600);
    // Bytes that reached the server: completed writes minus what the client's kernel still holds.
    const reached = Math.floor((completed - client.kernelUnsent()) / FRAME_BYTES);
    const code = await server.stop('SIGTERM');
    stopped = true;
    await client.closed;
    stopReading();
    expect(code).toBe(0);
    expect(reached).toBeGreaterThan(1000);
    expect(client.answers()).toBeGreaterThanOrEqual(reached);
    expect(client.ended).toBe(true);
    expect(client.errors).toEqual([]);
  });

  it('a client that sends 50,000 requests and half-closes: every one answered, then FIN', async () => {
    const server = await startServer(file, ['--workers', String(workers)]);
    const client = await Watched.open(server.port, true);
    const stopReading = readSlowly(client, 256 * 1024);
    client.socket.end(requests(0, 50_000));
    await client.delivered();
    const deadline = Date.now() + 10_000;
    while (!client.ended && Date.now() < deadline) await sleep(20);
    stopReading();
    client.socket.destroy();
    expect(client.answers()).toBe(50_000);
    expect(client.ended).toBe(true);
    expect(client.errors).toEqual([]);
    expect(await server.stop('SIGTERM')).toBe(0);
  });
});

describe('signals', () => {
  it('SIGTERM sent the instant the listening line appears is a clean shutdown (exit 0), five times over', async () => {
    for (let i = 0; i < 5; i++) {
      const server = await startServer(file, i % 2 ? ['--workers', '2'] : []);
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });
});

describe('requests in flight', () => {
  let inFlightFile: string;
  beforeAll(() => {
    inFlightFile = packRecords(Array.from({ length: 5000 }, (_, i) => [`key-${i}`, `value-${i}`]));
  });

  it('SIGTERM with requests in flight: answers what it received, closes, exits 0 quickly', async () => {
    const victim = await startServer(inFlightFile);
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
});

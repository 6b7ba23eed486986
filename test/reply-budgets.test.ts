// One small request must never cost gigabytes: a reply far larger than its request
// (MGET of one large value's key many times, COMMAND DOCS of one name many times, a
// long EXEC) is produced under the same budgets as a pipeline of GETs, for a client
// that never reads; and the budget for unfinished requests makes the connections
// holding the most pay, not the next ordinary request.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packRecords } from './helpers.ts';
import { command, parseReplies } from './resp-helpers.ts';
import { RawClient, type RunningServer, frame, serverInfo, startServer } from './server-helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BIG = 60_000;

let server: RunningServer;
beforeAll(async () => {
  const records: [string, Buffer | string][] = [['big', Buffer.alloc(BIG, 'b')]];
  for (let i = 0; i < 200; i++) records.push([`key:${i}`, `value:${i}`]);
  server = await startServer(packRecords(records), ['--resp-port', '0', '--max-partial-mb', '8']);
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

/** A bystander's PING over RESP: how long the answer took, in ms. */
async function pingMs(): Promise<number> {
  const client = await RawClient.connect(server.respPort);
  const started = performance.now();
  client.socket.write(command('PING'));
  await client.until(() => client.received.includes('+PONG'), 5000);
  client.socket.destroy();
  return performance.now() - started;
}

/** Sends `request` on a connection that never reads; returns the server's unsent bytes after a while. */
async function unsentWhileNotReading(request: Buffer): Promise<{ unsent: number; client: RawClient }> {
  const client = await RawClient.connect(server.respPort);
  client.socket.pause(); // never reads: the kernel buffers fill, then the server's
  client.socket.write(request);
  await sleep(1500);
  return { unsent: (await serverInfo(server.port)).unsent_bytes, client };
}

describe('replies far larger than their requests', () => {
  it('MGET of a 60 KB value 20,000 times (a 1.2 GB reply) stays within the output budgets; others are served', async () => {
    const keys = Array.from({ length: 20_000 }, () => 'big');
    const { unsent, client } = await unsentWhileNotReading(command('MGET', ...keys));
    expect(unsent).toBeLessThan(4 * 2 ** 20);
    expect(await pingMs()).toBeLessThan(1500);
    // The reader that comes back gets the whole reply: every part, byte for byte.
    const part = Buffer.concat([Buffer.from(`$${BIG}\r\n`), Buffer.alloc(BIG, 'b'), Buffer.from('\r\n')]);
    const header = Buffer.from('*20000\r\n');
    const total = header.length + 20_000 * part.length;
    let got = 0;
    let wrong = 0;
    client.socket.removeAllListeners('data');
    client.socket.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i++, got++) {
        const want = got < header.length ? header[got] : part[(got - header.length) % part.length];
        if (chunk[i] !== want) wrong++;
      }
    });
    client.socket.resume();
    const deadline = Date.now() + 60_000;
    while (got < total && Date.now() < deadline) await sleep(50);
    expect(got).toBe(total);
    expect(wrong).toBe(0);
    client.socket.destroy();
  }, 90_000);

  it('COMMAND DOCS of one name 50,000 times, and an EXEC of 5,000 such MGETs, stay within the budgets too', async () => {
    const docs = await unsentWhileNotReading(command('COMMAND', 'DOCS', ...Array.from({ length: 50_000 }, () => 'get')));
    expect(docs.unsent).toBeLessThan(4 * 2 ** 20);
    docs.client.socket.destroy();
    const exec = Buffer.concat([command('MULTI'), ...Array.from({ length: 5000 }, () => command('MGET', 'big', 'big', 'big')), command('EXEC')]);
    const run = await unsentWhileNotReading(exec);
    expect(run.unsent).toBeLessThan(4 * 2 ** 20);
    expect(await pingMs()).toBeLessThan(1500);
    run.client.socket.destroy();
  });
});

describe('connections that park unfinished requests pay, not the next request', () => {
  const LIMIT = 8 * 2 ** 20;

  /** Parks `parked` on `n` connections to `port`; returns them and the budget left (the budget must be full: some refused). */
  async function fillBudget(port: number, parked: Buffer, n: number): Promise<{ squatters: RawClient[]; room: number; charge: number }> {
    const squatters: RawClient[] = [];
    for (let i = 0; i < n; i++) {
      const client = await RawClient.connect(port);
      client.socket.write(parked);
      squatters.push(client);
    }
    await sleep(500);
    const held = (await serverInfo(server.port)).partial_bytes;
    const holding = squatters.filter((s) => !s.closed && s.received.length === 0).length;
    expect(holding).toBeLessThan(n); // the budget is full: the last ones were refused
    return { squatters, room: LIMIT - held, charge: held / holding };
  }

  it('RESP: with the budget full of half-sent commands, an MGET arriving in two reads that needs more than is left is answered', async () => {
    const parked = Buffer.concat([Buffer.from('*2\r\n$3\r\nGET\r\n$1000000\r\n'), Buffer.alloc(900_000, 'x')]);
    const { squatters, room, charge } = await fillBudget(server.respPort, parked, 10);
    const mget = command('MGET', ...Array.from({ length: Math.ceil((room + 20_000) / 14) }, (_, i) => `key:${i % 200}`));
    const first = room + 1000; // more than the budget has left: someone must give up room
    expect(first).toBeLessThan(charge);
    const innocent = await RawClient.connect(server.respPort);
    innocent.socket.write(mget.subarray(0, first));
    await sleep(100);
    innocent.socket.write(mget.subarray(first));
    await innocent.until(() => parseReplies(innocent.received).replies.length === 1 || innocent.closed, 10_000);
    const [reply] = parseReplies(innocent.received).replies as Buffer[][];
    expect(Array.isArray(reply), innocent.received.subarray(0, 100).toString()).toBe(true);
    expect(reply[5].toString()).toBe('value:5');
    const evicted = squatters.filter((s) => s.received.toString().includes('too many unfinished requests'));
    expect(evicted.length).toBeGreaterThan(0);
    for (const s of [...squatters, innocent]) s.socket.destroy();
  });

  it('binary protocol: with the budget full of half frames, a GET frame arriving in two reads that needs more than is left completes', async () => {
    const half = Buffer.alloc(60_000, 0x6b);
    half.writeUInt32BE(65_000, 0);
    half[4] = 0x01;
    const { squatters, room, charge } = await fillBudget(server.port, half, 150);
    const first = room + 1000;
    expect(first).toBeLessThan(charge);
    const get = frame(0x01, Buffer.alloc(first + 500, 'q'));
    const innocent = await RawClient.connect(server.port);
    innocent.socket.write(get.subarray(0, first));
    await sleep(100);
    innocent.socket.write(get.subarray(first));
    const [reply] = await innocent.frames(1);
    expect(reply.status).toBe(1); // NOT_FOUND: answered, not refused
    for (const s of [...squatters, innocent]) s.socket.destroy();
  });
});

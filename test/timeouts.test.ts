// --idle-timeout: connections that answer nothing for the timeout (idle, or holding
// half a request) are closed, busy ones are not; and a connection whose client takes
// none of its replies for that long is dropped, judged by what the client drained (the
// kernel's send queue), so a slow but steady reader is kept.

import { describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { type Pair, packRecords } from './helpers.ts';
import { RawClient, frame, serverInfo, startServer } from './server-helpers.ts';

const GET = 1;
const BIG = Buffer.alloc(1 << 20, 0x62);
const records: Pair[] = [['abc', 'xyz'], ['big', BIG]];
const file = packRecords(records);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the idle timeout', () => {
  it('the idle timeout closes idle connections and ones holding half a frame, not busy ones', async () => {
    const timed = await startServer(file, ['--idle-timeout', '0.4']);
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
});

describe('the stall timeout counts what the client drained', () => {
  it('a client reading slowly but steadily is kept; one that stops reading is dropped', async () => {
    const server = await startServer(file, ['--idle-timeout', '1']);
    const steady = await RawClient.connect(server.port);
    const stalled = await RawClient.connect(server.port);
    const burst = Buffer.concat(Array.from({ length: 200 }, () => frame(GET, 'big')));
    stalled.socket.pause();
    stalled.socket.write(burst);
    // Reads at most one chunk per 50 ms (~1 MB/s at most), far less than 200 MB of replies.
    steady.socket.removeAllListeners('data');
    let read = 0;
    steady.socket.on('data', (d: Buffer) => {
      read += d.length;
      steady.socket.pause();
      setTimeout(() => steady.socket.resume(), 50);
    });
    steady.socket.write(burst);
    await sleep(3500);
    // The stalled client never reads, so it cannot see the close: count on the server.
    expect((await serverInfo(server.port)).connections).toBe(2); // steady + this INFO
    expect(steady.closed).toBe(false);
    expect(read).toBeGreaterThan(1_000_000);
    expect(read).toBeLessThan(200 * BIG.length);
    steady.socket.destroy();
    expect(await server.stop()).toBe(0);
  });
});

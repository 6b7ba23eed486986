// Data versions: the server moves to a new file on SIGHUP or --watch, loaded off the
// event loop; answers are from the old or the new version, never mixed, never flip
// back, no connection drops; refused files change nothing but the counters; all
// event loops switch; memory does not grow with swaps.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { type Pair, ROOT, packRecords, runBin, tempDir } from './helpers.ts';
import { type RunningServer, serverInfo, startServer } from './server-helpers.ts';

const KEYS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const version = (v: string, extra = 0): Pair[] => Array.from({ length: KEYS + extra }, (_, i) => [`k${i}`, `${v}-${i}`]);

/** A folder with live.data (v1) and v2.data beside it; replace() renames v2 into place. */
function versions(): { dir: string; live: string; replace: (records: Pair[]) => void } {
  const dir = tempDir();
  const live = path.join(dir, 'live.data');
  packRecords(version('v1'), live);
  return {
    dir,
    live,
    replace: (records) => {
      const next = packRecords(records, path.join(dir, 'next.data'));
      fs.renameSync(next, live);
    },
  };
}

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(50);
  }
}

const reloaded = (server: RunningServer, n: number) => waitFor(async () => (await serverInfo(server.port)).reloads >= n);

describe('hot swap', () => {
  it('under load: every answer from v1 or v2, never mixed, never back to v1 after v2, no errors', async () => {
    const files = versions();
    const server = await startServer(files.live);
    const clients = await Promise.all(Array.from({ length: 4 }, () => connect({ port: server.port })));
    let stop = false;
    let answers = 0;
    const problems: string[] = [];
    const loop = async (c: Awaited<ReturnType<typeof connect>>, lane: number) => {
      let sawV2 = false;
      while (!stop) {
        const batch = Array.from({ length: 16 }, (_, j) => (lane * 977 + answers + j) % KEYS);
        const values = await Promise.all(batch.map((i) => c.get(`k${i}`)));
        values.forEach((v, j) => {
          const text = v?.toString();
          const i = batch[j];
          if (text === `v2-${i}`) sawV2 = true;
          else if (text !== `v1-${i}` || sawV2) problems.push(`k${i}: ${text} (after v2: ${sawV2})`);
        });
        answers += values.length;
      }
    };
    const running = clients.map((c, lane) => loop(c, lane));
    await sleep(300);
    files.replace(version('v2'));
    server.process.kill('SIGHUP');
    await reloaded(server, 1);
    await sleep(300);
    stop = true;
    await Promise.all(running);
    expect(problems).toEqual([]);
    expect(answers).toBeGreaterThan(1000);
    expect((await clients[0].get('k5'))?.toString()).toBe('v2-5');
    for (const c of clients) await c.close();
    const info = await serverInfo(server.port);
    expect(info.connections_accepted - info.connections).toBeLessThanOrEqual(info.connections_accepted); // nothing reset
    expect(info.errors).toBe(0);
    expect(server.stderr()).toMatch(/reloaded .*live\.data \(SIGHUP\): version \w+-2000 \(was \w+-2000\)/);
    expect(await server.stop()).toBe(0);
  });

  const refused: [string, (live: string) => void, RegExp][] = [
    ['corrupt', (live) => {
      const b = fs.readFileSync(live);
      b[200] ^= 0xff;
      fs.writeFileSync(`${live}.tmp`, b);
      fs.renameSync(`${live}.tmp`, live);
    }, /checksum mismatch/],
    ['truncated', (live) => fs.writeFileSync(live, fs.readFileSync(live).subarray(0, 1000)), /truncated/],
    ['empty', (live) => fs.writeFileSync(live, ''), /0 bytes is shorter than the 128-byte header/],
    ['missing', (live) => fs.rmSync(live), /cannot open .*: no such file or folder/],
    ['not a data file', (live) => fs.writeFileSync(live, 'x'.repeat(500)), /not a rokv data file/],
  ];
  for (const [name, damage, reason] of refused) {
    it(`a ${name} file is refused: one log line, the old version keeps serving`, async () => {
      const files = versions();
      const server = await startServer(files.live);
      damage(files.live);
      server.process.kill('SIGHUP');
      await waitFor(async () => (await serverInfo(server.port)).reload_failures >= 1);
      const info = await serverInfo(server.port);
      expect(info.reloads).toBe(0);
      expect(String(info.last_reload_error)).toMatch(reason);
      const c = await connect({ port: server.port });
      expect((await c.get('k7'))?.toString()).toBe('v1-7');
      await c.close();
      const lines = server.stderr().split('\n').filter((l) => l.includes('refused'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/still serving version/);
      expect(await server.stop()).toBe(0);
    });
  }

  it('with --workers 2 the file is loaded once and every loop switches', async () => {
    const files = versions();
    const server = await startServer(files.live, ['--workers', '2']);
    files.replace(version('v2', 10));
    server.process.kill('SIGHUP');
    await reloaded(server, 1);
    await sleep(100);
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect({ port: server.port })));
    const values = await Promise.all(clients.map((c) => c.get('k2005')));
    expect(values.map((v) => v?.toString())).toEqual(Array(20).fill('v2-2005'));
    for (const c of clients) await c.close();
    expect((await serverInfo(server.port)).keys).toBe(KEYS + 10);
    expect(await server.stop()).toBe(0);
  });

  it('--watch reloads when the path is replaced, with no signal', async () => {
    const files = versions();
    const server = await startServer(files.live, ['--watch']);
    await sleep(200);
    files.replace(version('v2'));
    await reloaded(server, 1);
    const c = await connect({ port: server.port });
    expect((await c.get('k1'))?.toString()).toBe('v2-1');
    await c.close();
    expect(server.stderr()).toMatch(/the file changed/);
    expect(await server.stop()).toBe(0);
  });

  // An RSS sample: the bound must hold in one of three (see the abuse suite's memory test).
  // Measured from the start too: the first version, loaded before the server listens,
  // must be freed like any other (it once stayed held by bin/server's main function).
  // Its time is not what it tests: 26 verified swaps of 60 MB take minutes on a loaded 2-core machine.
  it('twenty swaps of a 60 MB file do not grow RSS by more than one version, nor keep the first', { retry: 2, timeout: 180_000 }, async () => {
    const dir = tempDir();
    const live = path.join(dir, 'live.data');
    const big = (tag: string): Pair[] => Array.from({ length: 550_000 }, (_, i) => [`key-${i}`, `${tag}${'x'.repeat(90)}`]);
    const a = packRecords(big('a'), path.join(dir, 'a.data'));
    const b = packRecords(big('b'), path.join(dir, 'b.data'));
    fs.copyFileSync(a, live);
    const size = fs.statSync(live).size;
    const server = await startServer(live);
    const atStart = (await serverInfo(server.port)).rss_bytes;
    for (let i = 1; i <= 3; i++) {
      fs.copyFileSync(i % 2 ? b : a, `${live}.tmp`);
      fs.renameSync(`${live}.tmp`, live);
      server.process.kill('SIGHUP');
      await reloaded(server, i);
    }
    await sleep(500); // the loading thread gone, the old version collected
    const before = (await serverInfo(server.port)).rss_bytes;
    for (let i = 4; i <= 23; i++) {
      fs.copyFileSync(i % 2 ? b : a, `${live}.tmp`);
      fs.renameSync(`${live}.tmp`, live);
      server.process.kill('SIGHUP');
      await reloaded(server, i);
    }
    await sleep(500);
    const after = (await serverInfo(server.port)).rss_bytes;
    expect(after - before).toBeLessThan(1.5 * size);
    expect(after - atStart).toBeLessThan(0.5 * size);
    expect(await server.stop()).toBe(0);
  });

  it('in --cluster mode a reload refuses a file that is not this shard of the map', async () => {
    const dir = tempDir();
    const fixture = path.join(ROOT, 'data', 'fixture.data');
    expect(runBin('shard', [fixture, '--shards', '2', '-o', dir]).status).toBe(0);
    const server = await startServer(path.join(dir, 'shard-0.data'), ['--cluster', path.join(dir, 'cluster.json')]);
    fs.copyFileSync(path.join(dir, 'shard-1.data'), path.join(dir, 'shard-0.data'));
    server.process.kill('SIGHUP');
    await waitFor(async () => (await serverInfo(server.port)).reload_failures >= 1);
    expect(String((await serverInfo(server.port)).last_reload_error)).toMatch(/does not match shard 0 of cluster/);
    expect(await server.stop()).toBe(0);
  });
});

// The storage tiers (--storage memory|mmap|disk) against the same conformance checks:
// both protocols, pipelined answers in request order while disk reads complete out of
// order (records of every size, so some need a second read), MGET and EXEC with
// deferred parts, SCAN and RANDOMKEY, hot swaps under load, a worker's death, damaged
// files refused, and descriptors given back after swaps. (The cluster shard check of
// every tier: test/cluster-maps.test.ts.)

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIRST_READ } from '../src/storage/disk.ts';
import { nativeStorage } from '../src/storage/native.ts';
import { type Pair, packRecords, runBin, tempDir } from './helpers.ts';
import { type Reply, command, respExchange, text } from './resp-helpers.ts';
import { RawClient, type RunningServer, frame, serverInfo, startServer } from './server-helpers.ts';

const GET = 0x01;
const TIERS = ['memory', 'mmap', 'disk'] as const;

/** Values of every size class: empty, small, just past one read, past the 64 KiB view line. */
function valueFor(i: number): Buffer {
  const sizes = [0, 1, 17, 300, FIRST_READ - 40, FIRST_READ + 5, 70_000, 200_000];
  const size = i < 64 ? sizes[i % sizes.length] : (i * 37) % 900;
  return Buffer.alloc(size, `v${i}:`);
}

const RECORDS: Pair[] = [];
for (let i = 0; i < 3000; i++) RECORDS.push([`key:${i}`, valueFor(i)]);
RECORDS.push([Buffer.from([0, 0xff, 0x0d, 0x0a]), Buffer.from([1, 2, 0, 3])]);
RECORDS.push([Buffer.alloc(5000, 'k'), 'a key longer than one read']);

const expected = new Map(RECORDS.map(([k, v]) => [Buffer.from(k).toString('latin1'), Buffer.from(v)]));

/** n keys: present ones of every size and absent ones, in a fixed shuffled order. */
function mixedKeys(n: number): Buffer[] {
  const keys: Buffer[] = [];
  for (let i = 0; i < n; i++) keys.push(Buffer.from(i % 5 === 4 ? `absent:${i}` : `key:${(i * 7919) % 3000}`));
  keys.push(Buffer.from([0, 0xff, 0x0d, 0x0a]), Buffer.alloc(5000, 'k'), Buffer.alloc(5000, 'j'));
  return keys;
}

function valueOf(key: Buffer): Buffer | null {
  return expected.get(key.toString('latin1')) ?? null;
}

const addonBuilt = nativeStorage() !== null;

// The disk tier twice: records copied from the page cache when the addon says they are
// cached, and (ROKV_DISK_NO_CACHE=1) every record read through libuv's thread pool.
const VARIANTS: [string, (typeof TIERS)[number], Record<string, string>][] = [
  ['memory', 'memory', {}], ['mmap', 'mmap', {}], ['disk', 'disk', {}], ['disk, every record read', 'disk', { ROKV_DISK_NO_CACHE: '1' }],
];

describe.each(VARIANTS)('--storage %s', (_name, tier, env) => {
  let file: string;
  let server: RunningServer;

  beforeAll(async () => {
    expect(addonBuilt || tier !== 'mmap', 'the native addon is built by make build').toBe(true);
    file = packRecords(RECORDS);
    server = await startServer(file, ['--resp-port', '0', '--storage', tier], env);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('answers 2,000 pipelined binary GETs in request order, every value byte for byte', async () => {
    const keys = mixedKeys(2000);
    const client = await RawClient.connect(server.port);
    client.socket.write(Buffer.concat(keys.map((k) => frame(GET, k))));
    const frames = await client.frames(keys.length, 20_000);
    client.socket.destroy();
    expect(frames.length).toBe(keys.length);
    keys.forEach((key, i) => {
      const want = valueOf(key);
      expect(frames[i].status, `reply ${i}`).toBe(want === null ? 1 : 0);
      if (want !== null) expect(frames[i].payload.equals(want), `reply ${i}`).toBe(true);
    });
  });

  it('answers the same over RESP, GETs pipelined with MGET, EXISTS and STRLEN between them', async () => {
    const keys = mixedKeys(600);
    const requests: Buffer[] = [];
    const wanted: ((r: Reply) => void)[] = [];
    keys.forEach((key, i) => {
      requests.push(command('GET', key));
      wanted.push((r) => {
        const want = valueOf(key);
        if (want === null) expect(r, `GET ${i}`).toBeNull();
        else expect(Buffer.isBuffer(r) && r.equals(want), `GET ${i}`).toBe(true);
      });
      if (i % 100 === 50) {
        const some = keys.slice(i, i + 40);
        requests.push(command('MGET', ...some));
        wanted.push((r) => {
          const list = r as Reply[];
          expect(list.length).toBe(some.length);
          some.forEach((k, j) => {
            const want = valueOf(k);
            if (want === null) expect(list[j]).toBeNull();
            else expect((list[j] as Buffer).equals(want), `MGET part ${j}`).toBe(true);
          });
        });
        requests.push(command('EXISTS', ...some, some[0]));
        wanted.push((r) => expect(r).toBe(some.filter((k) => valueOf(k) !== null).length + (valueOf(some[0]) === null ? 0 : 1)));
        requests.push(command('STRLEN', key));
        wanted.push((r) => expect(r).toBe(valueOf(key)?.length ?? 0));
      }
    });
    const { replies } = await respExchange(server.respPort, Buffer.concat(requests), requests.length);
    expect(replies.length).toBe(requests.length);
    replies.forEach((r, i) => wanted[i](r));
  });

  it('EXEC answers its queued reads in order, deferred parts inside the array', async () => {
    const { replies } = await respExchange(server.respPort, Buffer.concat([
      command('MULTI'), command('GET', 'key:5'), command('MGET', 'key:1', 'nope', 'key:6'), command('GETRANGE', 'key:5', '0', '9'),
      command('TYPE', 'key:3'), command('TTL', 'nope'), command('EXISTS', 'key:1', 'nope'), command('EXEC'), command('PING'),
    ]), 9);
    expect(replies.slice(0, 7).map(text)).toEqual(['OK', 'QUEUED', 'QUEUED', 'QUEUED', 'QUEUED', 'QUEUED', 'QUEUED']);
    const exec = replies[7] as Reply[];
    expect((exec[0] as Buffer).equals(valueOf(Buffer.from('key:5')) as Buffer)).toBe(true);
    const mget = exec[1] as Reply[];
    expect((mget[0] as Buffer).equals(valueOf(Buffer.from('key:1')) as Buffer)).toBe(true);
    expect(mget[1]).toBeNull();
    expect((mget[2] as Buffer).equals(valueOf(Buffer.from('key:6')) as Buffer)).toBe(true);
    expect((exec[2] as Buffer).equals((valueOf(Buffer.from('key:5')) as Buffer).subarray(0, 10))).toBe(true);
    expect(exec.slice(3).map(text)).toEqual(['string', '-2', '1']);
    expect(text(replies[8])).toBe('PONG');
  });

  it('a SCAN iteration returns every key exactly once; RANDOMKEY returns a key of the file', async () => {
    const seen = new Map<string, number>();
    let cursor = '0';
    for (let calls = 0; calls < 10_000; calls++) {
      const { replies } = await respExchange(server.respPort, command('SCAN', cursor, 'COUNT', '200'), 1);
      const [next, keys] = replies[0] as [Buffer, Buffer[]];
      for (const k of keys) seen.set(k.toString('latin1'), (seen.get(k.toString('latin1')) ?? 0) + 1);
      cursor = next.toString();
      if (cursor === '0') break;
    }
    expect(seen.size).toBe(RECORDS.length);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    for (let i = 0; i < 5; i++) {
      const { replies } = await respExchange(server.respPort, command('RANDOMKEY'), 1);
      expect(expected.has((replies[0] as Buffer).toString('latin1'))).toBe(true);
    }
  });

  it('INFO names the tier on both ports', async () => {
    const info = await serverInfo(server.port);
    expect(info.storage).toBe(tier);
    // The thread-pool path really ran: every hit above was a read.
    if (env.ROKV_DISK_NO_CACHE) expect(info.disk_reads).toBeGreaterThan(1500);
    const { replies } = await respExchange(server.respPort, command('INFO', 'rokv'), 1);
    expect(text(replies[0])).toMatch(new RegExp(`\\r\\nstorage:${tier}\\r\\n`));
  });
});

describe.each(TIERS)('--storage %s: versions, workers and damage', (tier) => {
  it.each([1, 2])('a hot swap under load with %i event loop(s): every answer from v1 or v2, never back; old descriptors closed', async (workers) => {
    const dir = tempDir();
    const live = path.join(dir, 'live.data');
    const version = (v: string): Pair[] => Array.from({ length: 500 }, (_, i) => [`k${i}`, `${v}:${i}:${'x'.repeat(i % 5000)}`]);
    packRecords(version('v1'), live);
    const server = await startServer(live, ['--storage', tier, '--workers', String(workers)]);
    const client = await RawClient.connect(server.port);
    let swapped = false;
    const answers: string[] = [];
    for (let round = 0; round < 30; round++) {
      if (round === 10) {
        packRecords(version('v2'), `${live}.next`);
        fs.renameSync(`${live}.next`, live);
        server.process.kill('SIGHUP');
      }
      client.received = Buffer.alloc(0);
      client.socket.write(Buffer.concat(Array.from({ length: 50 }, (_, i) => frame(GET, `k${(round * 50 + i) % 500}`))));
      const frames = await client.frames(50);
      for (const f of frames) answers.push(f.payload.toString().split(':')[0]);
      if (server.stderr().includes('reloaded')) swapped = true;
      await new Promise((r) => setTimeout(r, 30));
    }
    client.socket.destroy();
    expect(swapped).toBe(true);
    expect(answers.every((a) => a === 'v1' || a === 'v2')).toBe(true);
    expect(answers.lastIndexOf('v1')).toBeLessThan(answers.indexOf('v2') === -1 ? Infinity : answers.length);
    const firstV2 = answers.indexOf('v2');
    expect(firstV2).toBeGreaterThan(0);
    expect(answers.slice(firstV2).every((a) => a === 'v2')).toBe(true);
    // The old version's descriptor is closed once no loop needs it: the disk tier reads
    // through one; mmap keeps one only for loops started later (the worker pool's); memory none.
    const expected = tier === 'disk' || (tier === 'mmap' && workers > 1) ? 1 : 0;
    const openData = () => fs.readdirSync(`/proc/${server.process.pid}/fd`).filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/${server.process.pid}/fd/${fd}`).includes('live.data');
      } catch {
        return false;
      }
    }).length;
    const deadline = Date.now() + 5000;
    while (openData() > expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(openData()).toBe(expected);
    expect(await server.stop()).toBe(0);
  });

  it('a worker that dies is restarted on the current version and serves it', async () => {
    const file = packRecords([['a', 'A'], ['b', 'B']]);
    const server = await startServer(file, ['--storage', tier, '--workers', '2'], { ROKV_TEST_FAULTS: '1' });
    server.process.kill('SIGUSR2');
    const deadline = Date.now() + 10_000;
    while (!/restarted/.test(server.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(server.stderr()).toMatch(/event loop [12] of 2 restarted/);
    for (let i = 0; i < 8; i++) {
      const client = await RawClient.connect(server.port);
      client.socket.write(Buffer.concat([frame(GET, 'a'), frame(GET, 'b'), frame(GET, 'c')]));
      const frames = await client.frames(3);
      client.socket.destroy();
      expect(frames.map((f) => `${f.status}${f.payload}`)).toEqual(['0A', '0B', '1']);
    }
    expect(await server.stop()).toBe(0);
  });

  it('a damaged file is refused at start with one line, and on reload the old version keeps serving', async () => {
    const dir = tempDir();
    const good = packRecords([['a', '1'], ['b', '2'], ['c', '3']], path.join(dir, 'good.data'));
    const bad = Buffer.from(fs.readFileSync(good));
    bad[140] ^= 0x20; // inside the records
    fs.writeFileSync(path.join(dir, 'bad.data'), bad);
    const run = runBin('server', [path.join(dir, 'bad.data'), '--port', '0', '--storage', tier]);
    expect(run.status).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/bad\.data: records checksum mismatch/);
    const server = await startServer(good, ['--storage', tier]);
    fs.writeFileSync(`${good}.next`, bad);
    fs.renameSync(`${good}.next`, good);
    server.process.kill('SIGHUP');
    const deadline = Date.now() + 5000;
    while (!/refused/.test(server.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(server.stderr()).toMatch(/reload of .*good\.data refused \(SIGHUP\): .*records checksum mismatch/);
    const client = await RawClient.connect(server.port);
    client.socket.write(frame(GET, 'b'));
    const [reply] = await client.frames(1);
    client.socket.destroy();
    expect(reply.payload.toString()).toBe('2');
    expect(await server.stop()).toBe(0);
  });
});

describe('parsing --storage', () => {
  it('an unknown tier is one line and exit 2', () => {
    const run = runBin('server', ['whatever.data', '--storage', 'tape']);
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toMatch(/^server: .*"tape" is not one of memory, mmap, disk; see --help$/);
  });
});

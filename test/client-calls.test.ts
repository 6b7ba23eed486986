// The client library's calls against a real bin/server on an ephemeral port: a call
// with a bad key (not a string or bytes, or over the protocol's 65,535-byte limit) is
// refused on its own, before anything is queued or sent, and the other calls on that
// connection (in flight before it, pipelined after it) get their own answers. The
// same for the cluster client, which must not take a bad key for a dead server.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient, MAX_REQUEST_PAYLOAD, type RokvConnection, connect, readClusterMap } from '../src/index.ts';
import { type Pair, packRecords, runBin, tempDir } from './helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

const records: Pair[] = Array.from({ length: 200 }, (_, i) => [`key-${i}`, `value-${i}`]);
const keys = records.map(([k]) => k as string);
const BAD_KEYS: [string, unknown][] = [['null', null], ['undefined', undefined], ['a number', 123], ['an object', {}], ['a boolean', true], ['an array', [1, 2, 3]]];
const TOO_LONG = Buffer.alloc(MAX_REQUEST_PAYLOAD + 1, 0x61);

/** The answers (value text, null, or the error's message) of calls made now, collected as they settle. */
function answers(calls: Promise<Buffer | null>[]): Promise<(string | null)[]> {
  return Promise.allSettled(calls).then((settled) => settled.map((s) => (s.status === 'fulfilled' ? s.value?.toString() ?? null : `rejected: ${(s.reason as Error).message}`)));
}

/** The error a call rejected with (a call that resolves fails the test). */
function failure(call: Promise<unknown>): Promise<Error> {
  return call.then((value) => new Error(`resolved with ${String(value)} instead of rejecting`), (error: Error) => error);
}

/** Asserts every key's answer is its own value (the 3 s response timeout turns a hang into a failure). */
async function expectOwnValues(got: Promise<(string | null)[]>, of: string[]): Promise<void> {
  expect(await got).toEqual(of.map((k) => `value-${k.slice(4)}`));
}

describe('RokvConnection: a bad key fails its own call only', () => {
  let server: RunningServer;
  let db: RokvConnection;
  beforeAll(async () => {
    server = await startServer(packRecords(records));
  });
  afterAll(async () => {
    await server.stop();
  });

  for (const [name, bad] of BAD_KEYS) {
    it(`get(${name}) rejects with a TypeError, and every later pipelined get answers its own key`, async () => {
      db = await connect({ port: server.port, timeoutMs: 3000 });
      const before = answers(keys.slice(0, 5).map((k) => db.get(k)));
      const refused = failure(db.get(bad as string));
      const after = answers(keys.slice(5, 25).map((k) => db.get(k)));
      await expectOwnValues(before, keys.slice(0, 5));
      await expectOwnValues(after, keys.slice(5, 25));
      const error = await refused;
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/key must be a string or bytes \(a Buffer or Uint8Array\), not /);
      await db.close();
    });
  }

  it('a key over 65,535 bytes rejects with a RangeError naming the limit, sends nothing, and the calls in flight are answered', async () => {
    db = await connect({ port: server.port, timeoutMs: 3000 });
    const before = answers(keys.slice(0, 50).map((k) => db.get(k)));
    const refused = failure(db.get(TOO_LONG));
    const after = answers(keys.slice(50, 100).map((k) => db.get(k)));
    await expectOwnValues(before, keys.slice(0, 50));
    await expectOwnValues(after, keys.slice(50, 100));
    const error = await refused;
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toMatch(/key is 65,536 bytes; the protocol's limit is 65,535/);
    // A string is measured in UTF-8 bytes: 21,846 characters, 65,538 bytes.
    await expect(db.get('€'.repeat(21_846))).rejects.toThrow(RangeError);
    // The limit itself is a valid request: answered (not found), the connection intact.
    expect(await db.get(Buffer.alloc(MAX_REQUEST_PAYLOAD, 0x61))).toBeNull();
    expect((await db.get('key-7'))?.toString()).toBe('value-7');
    await db.close();
  });

  it('send() refuses a payload that is not bytes, or too long, the same way', async () => {
    db = await connect({ port: server.port, timeoutMs: 3000 });
    const before = db.get('key-1');
    await expect(db.send(1, null as unknown as Uint8Array)).rejects.toThrow(TypeError);
    await expect(db.ping(TOO_LONG)).rejects.toThrow(RangeError);
    const after = db.get('key-2');
    expect((await before)?.toString()).toBe('value-1');
    expect((await after)?.toString()).toBe('value-2');
    expect((await db.ping('x')).toString()).toBe('x');
    await db.close();
  });
});

describe('ClusterClient: a bad key fails its own call, and no server is taken for down', () => {
  let servers: RunningServer[] = [];
  let dir: string;
  beforeAll(async () => {
    dir = path.join(tempDir(), 'cluster');
    const run = runBin('shard', [packRecords(records), '--shards', '2', '-o', dir]);
    expect(run.status, run.stderr).toBe(0);
    servers = await Promise.all([0, 1].map((i) => startServer(path.join(dir, `shard-${i}.data`), ['--cluster', path.join(dir, 'cluster.json')])));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('TypeError for a key that is not a string or bytes, RangeError over 65,535 bytes; the other calls are answered', async () => {
    const map = readClusterMap(path.join(dir, 'cluster.json'));
    const cluster = await ClusterClient.connect(map, servers.map((s) => ({ host: '127.0.0.1', port: s.port })), { timeoutMs: 3000 });
    const before = answers(keys.slice(0, 50).map((k) => cluster.get(k)));
    const refused = [...BAD_KEYS.map(([, bad]) => failure(cluster.get(bad as string))), failure(cluster.get(TOO_LONG))];
    const after = answers(keys.slice(50, 200).map((k) => cluster.get(k)));
    await expectOwnValues(before, keys.slice(0, 50));
    await expectOwnValues(after, keys.slice(50, 200));
    expect(cluster.up).toBe(2);
    expect(cluster.failovers).toBe(0);
    const errors = await Promise.all(refused);
    for (const error of errors.slice(0, -1)) expect(error).toBeInstanceOf(TypeError);
    expect(errors.at(-1)).toBeInstanceOf(RangeError);
    expect(errors.at(-1)?.message).toMatch(/limit is 65,535/);
    await cluster.close();
  });
});

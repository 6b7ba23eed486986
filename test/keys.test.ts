// KEYS pattern on the RESP port, in every storage tier: the same keys as redis-server
// 7.0.15 answers for the same data (compared byte for byte, the order aside), a
// 20 MB KEYS * to a client that does not read held to the output budgets while a
// bystander is answered, one data version per reply across a hot swap, and the disk
// tier's own descriptor given back whether the reply ends or its client leaves.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataFile } from '../src/format/load.ts';
import { freePort, startUntil, stop } from '../tools/bench/processes.ts';
import { loadRedis } from '../tools/bench/redis.ts';
import { type Pair, packRecords, tempDir } from './helpers.ts';
import { type Reply, command, parseReplies, respExchange } from './resp-helpers.ts';
import { RawClient, type RunningServer, serverInfo, startServer } from './server-helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = tempDir();

/** Keys that tell glob rules apart: classes, ranges, escapes, `?`, bytes ≥ 0x80. */
const PATTERN_KEYS: (string | Buffer)[] = [
  'key:a', 'key:b', 'key:c', 'key:d', 'key:ab', 'key:', 'a*b', 'axb', 'what?', 'hello', 'hallo', 'hxllo', '[x]', 'x',
  'brack]et', 'k\\e', 'user:1:name', 'user:22:name', Buffer.from([0xff, 0x01]), Buffer.from([0x80, 0x61]), Buffer.from([0x61, 0x00, 0x62]),
];
const PATTERNS: (string | Buffer)[] = [
  '*', 'key:*', 'key:?', 'key:??', 'key:[a-c]', 'key:[c-a]', 'key:[^a]', 'key:[^a-c]*', 'a\\*b', 'a*b', '*\\?', 'h[ae]llo', 'h?llo',
  '\\[x\\]', '[[]x]', '*]*', 'k\\\\e', 'user:*:name', 'user:?:name', 'nomatch', 'x', '?', '[', 'key:[', Buffer.from([0xff, 0x2a]),
  Buffer.from([0x2a, 0x00, 0x2a]), '**', 'key:[a-]', '',
];

/** A reply's bytes with its bulk strings in sorted order: equal for two replies of the same keys in any order. */
function sortedReply(raw: Buffer): Buffer {
  const { replies, rest } = parseReplies(raw);
  expect(rest).toBe(0);
  expect(replies).toHaveLength(1);
  const keys = (replies[0] as Buffer[]).slice().sort(Buffer.compare);
  return Buffer.concat([Buffer.from(`*${keys.length}\r\n`), ...keys.map((k) => Buffer.concat([Buffer.from(`$${k.length}\r\n`), k, Buffer.from('\r\n')]))]);
}

async function keysReply(port: number, pattern: string | Buffer): Promise<Buffer> {
  return (await respExchange(port, command('KEYS', pattern), 1)).raw;
}

/** Files each tier's servers serve: the pattern keys, and 100,000 records with 200-byte keys (a 20 MB KEYS * reply). */
const patternFile = packRecords(PATTERN_KEYS.map((k, i) => [k, `v${i}`] as Pair), path.join(dir, 'patterns.data'));
const BIG = 100_000;
const bigKey = (prefix: string, i: number) => `${prefix}:${i}:`.padEnd(200, 'k');
const bigFile = packRecords(Array.from({ length: BIG }, (_, i) => [bigKey('old', i), String(i)] as Pair), path.join(dir, 'big.data'));
const newFile = packRecords(Array.from({ length: 1000 }, (_, i) => [bigKey('new', i), String(i)] as Pair), path.join(dir, 'new.data'));

let redisPort = 0;
let redis: Awaited<ReturnType<typeof startUntil>> | null = null;
beforeAll(async () => {
  // A user restricted to key:* — Redis 7 does not filter KEYS by key patterns.
  const acl = path.join(dir, 'users.acl');
  fs.writeFileSync(acl, 'user default on nopass ~* +@all\nuser alice on >secret ~key:* +@all\n');
  redisPort = await freePort();
  redis = await startUntil('redis-server', [
    '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--aclfile', acl,
  ], /Ready to accept connections/);
  await loadRedis(redisPort, loadDataFile(patternFile));
}, 30_000);
afterAll(async () => {
  if (redis !== null) await stop(redis.child);
});

const TIERS: [string, string, Record<string, string>][] = [
  ['memory', 'memory', {}], ['mmap', 'mmap', {}], ['disk', 'disk', {}], ['disk, every record read', 'disk', { ROKV_DISK_NO_CACHE: '1' }],
];

describe.each(TIERS)('KEYS, %s tier', (name, tier, env) => {
  let small: RunningServer;
  let big: RunningServer;
  const live = path.join(dir, `live-${name.replace(/\W+/g, '-')}.data`);
  beforeAll(async () => {
    fs.copyFileSync(bigFile, live);
    small = await startServer(patternFile, ['--resp-port', '0', '--storage', tier, '--aclfile', path.join(dir, 'users.acl')], env);
    big = await startServer(live, ['--resp-port', '0', '--storage', tier], env);
  }, 30_000);
  afterAll(async () => {
    expect(await small.stop()).toBe(0);
    expect(await big.stop()).toBe(0);
  });

  it('answers every pattern with the keys redis-server 7.0.15 answers, byte for byte but for the order', async () => {
    for (const pattern of PATTERNS) {
      const [ours, theirs] = await Promise.all([keysReply(small.respPort, pattern), keysReply(redisPort, pattern)]);
      expect(sortedReply(ours).toString('latin1'), String(pattern)).toBe(sortedReply(theirs).toString('latin1'));
    }
    expect((await keysReply(small.respPort, 'nomatch')).toString()).toBe('*0\r\n');
    // In index-slot order: SCAN's order over one full iteration.
    const scanned: Buffer[] = [];
    let cursor = '0';
    do {
      const [next, keys] = (await respExchange(small.respPort, command('SCAN', cursor, 'COUNT', '1000'), 1)).replies[0] as [Buffer, Buffer[]];
      scanned.push(...keys);
      cursor = next.toString();
    } while (cursor !== '0');
    expect((parseReplies(await keysReply(small.respPort, '*')).replies[0] as Buffer[]).map((k) => k.toString('latin1'))).toEqual(scanned.map((k) => k.toString('latin1')));
  });

  it('a user whose key patterns are key:* gets every matching key, as from Redis 7 (KEYS is not filtered by key patterns)', async () => {
    const asAlice = async (port: number) => {
      const { replies, raw } = await respExchange(port, Buffer.concat([command('AUTH', 'alice', 'secret'), command('KEYS', '*')]), 2);
      expect(replies[0]).toBe('OK');
      return sortedReply(raw.subarray(raw.indexOf('\r\n') + 2)).toString('latin1');
    };
    const ours = await asAlice(small.respPort);
    expect(ours).toBe(await asAlice(redisPort));
    expect(parseReplies(Buffer.from(ours, 'latin1')).replies[0]).toHaveLength(PATTERN_KEYS.length);
  });

  /** A connection that sends KEYS * and reads nothing yet. */
  async function keysNotRead(): Promise<RawClient> {
    const client = await RawClient.connect(big.respPort);
    client.socket.pause();
    client.socket.write(command('KEYS', '*'));
    return client;
  }

  /** Reads the whole KEYS * reply of the big file's first version (`*100000`, then 208 bytes a key) from a paused client: its keys. */
  async function readAll(client: RawClient): Promise<string[]> {
    const total = `*${BIG}\r\n`.length + BIG * `$200\r\n\r\n`.length + BIG * 200;
    const chunks: Buffer[] = [client.received];
    let got = client.received.length;
    client.socket.removeAllListeners('data');
    client.socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
    });
    client.socket.resume();
    const deadline = Date.now() + 60_000;
    while (got < total && !client.closed && Date.now() < deadline) await sleep(50);
    client.socket.destroy();
    const { replies, rest } = parseReplies(Buffer.concat(chunks));
    expect(rest).toBe(0);
    expect(replies).toHaveLength(1);
    return (replies[0] as Buffer[]).map((k) => k.toString('latin1'));
  }

  /** The server's open descriptors other than sockets (data files, pipes, …). */
  function files(pid: number): number {
    let n = 0;
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (!fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
      } catch {
        // closed while we looked
      }
    }
    return n;
  }

  /** files(pid), once it is back to `count` (or after 5 s). */
  async function filesSettle(pid: number, count: number): Promise<number> {
    const deadline = Date.now() + 5000;
    while (files(pid) !== count && Date.now() < deadline) await sleep(50);
    return files(pid);
  }

  async function pid(): Promise<number> {
    const info = (await respExchange(big.respPort, command('INFO', 'server'), 1)).replies[0] as Buffer;
    return Number(/process_id:(\d+)/.exec(info.toString())?.[1]);
  }

  it('KEYS * of 100,000 200-byte keys (20 MB) to a client that does not read stays under the output budgets; a PING is answered; then the whole reply arrives', async () => {
    const server = await pid();
    const baseline = files(server);
    const client = await keysNotRead();
    await sleep(1500);
    expect((await serverInfo(big.port)).unsent_bytes).toBeLessThan(4 * 2 ** 20);
    // Answered while the KEYS client has read nothing (so its reply cannot be done): the loop is not held.
    expect((await respExchange(big.respPort, command('PING'), 1)).replies).toEqual(['PONG']);
    const keys = await readAll(client);
    expect(keys).toHaveLength(BIG);
    expect(new Set(keys).size).toBe(BIG);
    const all = new Set(keys);
    for (let i = 0; i < BIG; i++) if (!all.has(bigKey('old', i))) throw new Error(`${bigKey('old', i)} missing`);
    // A client that leaves in the middle: whatever the command held is given back.
    const leaver = await keysNotRead();
    await sleep(500);
    leaver.socket.destroy();
    expect(await filesSettle(server, baseline)).toBe(baseline);
  }, 120_000);

  it('a hot swap in the middle of a KEYS reply: the reply is wholly the version it started on; the next KEYS the new one', async () => {
    const server = await pid();
    const baseline = files(server);
    const client = await keysNotRead();
    await sleep(500);
    const tmp = `${live}.tmp`;
    fs.copyFileSync(newFile, tmp);
    fs.renameSync(tmp, live);
    big.process.kill('SIGHUP');
    const deadline = Date.now() + 30_000;
    while ((await serverInfo(big.port)).reloads < 1) {
      if (Date.now() > deadline) throw new Error('no reload within 30 s');
      await sleep(50);
    }
    const keys = await readAll(client);
    expect(keys).toHaveLength(BIG);
    expect(keys.filter((k) => !k.startsWith('old:'))).toEqual([]);
    expect(new Set(keys).size).toBe(BIG);
    const after = parseReplies(await keysReply(big.respPort, '*')).replies[0] as Reply[];
    expect(after).toHaveLength(1000);
    expect((after as Buffer[]).every((k) => k.toString().startsWith('new:'))).toBe(true);
    // The disk tier: the old version's descriptor and the one KEYS opened are closed (the new version's is open).
    if (tier === 'disk') expect(await filesSettle(server, baseline)).toBe(baseline);
  }, 120_000);
});

describe('KEYS in the command table', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(patternFile, ['--resp-port', '0']);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('COMMAND INFO and DOCS describe KEYS as Redis 7 does; a wrong arity is refused', async () => {
    const [entry] = (await respExchange(server.respPort, command('COMMAND', 'INFO', 'keys'), 1)).replies[0] as Reply[][];
    expect(entry.slice(0, 6)).toEqual([Buffer.from('keys'), 2, ['readonly'], 0, 0, 0]);
    const [name, docs] = (await respExchange(server.respPort, command('COMMAND', 'DOCS', 'keys'), 1)).replies[0] as [Buffer, Buffer[]];
    expect(String(name)).toBe('keys');
    expect(docs.slice(0, 6).map(String)).toEqual(['summary', 'Returns all key names that match a pattern.', 'since', '1.0.0', 'group', 'generic']);
    expect((await respExchange(server.respPort, command('KEYS'), 1)).replies[0]).toEqual({ error: 'ERR wrong number of arguments for \'keys\' command' });
    expect((await respExchange(server.respPort, command('KEYS', 'a', 'b'), 1)).replies[0]).toEqual({ error: 'ERR wrong number of arguments for \'keys\' command' });
  });

  it('inside MULTI, KEYS is queued and answered in EXEC', async () => {
    const { replies } = await respExchange(server.respPort, Buffer.concat([command('MULTI'), command('KEYS', 'key:?'), command('GET', 'x'), command('EXEC')]), 4);
    const [keys, value] = replies[3] as [Buffer[], Buffer];
    expect(keys.map(String).sort()).toEqual(['key:a', 'key:b', 'key:c', 'key:d']);
    expect(String(value)).toBe(`v${PATTERN_KEYS.indexOf('x')}`);
  });
});

// COMMAND INFO's ACL categories and ACL CAT, as redis-server 7.0.15 answers them, for
// every top-level command rokv serves (reads, connection and server commands; the write
// commands it knows only to answer -READONLY are left out): one definition (acl.ts
// categoriesOf) gives both, in Redis's order (KEYS: @keyspace @read @slow @dangerous).

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startUntil, stop } from '../tools/bench/processes.ts';
import { ROOT } from './helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

let rokv: RunningServer;
let redis: Awaited<ReturnType<typeof startUntil>>;
let ours: Redis;
let theirs: Redis;

beforeAll(async () => {
  rokv = await startServer(`${ROOT}/data/fixture.data`, ['--resp-port', '0']);
  const port = await freePort();
  redis = await startUntil('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], /Ready to accept connections/);
  ours = new Redis({ port: rokv.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  theirs = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
}, 60_000);
afterAll(async () => {
  ours?.disconnect();
  theirs?.disconnect();
  expect(await rokv.stop()).toBe(0);
  await stop(redis.child);
});

/** rokv's top-level commands but the write commands (flag `write`: answered -READONLY). */
async function servedCommands(): Promise<string[]> {
  const entries = (await ours.call('COMMAND')) as unknown[][];
  return entries.filter((e) => !(e[2] as string[]).includes('write')).map((e) => String(e[0])).sort();
}

describe('ACL categories against redis-server 7.0.15', () => {
  it('COMMAND INFO lists the same categories, in the same order, for every command rokv serves', async () => {
    const names = await servedCommands();
    expect(names).toContain('keys');
    const differ: string[] = [];
    for (const name of names) {
      const [mine] = (await ours.call('COMMAND', 'INFO', name)) as unknown[][];
      const [redis7] = (await theirs.call('COMMAND', 'INFO', name)) as unknown[][];
      if (redis7 === null) continue; // a command Redis 7.0 lacks (none today)
      if (JSON.stringify(mine[6]) !== JSON.stringify(redis7[6])) differ.push(`${name}: rokv ${mine[6]} vs Redis ${redis7[6]}`);
    }
    expect(differ).toEqual([]);
  });

  it('ACL CAT dangerous and keyspace list, of rokv\'s commands, exactly those Redis lists', async () => {
    const served = new Set(await servedCommands());
    for (const category of ['dangerous', 'keyspace', 'read', 'connection', 'slow', 'fast']) {
      const mine = ((await ours.call('ACL', 'CAT', category)) as string[]).filter((c) => served.has(c)).sort();
      const redis7 = ((await theirs.call('ACL', 'CAT', category)) as string[]).filter((c) => served.has(c)).sort();
      expect(mine, category).toEqual(redis7);
    }
  });
});

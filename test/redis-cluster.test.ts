// rokv as a Redis Cluster: bin/shard --slots with 3 shards × 2 servers, each server
// answering CLUSTER SLOTS/SHARDS/NODES/INFO/KEYSLOT/MYID as Redis 7 does, -MOVED for
// keys it does not serve, -CROSSSLOT across slots, READONLY on replicas; a real
// cluster-aware client (ioredis Cluster) reads every key, and again within seconds
// after a primary is killed mid-run.

import path from 'node:path';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../src/client/cluster-client.ts';
import { type ClusterMap, readClusterMap } from '../src/cluster/map.ts';
import { keySlot } from '../src/cluster/slots.ts';
import { freePorts, mixedRecords, startShardServers } from './cluster-helpers.ts';
import { packRecords, runBin } from './helpers.ts';
import { type Reply, command, respExchange } from './resp-helpers.ts';
import { type RunningServer, serveRecords } from './server-helpers.ts';

/** CLUSTER KEYSLOT as Redis 7.0.15 answered it (redis-server --cluster-enabled yes). */
const REDIS_KEYSLOTS: [string, number][] = [
  ['foo', 12182], ['somekey', 11058], ['foo{hash_tag}', 2515], ['{user1000}.following', 3443], ['{user1000}.followers', 3443],
  ['foo{}{bar}', 8363], ['{}', 15257], ['{a}{b}', 15495], ['foo{{bar}}zap', 4015], ['foo{bar}{zap}', 5061], ['a{', 14311],
  ['}b{c}', 7365], ['123456789', 12739],
];

const records = [...mixedRecords(3000), ...Array.from({ length: 20 }, (_, i) => [Buffer.from(`{user1000}.f${i}`), Buffer.from(`tagged-${i}`)] as [Buffer, Buffer])];
let dir: string;
let map: ClusterMap;
let ports: number[];
let servers: RunningServer[] = [];

beforeAll(async () => {
  ports = await freePorts(6);
  const source = packRecords(records);
  dir = path.join(path.dirname(source), 'slots');
  const run = runBin('shard', [source, '--shards', '3', '--slots', '--replicas', '2',
    '--nodes', ports.map((p) => `127.0.0.1:${p}`).join(','), '-o', dir]);
  expect(run.status, run.stderr).toBe(0);
  map = readClusterMap(path.join(dir, 'cluster.json'));
  servers = await startShardServers(dir, ports.map((respPort, i) => ({ shard: Math.floor(i / 2), respPort })));
  // Wait until every server's probe sees all six live (CLUSTER SLOTS lists both of each shard).
  for (const port of ports) {
    for (let tries = 0; ; tries++) {
      const { replies } = await respExchange(port, command('CLUSTER', 'SLOTS'), 1);
      if ((replies[0] as Reply[][]).every((range) => range.length === 4)) break;
      if (tries > 100) throw new Error('peers never all live');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}, 30_000);
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
});

async function ask(port: number, ...args: string[]): Promise<Reply> {
  return (await respExchange(port, command(...args), 1)).replies[0];
}

/** A record whose key the map puts on `shard`. */
function keyOn(shard: number): [Buffer, Buffer] {
  const [first, last] = map.shards[shard].slots as [number, number];
  return records.find(([k]) => keySlot(k) >= first && keySlot(k) <= last) as [Buffer, Buffer];
}

describe('hash slots', () => {
  it('KEYSLOT matches Redis for plain keys and every hash tag rule', async () => {
    for (const [key, slot] of REDIS_KEYSLOTS) {
      expect(keySlot(Buffer.from(key)), key).toBe(slot);
      expect(await ask(ports[0], 'CLUSTER', 'KEYSLOT', key), key).toBe(slot);
    }
  });

  it('slots are split as redis-cli --cluster create splits them', () => {
    expect(map.shards.map((s) => s.slots)).toEqual([[0, 5460], [5461, 10922], [10923, 16383]]);
  });
});

describe('a slots cluster of 3 shards × 2 servers', () => {
  it('CLUSTER SLOTS: each range with its primary, then its replica, at the map\'s addresses', async () => {
    const reply = await ask(ports[2], 'CLUSTER', 'SLOTS') as Reply[][];
    expect(reply.map((r) => [r[0], r[1], (r[2] as Reply[])[1], (r[3] as Reply[])[1]])).toEqual([
      [0, 5460, ports[0], ports[1]], [5461, 10922, ports[2], ports[3]], [10923, 16383, ports[4], ports[5]],
    ]);
    const node = reply[0][2] as Reply[];
    expect(node[0]?.toString()).toBe('127.0.0.1');
    expect(node[2]?.toString()).toMatch(/^[0-9a-f]{40}$/);
  });

  it('CLUSTER NODES: six lines, bus port + 10000, myself, masters with slots, replicas naming them; MYID agrees', async () => {
    const text = (await ask(ports[3], 'CLUSTER', 'NODES'))?.toString() ?? '';
    const lines = text.trim().split('\n').map((l) => l.split(' '));
    expect(lines).toHaveLength(6);
    const myid = (await ask(ports[3], 'CLUSTER', 'MYID'))?.toString();
    const mine = lines.find((l) => l[2].includes('myself')) as string[];
    expect(mine[0]).toBe(myid);
    expect(mine[1]).toBe(`127.0.0.1:${ports[3]}@${ports[3] + 10_000}`);
    expect(mine[2]).toBe('myself,slave');
    const master = lines.find((l) => l[1].startsWith(`127.0.0.1:${ports[2]}@`)) as string[];
    expect(mine[3]).toBe(master[0]);
    expect(master[2]).toBe('master');
    expect(master[7]).toBe('connected');
    expect(master[8]).toBe('5461-10922');
  });

  it('CLUSTER INFO says ok; INFO says cluster_enabled:1; CLUSTER SHARDS lists slots and nodes', async () => {
    // A peer probe that timed out on a loaded machine (2 s) marks a shard down until the next answer: wait for ok.
    let info = '';
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      info = (await ask(ports[0], 'CLUSTER', 'INFO'))?.toString() ?? '';
      if (info.startsWith('cluster_state:ok\r\n')) break;
    }
    expect(info).toMatch(/^cluster_state:ok\r\n/);
    expect(info).toContain('cluster_slots_assigned:16384\r\n');
    expect(info).toContain('cluster_known_nodes:6\r\n');
    expect(info).toContain('cluster_size:3\r\n');
    expect((await ask(ports[0], 'INFO', 'cluster'))?.toString()).toContain('cluster_enabled:1');
    const shards = await ask(ports[0], 'CLUSTER', 'SHARDS') as Reply[][];
    expect(shards).toHaveLength(3);
    expect(shards[1][0]?.toString()).toBe('slots');
    expect(shards[1][1]).toEqual([5461, 10922]);
    const nodes = shards[1][3] as Reply[][];
    expect(nodes.map((n) => n[3])).toEqual([ports[2], ports[3]]);
    expect(nodes.map((n) => n[9]?.toString())).toEqual(['master', 'replica']);
  });

  it('a key of another shard gets -MOVED naming its primary; the right server answers it', async () => {
    const [key, value] = keyOn(2);
    const slot = keySlot(key);
    const { replies } = await respExchange(ports[0], command('GET', key), 1);
    expect(replies[0]).toEqual({ error: `MOVED ${slot} 127.0.0.1:${ports[4]}` });
    expect((await respExchange(ports[4], command('GET', key), 1)).replies[0]).toEqual(value);
  });

  it('a replica redirects to its primary until the connection sends READONLY; READWRITE undoes it', async () => {
    const [key, value] = keyOn(1);
    const { replies } = await respExchange(ports[3], Buffer.concat([
      command('GET', key), command('READONLY'), command('GET', key), command('READWRITE'), command('GET', key),
    ]), 5);
    expect(replies).toEqual([{ error: `MOVED ${keySlot(key)} 127.0.0.1:${ports[2]}` }, 'OK', value, 'OK', { error: `MOVED ${keySlot(key)} 127.0.0.1:${ports[2]}` }]);
  });

  it('multi-key commands across slots get -CROSSSLOT; keys sharing a {hash tag} are served together', async () => {
    const a = keyOn(0)[0];
    const b = records.find(([k]) => keySlot(k) !== keySlot(a) && keySlot(k) <= 5460)?.[0] as Buffer;
    expect((await respExchange(ports[0], command('MGET', a, b), 1)).replies[0]).toEqual({ error: 'CROSSSLOT Keys in request don\'t hash to the same slot' });
    expect((await respExchange(ports[0], command('EXISTS', a, b), 1)).replies[0]).toEqual({ error: 'CROSSSLOT Keys in request don\'t hash to the same slot' });
    const tagged = await respExchange(ports[0], command('MGET', '{user1000}.f1', '{user1000}.f2', '{user1000}.none'), 1);
    expect(tagged.replies[0]).toEqual([Buffer.from('tagged-1'), Buffer.from('tagged-2'), null]);
  });

  it('ioredis Cluster reads every key through the slot map, following no redirect', async () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: ports[5] }], { enableReadyCheck: true, lazyConnect: false });
    try {
      await new Promise<void>((resolve, reject) => cluster.once('ready', resolve).once('error', reject));
      const values = await Promise.all(records.map(([k]) => cluster.getBuffer(k)));
      const wrong = values.filter((v, i) => !v?.equals(records[i][1]));
      expect(wrong).toHaveLength(0);
      expect(await cluster.get('no-such-key')).toBeNull();
    } finally {
      cluster.disconnect();
    }
  }, 30_000);

  it('rokv\'s own cluster client and bin/client --cluster route every key over the binary ports', async () => {
    const binary = servers.map((s) => ({ host: '127.0.0.1', port: s.port }));
    const client = await ClusterClient.connect(map, binary);
    try {
      const values = await Promise.all(records.map(([k]) => client.get(k)));
      expect(values.filter((v, i) => !v?.equals(records[i][1]))).toHaveLength(0);
      expect(client.failovers).toBe(0);
    } finally {
      await client.close();
    }
    const run = runBin('client', [path.join(dir, '..', 'test.data'), '--cluster', path.join(dir, 'cluster.json'),
      '--servers', binary.map((a) => `127.0.0.1:${a.port}`).join(','), '--requests', '5000', '--clients', '2', '--json']);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.hits).toBe(5000);
    expect(report.errors + report.mismatches).toBe(0);
  });

  it('a primary killed mid-run: ioredis Cluster reads every key again within seconds, from the replica', async () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: ports[0] }], { enableReadyCheck: true });
    cluster.on('error', () => {});
    try {
      await new Promise<void>((resolve) => cluster.once('ready', resolve));
      const keys = records.map(([k]) => k);
      let errors = 0;
      let killedAt = 0;
      let lastFailureAt = 0;
      const kill = new Promise((r) => setTimeout(r, 300)).then(() => {
        killedAt = Date.now();
        return servers[2].stop('SIGKILL'); // shard 1's primary
      });
      while (killedAt === 0 || Date.now() - killedAt < 4000) {
        const results = await Promise.allSettled(keys.map((k) => cluster.getBuffer(k)));
        results.forEach((r, i) => {
          if (r.status === 'rejected') {
            errors++;
            lastFailureAt = Date.now();
          } else {
            expect(r.value?.equals(records[i][1]), `key ${keys[i].toString('hex')}`).toBe(true);
          }
        });
      }
      await kill;
      const failedFor = lastFailureAt === 0 ? 0 : lastFailureAt - killedAt;
      expect(failedFor).toBeLessThan(3000);
      const after = await Promise.all(keys.map((k) => cluster.getBuffer(k)));
      expect(after.filter((v, i) => !v?.equals(records[i][1]))).toHaveLength(0);
      // The live servers now list shard 1's replica first and call the dead one failed.
      const slots = await ask(ports[0], 'CLUSTER', 'SLOTS') as Reply[][];
      expect(slots[1].slice(2).map((n) => (n as Reply[])[1])).toEqual([ports[3]]);
      expect((await ask(ports[0], 'CLUSTER', 'NODES'))?.toString()).toMatch(new RegExp(`127\\.0\\.0\\.1:${ports[2]}@\\d+ slave,fail `));
      console.log(`Redis Cluster failover (ioredis): ${errors} failed reads, the last ${failedFor} ms after the kill`);
    } finally {
      cluster.disconnect();
    }
  }, 60_000);
});

describe('without a slots map', () => {
  const shared = serveRecords([['k', 'v']], ['--resp-port', '0']);
  it('CLUSTER and READONLY answer as a Redis without cluster support', async () => {
    const { replies } = await respExchange(shared.server.respPort, Buffer.concat([command('CLUSTER', 'SLOTS'), command('READONLY'), command('CLUSTER', 'KEYSLOT', 'foo'), command('GET', 'k')]), 4);
    const disabled = { error: 'ERR This instance has cluster support disabled' };
    expect(replies).toEqual([disabled, disabled, disabled, Buffer.from('v')]);
  });
});

// Scale-out: the ketama ring bit for bit as twemproxy computes it, the slot split,
// bin/shard, servers checking their cluster map, rokv's cluster client routing every
// key (ketama and slots), failover with a server killed mid-run, and --workers.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { ClusterClient } from '../src/client/cluster-client.ts';
import crypto from 'node:crypto';
import { KetamaRing, fnv1a64, ketamaPointsPerServer } from '../src/cluster/ketama.ts';
import { placementOf, readClusterMap } from '../src/cluster/map.ts';
import { splitSlots } from '../src/cluster/slots.ts';
import { type Pair, ROOT, packRecords, runBin, tempDir } from './helpers.ts';
import { startShardedCluster } from './cluster-helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

const keys = Array.from({ length: 20_000 }, (_, i) => Buffer.from(`key-${(i * 2654435761) % 4_294_967_291}-${i}`));

/**
 * twemproxy's continuum built the plain way, as ketama_update does for a set of live
 * servers: every live server's points (as many as the live count gives), sorted stably.
 */
function referenceOwner(key: Buffer, live: number[]): number {
  const points: [number, number][] = [];
  const perServer = ketamaPointsPerServer(live.length);
  for (const s of live) {
    for (let j = 0; j < perServer / 4; j++) {
      const digest = crypto.createHash('md5').update(`shard-${s}-${j}`).digest();
      for (let x = 0; x < 4; x++) points.push([digest.readUInt32LE(4 * x), s]);
    }
  }
  points.sort((p, q) => p[0] - q[0]);
  const hash = fnv1a64(key);
  return (points.find((p) => p[0] >= hash) ?? points[0])[1];
}

describe('ketama ring (twemproxy 0.5 on x86-64)', () => {
  it('fnv1a_64 as nc_fnv.c computes it, bytes ≥ 0x80 sign-extended (values from a C build of that function)', () => {
    expect(fnv1a64(Buffer.from('foo')).toString(16)).toBe('fed9d577');
    expect(fnv1a64(Buffer.from('fixture-00')).toString(16)).toBe('a20f7575');
    expect(fnv1a64(Buffer.from('key:000001')).toString(16).padStart(8, '0')).toBe('0f5906a5');
    expect(fnv1a64(Buffer.from([0x80, 0xff, 0x61, 0xc3, 0xa9])).toString(16)).toBe('6b3a899b');
  });

  it('points per server as nc_ketama.c\'s float arithmetic gives them (values from a C build of that expression)', () => {
    const odd = [25, 47, 50, 55, 61, 71, 94, 100, 107, 109, 110, 115, 122, 142, 159, 163, 188, 193, 200, 209, 214, 218, 219, 220, 230, 237, 243, 244, 279, 284, 293, 299];
    for (let n = 1; n <= 300; n++) expect(ketamaPointsPerServer(n), `${n} servers`).toBe(odd.includes(n) ? 156 : 160);
  });

  it('owners and replicas are those of the continuum rebuilt without the owners before them', () => {
    for (const n of [3, 25, 26]) {
      const ring = new KetamaRing(n);
      for (const key of keys.slice(0, 300)) {
        const replicas = ring.replicasOf(key, 3);
        expect(replicas[0]).toBe(ring.ownerOf(key));
        const live = Array.from({ length: n }, (_, i) => i);
        for (const owner of replicas) {
          expect(owner).toBe(referenceOwner(key, live));
          live.splice(live.indexOf(owner), 1);
        }
      }
    }
  });

  it('spreads varied keys evenly over the shards', () => {
    const ring = new KetamaRing(3);
    const counts = [0, 0, 0];
    for (const key of keys) counts[ring.ownerOf(key)]++;
    expect(Math.max(...counts) / (keys.length / 3)).toBeLessThan(1.25);
    expect(Math.min(...counts) / (keys.length / 3)).toBeGreaterThan(0.75);
  });

  it('going from N to N + 1 shards moves about 1/(N + 1) of the keys, all to the new shard', () => {
    for (const n of [2, 3, 5]) {
      const before = new KetamaRing(n);
      const after = new KetamaRing(n + 1);
      let moved = 0;
      for (const key of keys) {
        const owner = after.ownerOf(key);
        if (owner !== before.ownerOf(key)) {
          moved++;
          expect(owner).toBe(n);
        }
      }
      expect(moved / keys.length).toBeGreaterThan(0.6 / (n + 1));
      expect(moved / keys.length).toBeLessThan(1.4 / (n + 1));
    }
  });
});

describe('slot split', () => {
  it('contiguous ranges covering every slot, as redis-cli --cluster create makes them', () => {
    expect(splitSlots(3)).toEqual([[0, 5460], [5461, 10922], [10923, 16383]]);
    expect(splitSlots(1)).toEqual([[0, 16383]]);
    for (let n = 1; n <= 64; n++) {
      const ranges = splitSlots(n);
      expect(ranges[0][0]).toBe(0);
      expect(ranges[n - 1][1]).toBe(16383);
      ranges.forEach(([first, last], i) => {
        expect(last).toBeGreaterThanOrEqual(first);
        if (i > 0) expect(first).toBe(ranges[i - 1][1] + 1);
      });
    }
  });
});

describe('a sharded cluster', () => {
  const records: Pair[] = Array.from({ length: 3000 }, (_, i) => [`${i}:key`, `value-${i}`]);
  let source: string;
  let dir: string;
  let servers: RunningServer[] = [];

  beforeAll(async () => {
    let shardRun: { stdout: string };
    ({ source, dir, servers, shardRun } = await startShardedCluster(records, 3, ['--replicas', '2', '--json']));
    const report = JSON.parse(shardRun.stdout);
    expect(report.keys_per_shard.reduce((a: number, b: number) => a + b, 0)).toBe(3000);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  const addresses = () => servers.map((s) => ({ host: '127.0.0.1', port: s.port }));

  it('each shard holds its keys and their replicas; INFO names shard and map', async () => {
    const map = readClusterMap(path.join(dir, 'cluster.json'));
    expect(map.shards.reduce((a, s) => a + s.records, 0)).toBe(6000); // 2 copies of each key
    const c = await connect({ port: servers[1].port });
    const info = await c.info();
    expect(info.shard).toBe(1);
    expect(info.cluster).toBe(map.id);
    await c.close();
  });

  it('the cluster client routes every key to a shard that has it', async () => {
    const map = readClusterMap(path.join(dir, 'cluster.json'));
    const cluster = await ClusterClient.connect(map, addresses());
    const values = await Promise.all(records.map(([k]) => cluster.get(k)));
    values.forEach((v, i) => expect(v?.toString()).toBe(`value-${i}`));
    expect(await cluster.get('absent')).toBeNull();
    expect(cluster.failovers).toBe(0);
    // Each key really lives on its owners: asking them directly finds it.
    const placement = placementOf(map);
    const direct = await Promise.all(servers.map((s) => connect({ port: s.port })));
    for (const [k, v] of records.slice(0, 300)) {
      for (const shard of placement.shardsOf(Buffer.from(k))) expect((await direct[shard].get(k))?.toString()).toBe(v);
    }
    await Promise.all(direct.map((d) => d.close()));
    await cluster.close();
  });

  it('refuses a map that does not match: wrong server order, a file from another map', async () => {
    const map = readClusterMap(path.join(dir, 'cluster.json'));
    const swapped = addresses();
    [swapped[0], swapped[1]] = [swapped[1], swapped[0]];
    await expect(ClusterClient.connect(map, swapped)).rejects.toThrow(/serves shard 1 of cluster .*, expected shard 0/);
    const other = path.join(tempDir(), 'other');
    expect(runBin('shard', [source, '--shards', '2', '-o', other]).status).toBe(0);
    const refused = runBin('server', [path.join(other, 'shard-0.data'), '--cluster', path.join(dir, 'cluster.json'), '--port', '0']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/shard-0\.data does not match shard 0 of cluster/);
    const edited = path.join(other, 'edited.json');
    fs.writeFileSync(edited, fs.readFileSync(path.join(dir, 'cluster.json'), 'utf8').replace('"replicas": 2', '"replicas": 1'));
    expect(runBin('server', [path.join(dir, 'shard-0.data'), '--cluster', edited]).stderr).toMatch(/does not match its content/);
  });

  it('with 2 replicas, killing one of three servers mid-run loses no answers', async () => {
    const victimIndex = 2;
    const args = [source, '--cluster', path.join(dir, 'cluster.json'), '--servers', addresses().map((a) => `127.0.0.1:${a.port}`).join(','),
      '--duration', '3', '--clients', '4', '--pipeline', '4', '--json'];
    const run = new Promise<{ status: number | null; stdout: string }>((resolve) => {
      const child = spawn(path.join(ROOT, 'bin', 'client'), args);
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      child.on('exit', (status) => resolve({ status, stdout }));
    });
    await new Promise((r) => setTimeout(r, 1500));
    await servers[victimIndex].stop('SIGKILL');
    const { status, stdout } = await run;
    const r = JSON.parse(stdout);
    expect(r.errors).toBe(0);
    expect(r.mismatches).toBe(0);
    expect(r.failovers).toBeGreaterThan(0);
    expect(r.hits).toBeGreaterThan(1000);
    expect(status).toBe(0);
  });
});

describe('--workers', () => {
  it('N event loops share one port and one copy of the data; INFO counts all loops', async () => {
    const records: Pair[] = Array.from({ length: 1000 }, (_, i) => [`w${i}`, `v${i}`]);
    const server = await startServer(packRecords(records), ['--workers', '2']);
    const clients = await Promise.all(Array.from({ length: 8 }, () => connect({ port: server.port })));
    let asked = 0;
    for (const c of clients) {
      for (let i = 0; i < 100; i++) {
        expect((await c.get(`w${i}`))?.toString()).toBe(`v${i}`);
        asked++;
      }
    }
    const info = await clients[0].info();
    expect(info.workers).toBe(2);
    expect(info.requests).toBe(asked + 1);
    expect(info.connections).toBe(8);
    await Promise.all(clients.map((c) => c.close()));
    expect(await server.stop()).toBe(0);
  });
});

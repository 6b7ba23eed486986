// Scale-out: the ring's placement, bin/shard, servers checking their cluster map,
// routing every key, failover with a server killed mid-run, and --workers.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { ClusterClient } from '../src/cluster/cluster-client.ts';
import { readClusterMap } from '../src/cluster/map.ts';
import { Ring } from '../src/cluster/ring.ts';
import { type Pair, ROOT, packRecords, runBin, tempDir } from './helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

const keys = Array.from({ length: 20_000 }, (_, i) => Buffer.from(`key-${i}`));

describe('ring', () => {
  it('places keys the same way every time and spreads them evenly', () => {
    const a = new Ring(3);
    const b = new Ring(3);
    const counts = [0, 0, 0];
    for (const key of keys) {
      expect(a.ownerOf(key)).toBe(b.ownerOf(key));
      counts[a.ownerOf(key)]++;
    }
    expect(Math.max(...counts) / (keys.length / 3)).toBeLessThan(1.2);
    expect(Math.min(...counts) / (keys.length / 3)).toBeGreaterThan(0.8);
  });

  it('replicas are the owner then distinct shards clockwise', () => {
    const ring = new Ring(5);
    for (const key of keys.slice(0, 2000)) {
      const replicas = ring.replicasOf(key, 3);
      expect(replicas[0]).toBe(ring.ownerOf(key));
      expect(new Set(replicas).size).toBe(3);
    }
    expect(ring.replicasOf(keys[0], 9)).toHaveLength(5);
  });

  it('going from N to N + 1 shards moves about 1/(N + 1) of the keys, all to the new shard', () => {
    for (const n of [2, 3, 5]) {
      const before = new Ring(n);
      const after = new Ring(n + 1);
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

describe('a sharded cluster', () => {
  const records: Pair[] = Array.from({ length: 3000 }, (_, i) => [`key-${i}`, `value-${i}`]);
  let source: string;
  let dir: string;
  let servers: RunningServer[] = [];

  beforeAll(async () => {
    source = packRecords(records);
    dir = path.join(tempDir(), 'cluster');
    const run = runBin('shard', [source, '--shards', '3', '--replicas', '2', '-o', dir, '--json']);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.keys_per_shard.reduce((a: number, b: number) => a + b, 0)).toBe(3000);
    servers = await Promise.all([0, 1, 2].map((i) => startServer(path.join(dir, `shard-${i}.data`), ['--cluster', path.join(dir, 'cluster.json')])));
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
    // Each key really lives on its owner: asking the owner directly finds it.
    const ring = new Ring(3, map.ring.vnodes, map.ring.seed);
    const direct = await Promise.all(servers.map((s) => connect({ port: s.port })));
    for (const [k, v] of records.slice(0, 300)) expect((await direct[ring.ownerOf(Buffer.from(k))].get(k))?.toString()).toBe(v);
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
    expect(refused.status).toBe(2);
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

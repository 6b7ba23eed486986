// rokv behind real twemproxy (Debian's nutcracker 0.5): bin/shard --ketama writes the
// shards and a nutcracker.yml that twemproxy accepts; twemproxy then finds every key
// on the shard bin/shard put it on (25 shards: 156 points per server; keys with
// bytes ≥ 0x80), and with 2 replicas keeps reading every key after a server dies.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readClusterMap } from '../src/cluster/map.ts';
import { freePorts, mixedRecords, nutcrackerPath, type Proxy, respGetAll, startNutcracker, startShardServers } from './cluster-helpers.ts';
import { packRecords, runBin, tempDir } from './helpers.ts';
import type { Reply } from './resp-helpers.ts';
import type { RunningServer } from './server-helpers.ts';

/** Everything a test started, stopped when it ends (pass or fail). */
const running: { servers: RunningServer[]; proxies: Proxy[] } = { servers: [], proxies: [] };
afterEach(async () => {
  await Promise.all(running.proxies.splice(0).map((p) => p.stop()));
  await Promise.all(running.servers.splice(0).map((s) => s.stop('SIGKILL')));
});

/** Shards `records` on `shards` servers with ketama and starts them and twemproxy. */
async function ketamaCluster(records: [Buffer, Buffer][], shards: number, replicas: number) {
  const [proxyPort, statsPort, ...respPorts] = await freePorts(shards + 2);
  const dir = path.join(tempDir(), 'ketama');
  const run = runBin('shard', [packRecords(records), '--shards', String(shards), '--ketama', '--replicas', String(replicas),
    '--nodes', respPorts.map((p) => `127.0.0.1:${p}`).join(','), '--proxy-listen', `127.0.0.1:${proxyPort}`, '-o', dir, '--json']);
  expect(run.status, run.stderr).toBe(0);
  const config = path.join(dir, 'nutcracker.yml');
  const check = spawnSync(nutcrackerPath(), ['-t', '-c', config], { encoding: 'utf8' });
  expect(check.status, check.stderr).toBe(0);
  expect(check.stderr).toMatch(/syntax is ok/);
  // twemproxy first: until it binds its two ports they are merely free, and the binary
  // ports startShardServers picks could be one of them (nutcracker then exits 1 and the
  // reads go to a rokv binary port). It connects to the servers only when asked.
  const proxy = await startNutcracker(config, proxyPort, statsPort);
  running.proxies.push(proxy);
  const servers = await startShardServers(dir, respPorts.map((respPort, shard) => ({ shard, respPort })));
  running.servers.push(...servers);
  return { dir, proxyPort, servers, proxy, report: JSON.parse(run.stdout) };
}

function expectValues(replies: Reply[], records: [Buffer, Buffer][]): void {
  const wrong = replies.map((r, i) => (Buffer.isBuffer(r) && r.equals(records[i][1]) ? -1 : i)).filter((i) => i >= 0);
  expect(wrong.length, `first wrong: key ${wrong.length ? records[wrong[0]][0].toString('hex') : ''} got ${JSON.stringify(replies[wrong[0]])}`).toBe(0);
}

describe('twemproxy with bin/shard --ketama', () => {
  it('writes the pool twemproxy needs', async () => {
    const [a, b] = await freePorts(2);
    const dir = tempDir();
    expect(runBin('shard', [packRecords(mixedRecords(10)), '--shards', '2', '--nodes', `127.0.0.1:${a},127.0.0.1:${b}`, '-o', dir]).status).toBe(0);
    const yml = fs.readFileSync(path.join(dir, 'nutcracker.yml'), 'utf8');
    for (const line of ['hash: fnv1a_64', 'distribution: ketama', 'redis: true', 'auto_eject_hosts: true', 'server_failure_limit: 1',
      'listen: 127.0.0.1:22121', `- 127.0.0.1:${a}:1 shard-0`, `- 127.0.0.1:${b}:1 shard-1`]) expect(yml).toContain(line);
    expect(yml).toMatch(/server_retry_timeout: \d{5,}/);
    expect(yml).toMatch(/\n {2}timeout: \d+/);
    expect(yml).not.toContain('hash_tag');
  });

  it('25 shards (156 points per server): twemproxy finds every key where bin/shard put it', async () => {
    const records = mixedRecords(5000);
    const { proxyPort, report } = await ketamaCluster(records, 25, 1);
    // Every shard got keys: a ring that disagreed with twemproxy would answer nil for most.
    expect(report.keys_per_shard.filter((n: number) => n === 0)).toHaveLength(0);
    expectValues(await respGetAll(proxyPort, records.map(([k]) => k)), records);
    // A key that no shard holds is a miss, not an error.
    expect(await respGetAll(proxyPort, [Buffer.from('no-such-key')])).toEqual([null]);
  }, 60_000);

  // 26 live servers have 160 points each, 25 have 156: the second copy must be where
  // twemproxy's rebuilt continuum looks, not merely the next server clockwise.
  it('26 shards × 2 copies: a server killed mid-run, twemproxy ejects it and every key still reads its value', async () => {
    const records = mixedRecords(6000);
    const keys = records.map(([k]) => k);
    const { proxyPort, servers, dir } = await ketamaCluster(records, 26, 2);
    const map = readClusterMap(path.join(dir, 'cluster.json'));
    expect(map.placement).toBe('ketama');
    expectValues(await respGetAll(proxyPort, keys), records);
    // Readers go on through the kill: the requests routed to the dead server in that
    // moment fail (twemproxy's error burst); then it is ejected and its keys go to
    // their second copy. No key may ever read as missing.
    let killedAt = 0;
    let errors = 0;
    let lastFailureAt = 0;
    const kill = new Promise((r) => setTimeout(r, 200)).then(() => {
      killedAt = Date.now();
      return servers[7].stop('SIGKILL');
    });
    while (killedAt === 0 || Date.now() - killedAt < 1500) {
      const replies = await respGetAll(proxyPort, keys);
      const failed = replies.filter((r) => !Buffer.isBuffer(r));
      expect(replies.filter((r) => r === null), 'a key read as missing: the replica is not where twemproxy looks').toHaveLength(0);
      expect(replies.filter((r, i) => Buffer.isBuffer(r) && !r.equals(records[i][1])), 'a key read a wrong value').toHaveLength(0);
      errors += failed.length;
      if (failed.length > 0) lastFailureAt = Date.now();
    }
    await kill;
    expectValues(await respGetAll(proxyPort, keys), records);
    const failedFor = lastFailureAt === 0 ? 0 : lastFailureAt - killedAt;
    expect(failedFor).toBeLessThan(1000);
    console.log(`twemproxy failover: ${errors} failed reads, the last ${failedFor} ms after the kill`);
  }, 60_000);
});

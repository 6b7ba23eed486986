// Cluster maps that lie: a placement that was edited (and its id recomputed) must not
// be served, and absurd parameters (slot ranges with gaps, nodes for the wrong count,
// port 0) are refused by every tool that reads a map, each with one line; so are
// bin/shard parameters that make no sense.

import { STORAGE_TIERS } from '../src/storage/tiers.ts';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mapId } from '../src/cluster/map.ts';
import { ROOT, runBin, tempDir } from './helpers.ts';
import { startServer } from './server-helpers.ts';

const FIXTURE = path.join(ROOT, 'data', 'fixture.data');

/** Shards the fixture (ketama unless `args` say otherwise), edits its map with `edit`, recomputes the id; returns the folder. */
function editedCluster(edit: (map: Record<string, any>) => void, args: string[] = []): string {
  const dir = tempDir();
  const run = runBin('shard', [FIXTURE, '--shards', '3', ...args, '-o', dir]);
  expect(run.status, run.stderr).toBe(0);
  const file = path.join(dir, 'cluster.json');
  const map = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(map);
  const { id: _id, ...body } = map;
  map.id = mapId(body as never);
  fs.writeFileSync(file, JSON.stringify(map));
  return dir;
}

describe('cluster maps', () => {
  it('a ketama map whose placement was changed to slots (id recomputed) is refused by the shard server, naming a misplaced key', () => {
    const dir = editedCluster((map) => {
      map.placement = 'slots';
      map.nodes = [{ host: '127.0.0.1', port: 7001 }, { host: '127.0.0.1', port: 7002 }, { host: '127.0.0.1', port: 7003 }];
      map.shards.forEach((s: { slots: number[] }, i: number) => (s.slots = [[0, 5460], [5461, 10922], [10923, 16383]][i]));
    });
    for (const tier of STORAGE_TIERS) {
      const run = runBin('server', [path.join(dir, 'shard-0.data'), '--cluster', path.join(dir, 'cluster.json'), '--port', '0', '--resp-port', '7001', '--storage', tier]);
      expect(run.status, tier).toBe(1);
      expect(run.stderr.trim(), tier).toMatch(/^server: .*shard-0\.data holds key "fixture-\d+", which cluster \w+ places on shard \d, not shard 0: the map does not describe this file$/);
    }
  });

  it('a slots map whose ranges were shifted (id recomputed) is refused the same way', () => {
    const dir = editedCluster((map) => {
      map.shards[0].slots = [0, 2000];
      map.shards[1].slots = [2001, 10922];
    }, ['--slots', '--nodes', '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003']);
    for (const tier of STORAGE_TIERS) {
      const run = runBin('server', [path.join(dir, 'shard-0.data'), '--cluster', path.join(dir, 'cluster.json'), '--port', '0', '--resp-port', '7001', '--storage', tier]);
      expect(run.status, tier).toBe(1);
      expect(run.stderr, tier).toMatch(/the map does not describe this file/);
    }
  });

  it('the unedited map is served, in every storage tier', async () => {
    const dir = editedCluster(() => {});
    for (const tier of STORAGE_TIERS) {
      const server = await startServer(path.join(dir, 'shard-2.data'), ['--cluster', path.join(dir, 'cluster.json'), '--storage', tier]);
      expect(await server.stop()).toBe(0);
    }
  });

  it('a slots server must be one of its shard\'s servers, and serve RESP', () => {
    const dir = editedCluster(() => {}, ['--slots', '--nodes', '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003']);
    const args = [path.join(dir, 'shard-1.data'), '--cluster', path.join(dir, 'cluster.json'), '--port', '0'];
    expect(runBin('server', args).stderr.trim()).toMatch(/^server: cluster \w+ places keys on hash slots: serve it with --resp-port \(shard 1 is served at 127\.0\.0\.1:7002\)$/);
    expect(runBin('server', [...args, '--resp-port', '7001']).stderr.trim()).toMatch(/^server: 127\.0\.0\.1:7001 is not one of shard 1's servers in cluster \w+ \(127\.0\.0\.1:7002\): check --resp-port, or name the node with --cluster-node$/);
  });

  const absurd: [string, (map: Record<string, any>) => void, RegExp][] = [
    ['an unknown placement', (m) => (m.placement = 'modulo'), /is not a rokv cluster map \(version 2, placement ketama or slots\)/],
    ['more replicas than shards', (m) => (m.replicas = 9), /absurd cluster map: replicas 9 \(1 to 3\)/],
    ['a fractional record count', (m) => (m.shards[0].records = 1.5), /absurd cluster map: a shard's records/],
    ['nodes for the wrong count', (m) => (m.nodes = [{ host: '127.0.0.1', port: 1 }]), /absurd cluster map: 1 nodes for 3 shards \(3 wanted\)/],
    ['a node on port 0', (m) => (m.nodes = [1, 2, 3].map((i) => ({ host: '127.0.0.1', port: i - 1 }))), /absurd cluster map: node \{"host":"127\.0\.0\.1","port":0\}/],
    ['a node listed twice', (m) => (m.nodes = [1, 1, 2].map((port) => ({ host: 'h', port }))), /absurd cluster map: node h:1 listed twice/],
    ['slot ranges with a gap', (m) => {
      m.placement = 'slots';
      m.replicas = 1;
      m.nodes = [1, 2, 3].map((port) => ({ host: 'h', port }));
      m.shards.forEach((s: { slots: number[] }, i: number) => (s.slots = [[0, 5460], [5462, 10922], [10923, 16383]][i]));
    }, /absurd cluster map: shard 1's slots \[5462,10922\] \(ranges must cover 0 to 16383 in order\)/],
    ['slots past 16383', (m) => {
      m.placement = 'slots';
      m.nodes = [1, 2, 3].map((port) => ({ host: 'h', port }));
      m.replicas = 1;
      m.shards.forEach((s: { slots: number[] }, i: number) => (s.slots = [[0, 5460], [5461, 10922], [10923, 99999]][i]));
    }, /absurd cluster map: shard 2's slots \[10923,99999\]/],
  ];
  for (const [name, edit, error] of absurd) {
    it(`${name} is refused by the server and by bin/client --cluster, at once`, () => {
      const dir = editedCluster(edit);
      const map = path.join(dir, 'cluster.json');
      const server = runBin('server', [path.join(dir, 'shard-0.data'), '--cluster', map, '--port', '0']);
      expect(server.status).toBe(1);
      expect(server.stderr.trim()).toMatch(error);
      const client = runBin('client', [FIXTURE, '--cluster', map, '--servers', '127.0.0.1:1,127.0.0.1:2,127.0.0.1:3']);
      expect(client.status).toBe(1);
      expect(client.stderr.trim()).toMatch(error);
    });
  }

  it('bin/shard refuses parameters that make no sense, each with one line', () => {
    const cases: [string[], RegExp][] = [
      [['--shards', '3', '--replicas', '4'], /--replicas 4 is more than --shards 3/],
      [['--shards', '3', '--slots'], /--slots needs --nodes/],
      [['--shards', '2', '--slots', '--replicas', '2', '--nodes', 'h:1,h:2,h:3'], /--nodes lists 3 servers; --slots needs shards × replicas = 4/],
      [['--shards', '2', '--nodes', 'h:1,h:1'], /--nodes lists h:1 twice/],
      [['--shards', '2', '--nodes', 'h:1,nope'], /"nope" is not host:port/],
      [['--shards', '2', '--nodes', 'h:1,h:70000'], /"h:70000" is not host:port/],
      [['--shards', '2', '--slots', '--nodes', 'h:1,h:2', '--proxy-listen', 'h:3'], /--proxy-listen is for --ketama/],
      [['--shards', '2', '--slots', '--ketama', '--nodes', 'h:1,h:2'], /cannot be used with option '--slots'/],
      [['--shards', '0'], /"0" is not a whole number from 1 to 1000/],
      [['--shards', '2', '--replicas', '11'], /"11" is not a whole number from 1 to 10/],
    ];
    for (const [args, error] of cases) {
      const dir = tempDir();
      const run = runBin('shard', [FIXTURE, ...args, '-o', dir]);
      expect(run.status, args.join(' ')).not.toBe(0);
      expect(run.stderr, args.join(' ')).toMatch(error);
      expect(fs.readdirSync(dir), 'nothing written').toEqual([]);
    }
  });
});

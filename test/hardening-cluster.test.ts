// Cluster maps that lie: a ring whose parameters were edited (and its id recomputed)
// must not be served, and absurd parameters (vnodes 0 loops forever, 1e9 eats
// memory) are refused by every tool that reads a map, each with one line.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mapId } from '../src/cluster/map.ts';
import { Ring } from '../src/cluster/ring.ts';
import { ROOT, runBin, tempDir } from './helpers.ts';
import { startServer } from './server-helpers.ts';

const FIXTURE = path.join(ROOT, 'data', 'fixture.data');

/** Shards the fixture, edits its map with `edit`, recomputes the id; returns the folder. */
function editedCluster(edit: (map: Record<string, any>) => void): string {
  const dir = tempDir();
  expect(runBin('shard', [FIXTURE, '--shards', '3', '-o', dir]).status).toBe(0);
  const file = path.join(dir, 'cluster.json');
  const map = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(map);
  const { id: _id, ...body } = map;
  map.id = mapId(body as never);
  fs.writeFileSync(file, JSON.stringify(map));
  return dir;
}

describe('cluster maps', () => {
  it('a map whose ring seed was edited (id recomputed) is refused by the shard server, naming a misplaced key', () => {
    const dir = editedCluster((map) => (map.ring.seed = (map.ring.seed + 1) >>> 0));
    const run = runBin('server', [path.join(dir, 'shard-0.data'), '--cluster', path.join(dir, 'cluster.json'), '--port', '0']);
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toMatch(/^server: .*shard-0\.data holds key "fixture-\d+", which cluster \w+ places on shard \d, not shard 0: the map does not describe this file$/);
  });

  it('the same for edited vnodes', () => {
    const dir = editedCluster((map) => (map.ring.vnodes = 7));
    const run = runBin('server', [path.join(dir, 'shard-1.data'), '--cluster', path.join(dir, 'cluster.json'), '--port', '0']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/the map does not describe this file/);
  });

  it('the unedited map is served', async () => {
    const dir = editedCluster(() => {});
    const server = await startServer(path.join(dir, 'shard-2.data'), ['--cluster', path.join(dir, 'cluster.json')]);
    expect(await server.stop()).toBe(0);
  });

  const absurd: [string, (map: Record<string, any>) => void, RegExp][] = [
    ['vnodes 0', (m) => (m.ring.vnodes = 0), /absurd cluster map: ring\.vnodes 0 \(1 to 10000\)/],
    ['vnodes 1e9', (m) => (m.ring.vnodes = 1e9), /absurd cluster map: ring\.vnodes 1000000000/],
    ['a negative seed', (m) => (m.ring.seed = -1), /absurd cluster map: ring\.seed -1/],
    ['more replicas than shards', (m) => (m.replicas = 9), /absurd cluster map: replicas 9 \(1 to the 3 shards\)/],
    ['a fractional record count', (m) => (m.shards[0].records = 1.5), /absurd cluster map: a shard's records/],
  ];
  for (const [name, edit, error] of absurd) {
    it(`${name} is refused by the server and by bin/client --cluster, at once`, () => {
      const dir = editedCluster(edit);
      const map = path.join(dir, 'cluster.json');
      const server = runBin('server', [path.join(dir, 'shard-0.data'), '--cluster', map, '--port', '0']);
      expect(server.status).toBe(2);
      expect(server.stderr.trim()).toMatch(error);
      const client = runBin('client', [FIXTURE, '--cluster', map, '--servers', '127.0.0.1:1,127.0.0.1:2,127.0.0.1:3']);
      expect(client.status).toBe(2);
      expect(client.stderr.trim()).toMatch(error);
    });
  }

  it('the library refuses an absurd ring too', () => {
    expect(() => new Ring(3, 0)).toThrow(/1 to 10000 points per shard, not 0/);
    expect(() => new Ring(0)).toThrow(/1 to 1000 shards/);
  });
});

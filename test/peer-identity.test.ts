// A slots server counts a peer live only when the server on the peer's port is the node
// the cluster map names (CLUSTER MYID answers that node's id). On the port of node 2,
// in turn: a fake that answers +PONG to anything, a fake answering errors as a plain
// Redis does, a real rokv of another cluster map, a real rokv of another shard of this
// map; each is marked down (CLUSTER NODES: fail) and logged once, while node 1, the
// right server, stays up; then node 2's own server comes and is up. After every server
// reloads a new map (new data: a new map id, so new node ids), they count each other
// live again under the new ids.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClusterMap } from '../src/cluster/map.ts';
import { nodeId } from '../src/cluster/slot-router.ts';
import { freePorts, mixedRecords, startShardServers } from './cluster-helpers.ts';
import { packRecords, runBin } from './helpers.ts';
import { command, respExchange, text } from './resp-helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

let source: string;
let dir: string;
let otherDir: string;
let ports: number[];
let mapId: string;
let servers: RunningServer[] = [];

beforeAll(async () => {
  ports = await freePorts(3);
  source = packRecords(mixedRecords(300));
  dir = path.join(path.dirname(source), 'slots');
  otherDir = path.join(path.dirname(source), 'other');
  const nodes = ports.map((p) => `127.0.0.1:${p}`);
  let run = runBin('shard', [source, '--shards', '3', '--slots', '--nodes', nodes.join(','), '-o', dir]);
  expect(run.status, run.stderr).toBe(0);
  // Another cluster whose first server sits on node 2's port.
  run = runBin('shard', [source, '--shards', '2', '--slots', '--nodes', `${nodes[2]},${nodes[0]}`, '-o', otherDir]);
  expect(run.status, run.stderr).toBe(0);
  mapId = readClusterMap(path.join(dir, 'cluster.json')).id;
  servers = await startShardServers(dir, [{ shard: 0, respPort: ports[0] }, { shard: 1, respPort: ports[1] }]);
}, 30_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
});

/** CLUSTER NODES as node 0 sees it: each server's address → whether it is flagged fail. */
async function failing(): Promise<Record<number, boolean>> {
  const { replies } = await respExchange(ports[0], command('CLUSTER', 'NODES'), 1);
  const flags: Record<number, boolean> = {};
  for (const line of text(replies[0]).trim().split('\n')) {
    const [, address, flagList] = line.split(' ');
    flags[Number(/:(\d+)@/.exec(address)?.[1])] = flagList.split(',').includes('fail');
  }
  return flags;
}

/** A TCP server on node 2's port answering each chunk it receives with `answer`; close() ends it and its connections. */
function fake(answer: string): Promise<{ close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('data', () => s.write(answer)).on('error', () => {}).on('close', () => sockets.delete(s));
    });
    server.once('error', reject);
    server.listen(ports[2], '127.0.0.1', () => resolve({
      close: () => new Promise<void>((done) => {
        server.close(() => done());
        for (const s of sockets) s.destroy();
      }),
    }));
  });
}

const downLines = () => servers[0].stderr().split('\n').filter((l) => l.startsWith(`rokv: cluster server 127.0.0.1:${ports[2]} is down: `));

/** Node 0, having probed node 2's port a while, flags it fail, and logged it down once with `answered`; node 1 is not flagged. */
async function refused(answered: string): Promise<void> {
  const expected = `rokv: cluster server 127.0.0.1:${ports[2]} is down: CLUSTER MYID answers ${JSON.stringify(answered)}, not ${nodeId(mapId, 2)}, the id cluster ${mapId} gives this server`;
  const started = Date.now();
  await until(`node 0 to log ${answered}`, () => downLines().includes(expected) || Date.now() - started > 3000);
  await sleep(600); // a few more probes: still not live, and not logged again
  expect(await failing()).toEqual({ [ports[0]]: false, [ports[1]]: false, [ports[2]]: true });
  expect(downLines().filter((l) => l === expected)).toHaveLength(1);
}

describe('the peer probe checks who answers on a peer\'s port', () => {
  it('a fake answering +PONG, a plain Redis\'s error, another map\'s rokv, another shard\'s rokv: down; the right server: up', async () => {
    await until('node 1 live and node 2 not', async () => {
      const f = await failing();
      return !f[ports[1]] && f[ports[2]];
    });

    let server = await fake('+PONG\r\n');
    await refused('+PONG');
    await server.close();
    server = await fake('-ERR unknown command \'CLUSTER\', with args beginning with: \'MYID\'\r\n');
    await refused('-ERR unknown command \'CLUSTER\', with args beginning with: \'MYID\'');
    await server.close();

    const [binaryPort] = await freePorts(1, ports);
    const otherMap = readClusterMap(path.join(otherDir, 'cluster.json'));
    let impostor = await startServer(path.join(otherDir, 'shard-0.data'), ['--cluster', path.join(otherDir, 'cluster.json'), '--port', String(binaryPort), '--resp-port', String(ports[2])]);
    await refused(nodeId(otherMap.id, 0));
    await impostor.stop('SIGKILL');
    // Shard 1's file, told it is node 1, listening on node 2's port.
    impostor = await startServer(path.join(dir, 'shard-1.data'), ['--cluster', path.join(dir, 'cluster.json'), '--cluster-node', `127.0.0.1:${ports[1]}`, '--port', String(binaryPort), '--resp-port', String(ports[2])]);
    await refused(nodeId(mapId, 1));
    await impostor.stop('SIGKILL');

    servers.push(...await startShardServers(dir, [{ shard: 2, respPort: ports[2] }]));
    await until('node 2 up', async () => !(await failing())[ports[2]]);
    expect(servers[0].stderr()).toMatch(new RegExp(`^rokv: cluster server 127\\.0\\.0\\.1:${ports[2]} is up$`, 'm'));
    expect(servers[0].stderr(), 'the right peer never flapped').not.toMatch(new RegExp(`cluster server 127\\.0\\.0\\.1:${ports[1]} is`));
  }, 60_000);

  it('after a reload to a new map, peers are checked against the new map\'s ids', async () => {
    expect(servers).toHaveLength(3);
    const next = path.join(path.dirname(source), 'next');
    const run = runBin('shard', [packRecords(mixedRecords(400)), '--shards', '3', '--slots', '--nodes', ports.map((p) => `127.0.0.1:${p}`).join(','), '-o', next]);
    expect(run.status, run.stderr).toBe(0);
    const newId = readClusterMap(path.join(next, 'cluster.json')).id;
    expect(newId).not.toBe(mapId);
    for (const name of ['cluster.json', 'shard-0.data', 'shard-1.data', 'shard-2.data']) fs.renameSync(path.join(next, name), path.join(dir, name));
    for (const server of servers) server.process.kill('SIGHUP');
    await until('every server reloaded', () => servers.every((s) => /reloaded .*\(SIGHUP\)/.test(s.stderr())));
    expect(text((await respExchange(ports[1], command('CLUSTER', 'MYID'), 1)).replies[0])).toBe(nodeId(newId, 1));
    await until('node 0 sees both peers live', async () => {
      const f = await failing();
      return !f[ports[1]] && !f[ports[2]];
    }, 5000);
    await sleep(600);
    expect(await failing()).toEqual({ [ports[0]]: false, [ports[1]]: false, [ports[2]]: false });
  }, 30_000);
});

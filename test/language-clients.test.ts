// Redis clients in other languages against the RESP port, as Debian packages them:
// redis-py (python3-redis, from /usr/bin/python3), ruby-redis and phpredis each run a
// script of test/clients/ against a real server — connect, GET hit and miss, MGET,
// a value of every byte 0..255, a pipeline of 300 GETs, a SCAN iteration, a SET — and
// print what they read, checked here against the data file's records. redis-py's
// RedisCluster reads every key of a slots cluster, then again over the same client
// once a primary is killed: redis-py's documented behaviour is to refresh its slot
// map on a connection error and retry (cluster_error_retry_attempts, 3), so every read
// must succeed, routed to the replica rokv's CLUSTER SLOTS now names alone for that
// range. (redis-py 4.3.4 keeps that node's role as 'replica' in get_primaries(): its
// _get_or_create_cluster_node reuses a connected node without updating its role; the
// slot map, which routes every read, is right.)

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, mixedRecords, startShardServers } from './cluster-helpers.ts';
import { type Pair, ROOT, packRecords, runBin } from './helpers.ts';
import { type Reply, command, respExchange } from './resp-helpers.ts';
import { type RunningServer, serveRecords } from './server-helpers.ts';

const CLIENTS = path.join(ROOT, 'test', 'clients');
const hex = (b: Buffer | string) => Buffer.from(b).toString('hex');

const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const records: Pair[] = [['greeting', 'hello world'], ['binary', BINARY], ['crlf', 'a\r\nb']];
for (let i = 0; i < 300; i++) records.push([`key:${i}`, `value-${i}`]);
const served = serveRecords(records, ['--resp-port', '0']);

/** What each client's script prints. */
interface Checked {
  ping: boolean;
  get_hit: string | null;
  get_miss: string | null;
  mget: (string | null)[];
  binary: string | null;
  pipeline: (string | null)[];
  scan: string[];
  set_error: { class: string; message: string } | null;
}

/** Each language: how its script runs, and the READONLY error as that client surfaces it (class, message). */
const LANGUAGES: [string, string[], { class: string; message: string }][] = [
  ['Python (redis-py)', ['/usr/bin/python3', path.join(CLIENTS, 'check.py')], { class: 'ReadOnlyError', message: 'You can\'t write against a read only replica.' }],
  ['Ruby (ruby-redis)', ['ruby', path.join(CLIENTS, 'check.rb')], { class: 'Redis::CommandError', message: 'READONLY You can\'t write against a read only replica.' }],
  ['PHP (phpredis)', ['php', path.join(CLIENTS, 'check.php')], { class: 'RedisException', message: 'READONLY You can\'t write against a read only replica.' }],
];

describe.each(LANGUAGES)('%s against one rokv server', (_name, argv, readonly) => {
  it('reads hits, misses, MGET, binary values, a pipeline and a whole SCAN as the data file holds them; a SET is READONLY', () => {
    const run = spawnSync(argv[0], [...argv.slice(1), '127.0.0.1', String(served.server.respPort)], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const got = JSON.parse(run.stdout) as Checked;
    expect(got.ping).toBe(true);
    expect(got.get_hit).toBe(hex('hello world'));
    expect(got.get_miss).toBeNull();
    expect(got.mget).toEqual([hex('value-1'), null, hex('value-2'), null]);
    expect(got.binary).toBe(hex(BINARY));
    expect(got.pipeline).toEqual(Array.from({ length: 300 }, (_, i) => hex(`value-${i}`)));
    // Every key exactly once.
    expect(got.scan).toHaveLength(records.length);
    expect([...got.scan].sort()).toEqual(records.map(([k]) => hex(k)).sort());
    expect(got.set_error).toEqual(readonly);
  }, 90_000);
});

describe('redis-py RedisCluster over a slots cluster of 3 shards × 2 servers', () => {
  const clusterRecords = mixedRecords(2000);
  let ports: number[];
  let servers: RunningServer[] = [];
  let python: ChildProcess;
  const lines: string[] = [];

  beforeAll(async () => {
    ports = await freePorts(6);
    const source = packRecords(clusterRecords);
    const dir = path.join(path.dirname(source), 'slots');
    const shard = runBin('shard', [source, '--shards', '3', '--slots', '--replicas', '2', '--nodes', ports.map((p) => `127.0.0.1:${p}`).join(','), '-o', dir]);
    expect(shard.status, shard.stderr).toBe(0);
    servers = await startShardServers(dir, ports.map((respPort, i) => ({ shard: Math.floor(i / 2), respPort })));
    await untilSlots(ports[0], (ranges) => ranges.every((range) => range.length === 4)); // every server live
  }, 60_000);
  afterAll(async () => {
    python?.kill();
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  });

  /** Waits until `port`'s CLUSTER SLOTS satisfies `done`. */
  async function untilSlots(port: number, done: (ranges: Reply[][]) => boolean): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { replies } = await respExchange(port, command('CLUSTER', 'SLOTS'), 1);
      if (done(replies[0] as Reply[][])) return;
      if (Date.now() > deadline) throw new Error(`CLUSTER SLOTS never settled: ${JSON.stringify(replies[0])}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The next line the script prints, as JSON. */
  async function nextLine(): Promise<{ values: (string | null)[]; slot_nodes: string[][] }> {
    const deadline = Date.now() + 60_000;
    while (lines.length === 0) {
      if (Date.now() > deadline || python.exitCode !== null) throw new Error(`cluster.py printed nothing (exit ${python.exitCode})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return JSON.parse(lines.shift() as string);
  }

  it('reads every key from every shard; with a primary killed, the same client reads every key again, from its replica', async () => {
    let stderr = '';
    let pending = '';
    python = spawn('/usr/bin/python3', [path.join(CLIENTS, 'cluster.py'), '127.0.0.1', String(ports[0])], { stdio: ['pipe', 'pipe', 'pipe'] });
    python.stderr?.on('data', (d) => (stderr += d));
    python.stdout?.on('data', (d) => {
      pending += d;
      const parts = pending.split('\n');
      pending = parts.pop() as string;
      lines.push(...parts);
    });
    python.stdin?.write(`${JSON.stringify({ keys: clusterRecords.map(([k]) => hex(k)), slots: [0, 5461, 10923] })}\n`);
    const expected = clusterRecords.map(([, v]) => hex(v));
    const first = await nextLine().catch((e) => { throw new Error(`${e.message}: ${stderr}`); });
    expect(first.values).toEqual(expected);
    const node = (i: number) => `127.0.0.1:${ports[i]}`;
    expect(first.slot_nodes).toEqual([[node(0), node(1)], [node(2), node(3)], [node(4), node(5)]]);

    await servers[2].stop('SIGKILL'); // shard 1's primary
    await untilSlots(ports[0], (ranges) => ranges.every((range) => !range.slice(2).some((node) => (node as Reply[])[1] === ports[2])));
    python.stdin?.write('again\n');
    const second = await nextLine().catch((e) => { throw new Error(`${e.message}: ${stderr}`); });
    expect(second.values).toEqual(expected);
    expect(second.slot_nodes).toEqual([[node(0), node(1)], [node(3)], [node(4), node(5)]]);
    python.stdin?.end();
  }, 120_000);
});

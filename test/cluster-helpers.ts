// Helpers for cluster tests: free ports chosen before a map names them, a ketama
// cluster from records (packed, sharded, served), the shard servers of a bin/shard folder, real twemproxy (nutcracker) on a generated config,
// and pipelined RESP GETs of many keys over one connection.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { waitForPort } from '../tools/bench/processes.ts';
import { type Pair, packRecords, runBin, tempDir } from './helpers.ts';
import { type Reply, command, parseReplies } from './resp-helpers.ts';
import { RawClient, type RunningServer, startServer } from './server-helpers.ts';

/** n distinct ports free right now (bound to 0, then released), none of `taken`. */
export async function freePorts(n: number, taken: number[] = []): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n + taken.length }, () => new Promise<net.Server>((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port).filter((p) => !taken.includes(p)).slice(0, n);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/**
 * Starts `bin/server DIR/shard-<shard>.data --cluster DIR/cluster.json --port B --resp-port P`
 * for each server. Both ports are chosen up front: a binary port left to the system could
 * take a RESP port the map names before its server starts.
 */
export async function startShardServers(dir: string, servers: { shard: number; respPort: number }[], args: string[] = []): Promise<RunningServer[]> {
  const binaryPorts = await freePorts(servers.length, servers.map((s) => s.respPort));
  return Promise.all(servers.map(({ shard, respPort }, i) => startServer(path.join(dir, `shard-${shard}.data`), [
    '--cluster', path.join(dir, 'cluster.json'), '--port', String(binaryPorts[i]), '--resp-port', String(respPort), ...args,
  ])));
}

/** A ketama cluster of `records`: the packed source, bin/shard's folder and its run (for its report), one server per shard. */
export interface ShardedCluster {
  source: string;
  dir: string;
  shardRun: { status: number | null; stdout: string; stderr: string };
  servers: RunningServer[];
}

/**
 * Packs `records`, runs `bin/shard SOURCE --shards N ...shardArgs -o DIR` (failing the
 * test if it fails), and starts `bin/server DIR/shard-i.data --cluster DIR/cluster.json
 * ...serverArgs` for each of the N shards on ephemeral ports.
 */
export async function startShardedCluster(records: Pair[], shards: number, shardArgs: string[] = [], serverArgs: string[] = []): Promise<ShardedCluster> {
  const source = packRecords(records);
  const dir = path.join(tempDir(), 'cluster');
  const shardRun = runBin('shard', [source, '--shards', String(shards), ...shardArgs, '-o', dir]);
  if (shardRun.status !== 0) throw new Error(`bin/shard failed: ${shardRun.stderr}`);
  const servers = await Promise.all(Array.from({ length: shards }, (_, i) => startServer(path.join(dir, `shard-${i}.data`), ['--cluster', path.join(dir, 'cluster.json'), ...serverArgs])));
  return { source, dir, shardRun, servers };
}

/** nutcracker on PATH, installed from Debian's packages when missing (the test setup does the same). */
export function nutcrackerPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v nutcracker'], { encoding: 'utf8' }).stdout.trim();
  if (found === '') throw new Error('nutcracker (twemproxy) is not installed and tools/run-tests.ts could not install it: apt-get install nutcracker');
  return found;
}

export interface Proxy {
  process: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

/** Whether process `pid` holds the socket listening on 127.0.0.1:`port` (Linux: /proc/net/tcp, /proc/PID/fd). */
function listensOn(pid: number, port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const sockets = fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1] === local && f[3] === '0A').map((f) => `socket:[${f[9]}]`);
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => sockets.includes(fs.readlinkSync(`/proc/${pid}/fd/${fd}`)));
  } catch {
    return false; // the process is gone
  }
}

/**
 * Runs twemproxy on `config` (its stats on `statsPort`) and waits until it listens on `port`
 * itself: a port chosen free can be taken before nutcracker binds it, and then nutcracker
 * exits 1 (Debian's build without a word) while the other listener accepts connections.
 */
export async function startNutcracker(config: string, port: number, statsPort: number): Promise<Proxy> {
  const child = spawn(nutcrackerPath(), ['-c', config, '-s', String(statsPort), '-a', '127.0.0.1', '-v', '4'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  try {
    await Promise.race([waitForPort(port), exited]);
    const deadline = Date.now() + 10_000;
    while (running() && !listensOn(child.pid as number, port) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!running()) throw new Error(`nutcracker exited (${child.exitCode ?? child.signalCode}) before listening on ${port}: ${log || `no output (port ${port} or ${statsPort} taken?)`}`);
    if (!listensOn(child.pid as number, port)) throw new Error(`nutcracker (pid ${child.pid}) does not hold the socket listening on 127.0.0.1:${port}`);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    process: child,
    log: () => log,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** GETs every key over one connection, `batch` at a time; the replies in key order. */
export async function respGetAll(port: number, keys: Buffer[], batch = 500): Promise<Reply[]> {
  const client = await RawClient.connect(port);
  const replies: Reply[] = [];
  try {
    for (let i = 0; i < keys.length; i += batch) {
      const slice = keys.slice(i, i + batch);
      client.received = Buffer.alloc(0);
      client.socket.write(Buffer.concat(slice.map((k) => command('GET', k))));
      await client.until(() => parseReplies(client.received).replies.length >= slice.length || client.closed, 20_000);
      const got = parseReplies(client.received).replies;
      if (got.length < slice.length) throw new Error(`connection closed after ${replies.length + got.length} of ${keys.length} replies`);
      replies.push(...got);
    }
  } finally {
    client.socket.destroy();
  }
  return replies;
}

/** Records with ASCII keys and keys holding bytes ≥ 0x80 (signed chars in twemproxy's hash). */
export function mixedRecords(count: number): [Buffer, Buffer][] {
  return Array.from({ length: count }, (_, i) => {
    const key = i % 3 === 0
      ? Buffer.from([0x80 + (i % 128), 0xff - (i % 64), ...Buffer.from(`bin-${i}`), 0xc3, 0xa9])
      : Buffer.from(`user:${(i * 2654435761) % 1_000_003}:${i}`);
    return [key, Buffer.from(`value-${i}-${'x'.repeat(i % 17)}`)];
  });
}

// make bench-storage (and make bench): the storage tiers side by side. For each tier
// (memory, mmap, disk) on testdata_1M and, when present, testdata_10M: the ready time
// and anonymous memory (RssAnon); page-cache-warm GETs/s at pipeline 16 against Redis
// in alternating rounds (bin/client, every answer checked); and cold-cache GETs/s and
// p99 for mmap and disk, with the longest a bystander connection's PING waited. Cold
// means the file's pages are evicted first (posix_fadvise DONTNEED on that one file,
// never the machine's cache), and the cold driver checks answers against values it
// sampled before evicting, so checking does not warm the cache. Also RSS and RssAnon
// through hot swaps (steady, and the peak sampled every 5 ms during each). Writes
// bench/latest/storage.json and a markdown table beside it.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { newCommand, parseIntIn, runMain } from '../../src/cli.ts';
import { loadDataFile } from '../../src/format/load.ts';
import { nativeStorage } from '../../src/storage/native.ts';
import { type Started, median, startUntil, stop, freePort } from './processes.ts';
import { loadRedis, redisAvailable, startRedis } from './redis.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TIERS = ['memory', 'mmap', 'disk'] as const;
type Tier = (typeof TIERS)[number];

/** A field of /proc/PID/status in bytes (VmRSS, RssAnon), 0 when absent. */
function statusBytes(pid: number, field: 'VmRSS' | 'RssAnon'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

function rssAnon(pid: number): number {
  return statusBytes(pid, 'RssAnon');
}

interface SwapMemory {
  /** RSS and RssAnon after start, and after the last swap settled (1 s later). */
  rssStart: number;
  anonStart: number;
  rssSteady: number;
  anonSteady: number;
  /** The largest seen, sampled every 5 ms from each SIGHUP until its reload is reported done. */
  rssPeak: number;
  anonPeak: number;
  swapSeconds: number[];
}

/** RSS and RssAnon of a server of `tier` through `swaps` hot swaps (SIGHUP; the same file, verified again each time). */
async function swapMemory(file: string, tier: Tier, swaps: number): Promise<SwapMemory> {
  const { started, port } = await startTier(file, tier);
  const pid = started.child.pid as number;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await sleep(1000);
  const result: SwapMemory = {
    rssStart: statusBytes(pid, 'VmRSS'), anonStart: rssAnon(pid), rssSteady: 0, anonSteady: 0, rssPeak: 0, anonPeak: 0, swapSeconds: [],
  };
  for (let i = 1; i <= swaps; i++) {
    const at = performance.now();
    process.kill(pid, 'SIGHUP');
    for (;;) {
      result.rssPeak = Math.max(result.rssPeak, statusBytes(pid, 'VmRSS'));
      result.anonPeak = Math.max(result.anonPeak, rssAnon(pid));
      if (((await infoOf(port)).reloads as number) >= i) break;
      await sleep(5);
    }
    result.swapSeconds.push((performance.now() - at) / 1000);
  }
  await sleep(1000);
  result.rssSteady = statusBytes(pid, 'VmRSS');
  result.anonSteady = rssAnon(pid);
  await stop(started.child);
  return result;
}

async function startTier(file: string, tier: Tier): Promise<{ started: Started; port: number }> {
  const port = await freePort();
  const started = await startUntil(path.join(ROOT, 'bin', 'server'), [file, '--port', String(port), '--storage', tier, '--quiet'], /listening on/);
  return { started, port };
}

/** bin/client's GETs/s against a binary-protocol (or RESP) port; throws on any wrong answer. */
function clientRate(file: string, port: number, protocol: 'rokv' | 'resp', requests: number, pipeline: number): number {
  const out = execFileSync(path.join(ROOT, 'bin', 'client'), [
    file, '--port', String(port), '--protocol', protocol, '--json', '--clients', '10', '--pipeline', String(pipeline),
    '--requests', String(requests), '--warmup', String(Math.floor(requests / 10)),
  ], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const report = JSON.parse(out);
  if (report.errors > 0 || report.mismatches > 0) throw new Error(`bin/client saw ${report.errors} errors, ${report.mismatches} mismatches`);
  return report.throughput;
}

/** Keys of `count` random records with the CRC of each value, read before the file's pages are evicted. */
function sampleKeys(file: string, count: number): { keys: Buffer[]; crcs: Uint32Array } {
  const data = loadDataFile(file);
  const offsets = data.recordOffsets();
  const keys: Buffer[] = [];
  const crcs = new Uint32Array(count);
  let seed = 12345;
  for (let i = 0; i < count; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const record = offsets[seed % offsets.length];
    keys.push(Buffer.from(data.key(record)));
    crcs[i] = crc32(data.value(record));
  }
  return { keys, crcs };
}

/** Evicts `file`'s pages from the page cache (its clean, unmapped ones). */
function evict(file: string): void {
  const native = nativeStorage();
  if (native === null) throw new Error('the cold-cache runs need the native addon (make addon) to evict the file\'s pages');
  const fd = fs.openSync(file, 'r');
  try {
    native.fadviseDontNeed(fd, 0, 0);
  } finally {
    fs.closeSync(fd);
  }
}

function frame(op: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length + 1, 0);
  head[4] = op;
  return Buffer.concat([head, payload]);
}

/** The server's INFO over the binary protocol. */
function infoOf(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(frame(0x03, Buffer.alloc(0))));
    let got = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) {
        socket.destroy();
        resolve(JSON.parse(got.subarray(5, 4 + got.readUInt32BE(0)).toString('utf8')));
      }
    });
  });
}

interface ColdRun {
  rate: number;
  p99Ms: number;
  pingMaxMs: number;
  residentAfter: number;
}

/**
 * The cold driver: `connections` sockets, `depth` GETs in flight each, for the sampled
 * keys in order; a bystander PINGs every 5 ms on its own connection. Every value's CRC is checked.
 */
async function coldRun(port: number, sample: { keys: Buffer[]; crcs: Uint32Array }, connections: number, depth: number): Promise<Omit<ColdRun, 'residentAfter'>> {
  const latencies: number[] = [];
  let next = 0;
  let wrong = 0;
  const started = performance.now();
  const one = () => new Promise<void>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const asked: number[] = [];
    const sentAt: number[] = [];
    let buffered: Buffer = Buffer.alloc(0);
    const send = () => {
      while (asked.length < depth && next < sample.keys.length) {
        const i = next++;
        asked.push(i);
        sentAt.push(performance.now());
        socket.write(frame(0x01, sample.keys[i]));
      }
      if (asked.length === 0) {
        socket.end();
        resolve();
      }
    };
    socket.on('connect', send);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      let pos = 0;
      while (buffered.length - pos >= 4 && buffered.length - pos - 4 >= buffered.readUInt32BE(pos)) {
        const length = buffered.readUInt32BE(pos);
        const i = asked.shift() as number;
        latencies.push(performance.now() - (sentAt.shift() as number));
        if (buffered[pos + 4] !== 0 || crc32(buffered.subarray(pos + 5, pos + 4 + length)) !== sample.crcs[i]) wrong++;
        pos += 4 + length;
      }
      buffered = buffered.subarray(pos);
      send();
    });
  });
  let pingMax = 0;
  let pinging = true;
  const bystander = new Promise<void>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let at = 0;
    const ping = () => {
      if (!pinging) return void socket.end(resolve);
      at = performance.now();
      socket.write(frame(0x02, Buffer.alloc(0)));
    };
    socket.on('connect', ping);
    socket.on('data', () => {
      pingMax = Math.max(pingMax, performance.now() - at);
      setTimeout(ping, 5);
    });
  });
  await Promise.all(Array.from({ length: connections }, one));
  const seconds = (performance.now() - started) / 1000;
  pinging = false;
  await bystander;
  if (wrong > 0) throw new Error(`the cold driver saw ${wrong} wrong answers`);
  latencies.sort((a, b) => a - b);
  return { rate: sample.keys.length / seconds, p99Ms: latencies[Math.floor(latencies.length * 0.99)], pingMaxMs: pingMax };
}

const program = newCommand('bench-storage')
  .description('The storage tiers side by side: ready time, RssAnon, warm GETs/s against Redis, cold GETs/s and p99 with a bystander PING.')
  .option('--repeat <n>', 'alternating rounds of the warm runs', parseIntIn(1, 20), 3)
  .option('--cold-requests <n>', 'GETs of each cold run', parseIntIn(1000, 10_000_000), 100_000)
  .option('--warm-requests <n>', 'GETs of each warm run', parseIntIn(1000, 100_000_000), 1_000_000)
  .option('--swaps <n>', 'hot swaps of each swap-memory run', parseIntIn(1, 100), 5);

program.action((opts) => runMain('bench-storage', async () => {
  const out = path.join(ROOT, 'bench', 'latest');
  fs.mkdirSync(out, { recursive: true });
  const files = ['testdata_1M.data', 'testdata_10M.data'].map((f) => path.join(ROOT, f)).filter((f) => fs.existsSync(f));
  const result: Record<string, unknown> = { date: new Date().toISOString() };

  // Ready time and anonymous memory, per file and tier.
  const footprint: Record<string, Record<Tier, { readySeconds: number; rssAnon: number }>> = {};
  for (const file of files) {
    footprint[path.basename(file)] = {} as Record<Tier, { readySeconds: number; rssAnon: number }>;
    for (const tier of TIERS) {
      const { started } = await startTier(file, tier);
      footprint[path.basename(file)][tier] = { readySeconds: started.readySeconds, rssAnon: rssAnon(started.child.pid as number) };
      await stop(started.child);
    }
  }
  result.footprint = footprint;

  // Memory through hot swaps, per file and tier: steady and peak.
  const swapping: Record<string, Record<Tier, SwapMemory>> = {};
  for (const file of files) {
    swapping[path.basename(file)] = {} as Record<Tier, SwapMemory>;
    for (const tier of TIERS) swapping[path.basename(file)][tier] = await swapMemory(file, tier, opts.swaps);
  }
  result.swaps = swapping;

  // Warm: every tier and Redis, pipeline 16, in alternating rounds.
  const warmFile = files[0];
  const servers = await Promise.all(TIERS.map((tier) => startTier(warmFile, tier)));
  let redis: { started: Started; port: number } | null = null;
  if (redisAvailable()) {
    const port = await freePort();
    redis = { started: await startRedis(port), port };
    await loadRedis(port, loadDataFile(warmFile));
  }
  const warm: Record<string, number[]> = { memory: [], mmap: [], disk: [], redis: [] };
  for (let round = 0; round < opts.repeat; round++) {
    TIERS.forEach((tier, i) => warm[tier].push(clientRate(warmFile, servers[i].port, 'rokv', opts.warmRequests, 16)));
    if (redis) warm.redis.push(clientRate(warmFile, redis.port, 'resp', opts.warmRequests, 16));
  }
  for (const s of servers) await stop(s.started.child);
  if (redis) await stop(redis.started.child);
  result.warmPipeline16 = Object.fromEntries(Object.entries(warm).filter(([, v]) => v.length).map(([k, v]) => [k, { runs: v, median: median(v) }]));

  // Cold: the largest file, mmap and disk, each run after evicting the file's pages.
  const coldFile = files[files.length - 1];
  const sample = sampleKeys(coldFile, opts.coldRequests);
  const cold: Record<string, ColdRun[]> = {};
  for (const tier of ['mmap', 'disk'] as const) {
    cold[tier] = [];
    for (const [connections, depth] of [[1, 1], [10, 16]]) {
      const { started, port } = await startTier(coldFile, tier);
      evict(coldFile);
      const run = await coldRun(port, sample, connections, depth);
      const info = await infoOf(port);
      cold[tier].push({ ...run, residentAfter: info.data_resident_bytes as number, connections, depth } as ColdRun);
      await stop(started.child);
    }
  }
  result.cold = { file: path.basename(coldFile), requests: opts.coldRequests, runs: cold };
  fs.writeFileSync(path.join(out, 'storage.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\nbench-storage: wrote ${path.relative(ROOT, path.join(out, 'storage.json'))}\n`);
}));

await program.parseAsync();

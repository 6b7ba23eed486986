// bin/server: loads a packed data file and serves it over the rokv protocol until
// SIGINT/SIGTERM, on one event loop or (--workers N) on N sharing the port and one
// copy of the data; prints one startup line and, unless --quiet, a stats line every 10 s.

import { Worker } from 'node:worker_threads';
import { Command } from 'commander';
import { parseIntIn, parseNumberIn, runMain } from '../cli.ts';
import { readClusterMap, shardOf } from '../cluster/map.ts';
import { InputError } from '../errors.ts';
import { loadDataFile } from '../format/load.ts';
import { DEFAULT_HOST, DEFAULT_PORT } from '../protocol/constants.ts';
import { RokvServer, type ServerOptions } from './server.ts';
import { ERRORS, HITS, MISSES, OPEN, REQUESTS, Stats } from './stats.ts';
import type { WorkerSetup } from './worker.ts';

const STATS_INTERVAL_MS = 10_000;
const MB = 1e6;
const WORKER_MODULE = import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js';

interface Serving {
  port: number;
  stats: Stats;
  close(): Promise<void>;
}

function listenError(host: string, port: number, code: string | undefined, message: string): InputError {
  const reason = code === 'EADDRINUSE' ? 'address in use' : code === 'EACCES' ? 'permission denied' : message;
  return new InputError(`cannot listen on ${host}:${port}: ${reason}`);
}

async function serveHere(server: RokvServer, options: ServerOptions): Promise<Serving> {
  try {
    const address = await server.listen();
    return { port: address.port, stats: server.stats, close: () => server.close() };
  } catch (error) {
    throw listenError(options.host, options.port, (error as NodeJS.ErrnoException).code, (error as Error).message);
  }
}

/** Starts one worker per loop; the first binds (maybe port 0), the rest join its port. */
async function serveOnWorkers(bytes: SharedArrayBuffer, file: string, options: ServerOptions, loops: number): Promise<Serving> {
  const statsBuffer = Stats.sharedBuffer(loops);
  const workers: Worker[] = [];
  let port = options.port;
  for (let loop = 0; loop < loops; loop++) {
    const setup: WorkerSetup = { bytes, file, stats: statsBuffer, loop, options: { ...options, port } };
    const worker = new Worker(new URL(WORKER_MODULE, import.meta.url), { workerData: setup });
    workers.push(worker);
    port = await new Promise<number>((resolve, reject) => {
      worker.once('message', (m: { type: string; port?: number; code?: string; message?: string }) => {
        if (m.type === 'listening') resolve(m.port as number);
        else reject(listenError(options.host, port, m.code, m.message ?? ''));
      });
      worker.once('error', reject);
    }).catch(async (error) => {
      await Promise.all(workers.map((w) => w.terminate()));
      throw error;
    });
  }
  const close = () => Promise.all(workers.map((worker) => new Promise<void>((resolve) => {
    worker.once('exit', () => resolve());
    worker.postMessage('close');
  }))).then(() => undefined);
  return { port, stats: new Stats(statsBuffer), close };
}

const program = new Command('server')
  .description('Serve GETs from a packed rokv data file over TCP (protocol: shared/protocol.md).')
  .argument('<file>', 'the packed data file')
  .option('--host <host>', 'address to listen on', DEFAULT_HOST)
  .option('-p, --port <port>', 'TCP port (0 = any free port)', parseIntIn(0, 65_535), DEFAULT_PORT)
  .option('--max-connections <n>', 'connections beyond this get BUSY, per event loop (0 = no limit)', parseIntIn(0, 10_000_000), 0)
  .option('--idle-timeout <seconds>', 'close connections idle or not draining this long (0 = never)', parseNumberIn(0, 86_400 * 365), 0)
  .option('-w, --workers <n>', 'event loops (worker threads) sharing the port and one copy of the data', parseIntIn(1, 256), 1)
  .option('--cluster <map.json>', 'this file is a shard of that cluster map: check it, and report shard and map id in INFO')
  .option('--verify', 'also find every key through the index before serving (slower start)')
  .option('-q, --quiet', 'no periodic stats line')
  .showHelpAfterError();

program.action((file: string, opts) => runMain('server', async () => {
  const started = performance.now();
  const data = loadDataFile(file, { shared: opts.workers > 1 });
  if (opts.verify) data.verifyKeys();
  const extraInfo: Record<string, unknown> = { workers: opts.workers };
  if (opts.cluster) {
    const map = readClusterMap(opts.cluster);
    const shard = shardOf(map, opts.cluster, file, data);
    Object.assign(extraInfo, { cluster: map.id, shard: shard.id, shards: map.shards.length });
  }
  const loadSeconds = (performance.now() - started) / 1000;
  const options: ServerOptions = {
    host: opts.host,
    port: opts.port,
    file,
    maxConnections: opts.maxConnections,
    idleTimeoutMs: opts.idleTimeout * 1000,
    extraInfo,
  };
  const serving = opts.workers > 1
    ? await serveOnWorkers(data.bytes.buffer as SharedArrayBuffer, file, options, opts.workers)
    : await serveHere(new RokvServer(data, options), options);
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const loops = opts.workers > 1 ? `, ${opts.workers} event loops` : '';
  const shard = opts.cluster ? `, shard ${extraInfo.shard} of cluster ${extraInfo.cluster}` : '';
  process.stdout.write(
    `rokv listening on ${host}:${serving.port}: ${data.recordCount.toLocaleString('en-US')} records, ` +
    `${(data.bytes.length / MB).toFixed(1)} MB file, loaded in ${loadSeconds.toFixed(3)} s, ` +
    `RSS ${(process.memoryUsage.rss() / MB).toFixed(1)} MB${loops}${shard}, pid ${process.pid}\n`,
  );

  let lastRequests = 0;
  const statsTimer = setInterval(() => {
    const s = serving.stats;
    const requests = s.total(REQUESTS);
    if (opts.quiet || requests === lastRequests) return;
    const rate = (requests - lastRequests) / (STATS_INTERVAL_MS / 1000);
    lastRequests = requests;
    process.stderr.write(
      `rokv: ${Math.round(rate).toLocaleString('en-US')} req/s, ${s.total(OPEN)} connections, ` +
      `${requests.toLocaleString('en-US')} requests (${s.total(HITS)} hits, ${s.total(MISSES)} misses, ${s.total(ERRORS)} errors), ` +
      `RSS ${(process.memoryUsage.rss() / MB).toFixed(1)} MB\n`,
    );
  }, STATS_INTERVAL_MS);
  statsTimer.unref();

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`rokv: ${signal}: closing ${serving.stats.total(OPEN)} connections\n`);
      serving.close().then(resolve);
    };
    process.once('SIGINT', stop).once('SIGTERM', stop);
  });
  clearInterval(statsTimer);
}));

await program.parseAsync();

// bin/server: loads a packed data file and serves it over the rokv protocol until
// SIGINT/SIGTERM, on one event loop or (--workers N) on N sharing the port and one
// copy of the data; reloads the file on SIGHUP (and with --watch when it changes),
// off the event loop; prints one startup line and, unless --quiet, a stats line every
// --stats-interval seconds. A log line never takes the server down.

import { Worker } from 'node:worker_threads';
import { Command, InvalidArgumentError } from 'commander';
import { ignoreBrokenOutput, parseIntIn, parseNumberIn, runMain } from '../cli.ts';
import { checkShard } from '../cluster/map.ts';
import { InputError } from '../errors.ts';
import { DataFile } from '../format/data-file.ts';
import { loadDataFile } from '../format/load.ts';
import { DEFAULT_HOST, DEFAULT_PORT } from '../protocol/rokv/constants.ts';
import { type DataVersion, Service, type ServiceOptions, versionOf } from '../service/service.ts';
import { ERRORS, HITS, MISSES, OPEN, REQUESTS, Stats } from '../service/stats.ts';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PARTIAL_BYTES, DEFAULT_MAX_UNSENT_BYTES } from './server.ts';
import { type ServeSettings, endpoints, transportFor } from './settings.ts';
import { DataVersions, type VersionSink } from './versions.ts';
import type { WorkerSetup } from './worker.ts';

const MB = 1e6;
const MIB = 2 ** 20;

function parseHost(text: string): string {
  if (text.trim() === '') throw new InvalidArgumentError('an empty host is not an address (0.0.0.0 or :: listens on every interface)');
  return text;
}
const WORKER_MODULE = import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js';

interface Serving {
  /** Bound ports in endpoint order (binary, then RESP). */
  ports: number[];
  stats: Stats;
  /** Hands new data versions to every event loop. */
  versions: VersionSink;
  close(): Promise<void>;
}

function listenError(host: string, ports: number[], code: string | undefined, message: string): InputError {
  const reason = code === 'EADDRINUSE' ? 'address in use' : code === 'EACCES' ? 'permission denied' : message;
  return new InputError(`cannot listen on ${host}:${ports.join(' and ')}: ${reason}`);
}

function askedPorts(settings: ServeSettings): number[] {
  return endpoints(settings).map((e) => e.port);
}

async function serveHere(service: Service, settings: ServeSettings): Promise<Serving> {
  const server = transportFor(service, settings, 0);
  try {
    const ports = await server.listen();
    const file = service.facts().file;
    const versions: VersionSink = {
      swap: (bytes, version, extra) => service.swap(DataFile.fromValidated(bytes, file), version, extra),
      note: (version) => service.noteVersion(version),
    };
    return { ports, stats: service.stats, versions, close: () => server.close() };
  } catch (error) {
    throw listenError(settings.host, askedPorts(settings), (error as NodeJS.ErrnoException).code, (error as Error).message);
  }
}

/** Starts one worker per loop; the first binds (maybe port 0), the rest join its ports. */
async function serveOnWorkers(bytes: SharedArrayBuffer, serviceOptions: ServiceOptions, settings: ServeSettings): Promise<Serving> {
  const statsBuffer = Stats.sharedBuffer(settings.loops);
  const workers: Worker[] = [];
  let bound = settings;
  for (let loop = 0; loop < settings.loops; loop++) {
    const setup: WorkerSetup = { bytes, stats: statsBuffer, loop, settings: bound, service: serviceOptions };
    const worker = new Worker(new URL(WORKER_MODULE, import.meta.url), { workerData: setup });
    workers.push(worker);
    const ports = await new Promise<number[]>((resolve, reject) => {
      worker.once('message', (m: { type: string; ports?: number[]; code?: string; message?: string }) => {
        if (m.type === 'listening') resolve(m.ports as number[]);
        else reject(listenError(settings.host, askedPorts(bound), m.code, m.message ?? ''));
      });
      worker.once('error', reject);
    }).catch(async (error) => {
      await Promise.all(workers.map((w) => w.terminate()));
      throw error;
    });
    bound = { ...bound, port: ports[0], respPort: bound.respPort === null ? null : ports[1] };
  }
  const close = () => Promise.all(workers.map((worker) => new Promise<void>((resolve) => {
    worker.once('exit', () => resolve());
    worker.postMessage('close');
  }))).then(() => undefined);
  const versions: VersionSink = {
    swap: (newBytes, version, extra) => {
      for (const worker of workers) worker.postMessage({ type: 'swap', bytes: newBytes, version, extra });
    },
    note: (version) => {
      for (const worker of workers) worker.postMessage({ type: 'version', version });
    },
  };
  return { ports: askedPorts(bound), stats: new Stats(statsBuffer), versions, close };
}

const program = new Command('server')
  .description('Serve GETs from a packed rokv data file over TCP: rokv\'s binary protocol (shared/protocol.md) and, with --resp-port, the Redis protocol (docs/RESP.md).')
  .argument('<file>', 'the packed data file')
  .option('--host <host>', 'address to listen on', parseHost, DEFAULT_HOST)
  .option('-p, --port <port>', 'TCP port of the binary protocol (0 = any free port)', parseIntIn(0, 65_535), DEFAULT_PORT)
  .option('--resp-port <port>', 'also serve the Redis protocol (RESP2/RESP3, read-only) on this port (0 = any free port)', parseIntIn(0, 65_535))
  .option('--max-connections <n>', 'connections beyond this, over both ports, are refused, per event loop (0 = no limit)', parseIntIn(0, 10_000_000), DEFAULT_MAX_CONNECTIONS)
  .option('--max-unsent-mb <MiB>', 'replies clients have not taken, per event loop, beyond which clients with replies waiting are not read', parseNumberIn(1, 1_000_000), DEFAULT_MAX_UNSENT_BYTES / MIB)
  .option('--max-partial-mb <MiB>', 'unfinished requests buffered, per event loop; a connection that would pass it is closed', parseNumberIn(1, 1_000_000), DEFAULT_MAX_PARTIAL_BYTES / MIB)
  .option('--idle-timeout <seconds>', 'close connections idle or not draining this long (0 = never)', parseNumberIn(0, 86_400 * 365), 0)
  .option('-w, --workers <n>', 'event loops (worker threads) sharing the port and one copy of the data', parseIntIn(1, 256), 1)
  .option('--cluster <map.json>', 'this file is a shard of that cluster map: check it, and report shard and map id in INFO')
  .option('--watch', 'also reload the file when its path changes (polled about once a second); SIGHUP always reloads')
  .option('--verify', 'also find every key through the index before serving (slower start)')
  .option('--stats-interval <seconds>', 'seconds between stats lines on stderr', parseNumberIn(0.1, 86_400), 10)
  .option('-q, --quiet', 'no periodic stats line')
  .showHelpAfterError();

program.action((file: string, opts) => runMain('server', async () => {
  ignoreBrokenOutput();
  const started = performance.now();
  const data = loadDataFile(file, { shared: opts.workers > 1 });
  if (opts.verify) data.verifyKeys();
  const extraInfo: Record<string, unknown> = opts.cluster ? checkShard(opts.cluster, file, data) : {};
  const loadSeconds = (performance.now() - started) / 1000;
  const settings: ServeSettings = {
    host: opts.host,
    port: opts.port,
    respPort: opts.respPort ?? null,
    maxConnections: opts.maxConnections,
    idleTimeoutMs: opts.idleTimeout * 1000,
    maxUnsentBytes: opts.maxUnsentMb * MIB,
    maxPartialBytes: opts.maxPartialMb * MIB,
    loops: opts.workers,
  };
  const initial: DataVersion = { version: versionOf(data), loadedAt: new Date().toISOString(), reloads: 0, reloadFailures: 0, lastReloadError: null };
  const serviceOptions: ServiceOptions = { file, maxConnections: opts.maxConnections, workers: opts.workers, extraInfo, dataVersion: initial };
  const serving = opts.workers > 1
    ? await serveOnWorkers(data.bytes.buffer as SharedArrayBuffer, serviceOptions, settings)
    : await serveHere(new Service(data, serviceOptions), settings);
  // Before the listening line: a SIGHUP sent as soon as it appears must reload, not kill.
  const versions = new DataVersions(file, opts.cluster, initial, serving.versions, (line) => process.stderr.write(`${line}\n`));
  const onHangup = () => void versions.reload('SIGHUP');
  process.on('SIGHUP', onHangup);
  if (opts.watch) await versions.watch();
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const loops = opts.workers > 1 ? `, ${opts.workers} event loops` : '';
  const resp = settings.respPort === null ? '' : `, RESP on ${host}:${serving.ports[1]}`;
  const shard = opts.cluster ? `, shard ${extraInfo.shard} of cluster ${extraInfo.cluster}` : '';
  process.stdout.write(
    `rokv listening on ${host}:${serving.ports[0]}${resp}: ${data.recordCount.toLocaleString('en-US')} records, ` +
    `${(data.bytes.length / MB).toFixed(1)} MB file, loaded in ${loadSeconds.toFixed(3)} s, ` +
    `RSS ${(process.memoryUsage.rss() / MB).toFixed(1)} MB${loops}${shard}, pid ${process.pid}\n`,
  );

  let lastRequests = 0;
  const statsTimer = setInterval(() => {
    const s = serving.stats;
    const requests = s.total(REQUESTS);
    if (opts.quiet || requests === lastRequests) return;
    const rate = (requests - lastRequests) / opts.statsInterval;
    lastRequests = requests;
    process.stderr.write(
      `rokv: ${Math.round(rate).toLocaleString('en-US')} req/s, ${s.total(OPEN)} connections, ` +
      `${requests.toLocaleString('en-US')} requests (${s.total(HITS)} hits, ${s.total(MISSES)} misses, ${s.total(ERRORS)} errors), ` +
      `RSS ${(process.memoryUsage.rss() / MB).toFixed(1)} MB\n`,
    );
  }, opts.statsInterval * 1000);
  statsTimer.unref();

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`rokv: ${signal}: closing ${serving.stats.total(OPEN)} connections\n`);
      versions.stop();
      serving.close().then(resolve);
    };
    process.once('SIGINT', stop).once('SIGTERM', stop);
  });
  process.off('SIGHUP', onHangup);
  clearInterval(statsTimer);
}));

await program.parseAsync();

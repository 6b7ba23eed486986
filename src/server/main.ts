#!/usr/bin/env node
// bin/server: loads a packed data file and serves it over the rokv protocol until
// SIGINT/SIGTERM, on one event loop or (--workers N) on N sharing the port and one
// copy of the data; reloads the file on SIGHUP (and with --watch when it changes),
// off the event loop; prints one startup line and, unless --quiet, a stats line every
// --stats-interval seconds. A log line never takes the server down.

import '../node-version.ts'; // first: an older Node gets one line, not a TypeError
import { InvalidArgumentError } from 'commander';
import { prepareServerProcess } from './process-setup.ts';
import { asFlag, ignoreBrokenOutput, newCommand, parseIntIn, parseNumberIn, runMain } from '../cli.ts';
import { type NodeAddress, formatAddress, parseAddress } from '../addresses.ts';
import type { ShardRole } from '../cluster/map.ts';
import { InputError, UsageError } from '../errors.ts';
import { DataFile } from '../format/data-file.ts';
import { DEFAULT_HOST, DEFAULT_PORT } from '../protocol/rokv/constants.ts';
import { type DataVersion, Service, type ServiceOptions, collectGarbage, newVersion } from '../service/service.ts';
import { ERRORS, HITS, MISSES, OPEN, REQUESTS, Stats } from '../service/stats.ts';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PARTIAL_BYTES, DEFAULT_MAX_UNSENT_BYTES, DEFAULT_SHUTDOWN_GRACE_MS } from './server.ts';
import { type ServeSettings, endpoints, listeningOn, transportFor, withPorts } from './settings.ts';
import { type AuthClients, DEFAULT_HANDSHAKE_TIMEOUT_MS, type TlsFiles, checkTlsFiles, readTlsFiles, tlsFromFlags } from './tls.ts';
import { DataVersions, type VersionSink } from './versions.ts';
import { DEFAULT_MAX_READS } from '../storage/disk.ts';
import { STORAGE_TIERS, type StorageTier, type VersionFile, residencyProbe } from '../storage/tiers.ts';
import { FileLeases } from './leases.ts';
import { REQUIREPASS_ENV, authFromFlags } from './auth-flags.ts';
import { openChecked } from './open-version.ts';
import type { LoadProgress } from '../format/data-file.ts';
import { Progress } from '../progress.ts';
import { PeerProbe } from './peer-probe.ts';
import { WorkerPool } from './worker-pool.ts';

const MB = 1e6;
/** Why the server stops when its worker threads die in a crash loop. */
const GIVING_UP = 'event loops keep dying';
const MIB = 2 ** 20;

/** A flag that takes one of `choices` (--storage's tiers, Redis's yes|no words). */
function oneOf<T extends string>(...choices: T[]): (text: string) => T {
  return (text) => {
    if (!(choices as string[]).includes(text)) throw new InvalidArgumentError(`"${text}" is not one of ${choices.join(', ')}`);
    return text as T;
  };
}

function parseHost(text: string): string {
  if (text.trim() === '') throw new InvalidArgumentError('an empty host is not an address (0.0.0.0 or :: listens on every interface)');
  return text;
}

interface Serving {
  /** Bound ports in endpoint order (binary, RESP, binary over TLS, RESP over TLS; those on). */
  ports: number[];
  /** New certificate files for every TLS listener; resolves once every event loop took them. */
  setTlsFiles(files: TlsFiles): void | Promise<void>;
  stats: Stats;
  /** Hands new data versions to every event loop. */
  versions: VersionSink;
  close(): Promise<void>;
}

/** "cannot listen on HOST:PORT: reason", naming the one port that failed when the error says which. */
function listenError(host: string, ports: number[], code: string | undefined, message: string, failed?: number): InputError {
  const reason = code === 'EADDRINUSE' ? 'address in use' : code === 'EACCES' ? 'permission denied' : message;
  return new InputError(`cannot listen on ${host}:${failed || ports.join(' and ')}: ${reason}`);
}

function askedPorts(settings: ServeSettings): number[] {
  return endpoints(settings).map((e) => e.port);
}

async function serveHere(service: Service, settings: ServeSettings, leases: FileLeases): Promise<Serving> {
  const server = transportFor(service, settings, 0);
  try {
    const ports = await server.listen();
    const versions: VersionSink = {
      // The loop's lease on the new version's descriptor: given back once mapped (mmap) or retired (disk).
      swap: (file, version, role) => {
        leases.hold(file.fd);
        service.swap(file, version, role);
      },
      note: (version) => service.noteVersion(version),
    };
    return { ports, stats: service.stats, versions, close: () => server.close(), setTlsFiles: (files) => server.setTlsFiles(files) };
  } catch (error) {
    throw listenError(settings.host, askedPorts(settings), (error as NodeJS.ErrnoException).code, (error as Error).message, (error as { port?: number }).port);
  }
}

/** Serves on `settings.loops` worker threads; `onGiveUp` is called if they die in a crash loop. */
async function serveOnWorkers(file: VersionFile, serviceOptions: ServiceOptions, peers: SharedArrayBuffer | null, settings: ServeSettings, leases: FileLeases, onGiveUp: () => void): Promise<Serving & { pool: WorkerPool }> {
  const pool = new WorkerPool(file, serviceOptions, peers, settings, leases, (line) => process.stderr.write(`${line}\n`), onGiveUp);
  const ports = await pool.start().catch((error) => {
    throw listenError(settings.host, askedPorts(settings), error.code, error.message, error.port);
  });
  const versions: VersionSink = {
    swap: (newFile, version, role) => pool.swap(newFile, version, role),
    note: (version) => pool.note(version),
  };
  return { ports, stats: pool.stats, versions, close: () => pool.close(), setTlsFiles: (files) => pool.setTlsFiles(files), pool };
}

const program = newCommand('server')
  .description('Serve GETs from a packed rokv data file over TCP: rokv\'s binary protocol (docs/PROTOCOL.md) and, with --resp-port, the Redis protocol (docs/RESP.md).')
  .argument('<file>', 'the packed data file')
  .option('--host <host>', 'address to listen on', parseHost, DEFAULT_HOST)
  .option('-p, --port <port>', 'TCP port of the binary protocol (0 = any free port; beside --tls-port or --tls-resp-port, 0 turns the clear binary port off)', parseIntIn(0, 65_535), DEFAULT_PORT)
  .option('--resp-port <port>', 'also serve the Redis protocol (RESP2/RESP3, read-only) on this port (0 = any free port)', parseIntIn(0, 65_535))
  .option('--tls-port <port>', 'also serve the binary protocol over TLS on this port (0 = any free port); then --port 0 turns the clear binary port off, as Redis\'s port 0', parseIntIn(0, 65_535))
  .option('--tls-resp-port <port>', 'also serve RESP over TLS on this port (0 = any free port)', parseIntIn(0, 65_535))
  .option('--tls-cert-file <file>', 'the server\'s certificate (PEM; a chain: the server\'s first); re-read on SIGHUP')
  .option('--tls-key-file <file>', 'the certificate\'s private key (PEM, not encrypted); re-read on SIGHUP')
  .option('--tls-ca-cert-file <file>', 'CA certificates (PEM) that client certificates must chain to; re-read on SIGHUP')
  .option('--tls-auth-clients <yes|no|optional>', 'yes: clients must present a certificate the CA signed; optional: one given is checked; no: none is asked for (Redis\'s tls-auth-clients)', oneOf<AuthClients>('yes', 'no', 'optional'), 'yes' as AuthClients)
  .option('--tls-protocols <list>', 'TLS versions allowed, e.g. "TLSv1.2 TLSv1.3" (the default)')
  .option('--tls-ciphers <list>', 'OpenSSL cipher list for TLSv1.2 and below (Redis\'s tls-ciphers)')
  .option('--tls-ciphersuites <list>', 'OpenSSL cipher suites for TLSv1.3, e.g. TLS_AES_256_GCM_SHA384 (Redis\'s tls-ciphersuites)')
  .option('--tls-handshake-timeout <seconds>', 'cut a TLS handshake not finished this long after the connection was accepted', parseNumberIn(0.1, 3600), DEFAULT_HANDSHAKE_TIMEOUT_MS / 1000)
  .option('--tls-cluster <yes|no>', 'with --cluster (slots): the map\'s ports are --tls-resp-port ports, announced as such, and the peer probe speaks TLS (Redis\'s tls-cluster)', oneOf('yes', 'no'), 'no')
  .option('--tls-metrics <yes|no>', 'serve --metrics-port over HTTPS with --tls-cert-file and --tls-key-file (no client certificate asked for)', oneOf('yes', 'no'), 'no')
  .option('--max-connections <n>', 'connections beyond this, over both ports, are refused, per event loop (0 = no limit)', parseIntIn(0, 10_000_000), DEFAULT_MAX_CONNECTIONS)
  .option('--max-unsent-mb <MiB>', 'replies clients have not taken, per event loop, beyond which clients with replies waiting are not read', parseNumberIn(1, 1_000_000), DEFAULT_MAX_UNSENT_BYTES / MIB)
  .option('--max-partial-mb <MiB>', 'unfinished requests buffered, per event loop; a connection that would pass it is closed', parseNumberIn(1, 1_000_000), DEFAULT_MAX_PARTIAL_BYTES / MIB)
  .option('--idle-timeout <seconds>', 'close connections idle or not draining this long (0 = never)', parseNumberIn(0, 86_400 * 365), 0)
  .option('--shutdown-timeout <seconds>', 'on SIGTERM/SIGINT, connections still open this long (answers not taken, or the client never closes) are cut', parseNumberIn(0, 86_400), DEFAULT_SHUTDOWN_GRACE_MS / 1000)
  .option('-w, --workers <n>', 'event loops (worker threads) sharing the port and one copy of the data', parseIntIn(1, 256), 1)
  .option('--storage <tier>', `where records live: ${STORAGE_TIERS.join(', ')} — memory reads the whole file into the process; mmap maps it (needs the native addon: make addon); disk keeps only the index in memory and reads records from the file (see README, Storage tiers)`, oneOf(...STORAGE_TIERS), 'memory' as StorageTier)
  .option('--disk-reads <n>', `with --storage disk: record reads in flight per event loop (libuv's thread pool gets that many threads per loop, up to 1024, unless UV_THREADPOOL_SIZE is set)`, parseIntIn(1, 1024), DEFAULT_MAX_READS)
  .option('--cluster <map.json>', 'this file is a shard of that cluster map (bin/shard): check it, report shard and map id in INFO; with a slots map, serve Redis Cluster (CLUSTER, MOVED, CROSSSLOT) on --resp-port')
  .option('--cluster-node <host:port>', 'with a slots map: which of its servers this is (default: the one of this shard at --host and --resp-port)', asFlag(parseAddress))
  .option('--metrics-port <port>', 'serve Prometheus /metrics and /healthz over HTTP on this port (0 = any free port)', parseIntIn(0, 65_535))
  .option('--metrics-host <host>', 'address of the metrics listener (default: --host)', parseHost)
  .option('--requirepass <password>', `clients (both protocols) must authenticate (AUTH) as the default user with this password (visible in ps: prefer --requirepass-file or ${REQUIREPASS_ENV} in the environment)`)
  .option('--requirepass-file <file>', 'the default user\'s password is this file\'s content (less a final line end)')
  .option('--aclfile <file>', 'users, their passwords and key patterns, in Redis\'s ACL file syntax (docs/RESP.md, Users)')
  .option('--protected-mode <yes|no>', 'with no password for the default user and a --host that is not loopback, refuse clients that are not on loopback (Redis\'s protected mode; docs/SECURITY.md)', oneOf('yes', 'no'), 'yes')
  .option('--watch', 'also reload the file when its path changes (polled about once a second); SIGHUP always reloads')
  .option('--verify', 'also find every key through the index before serving (slower start)')
  .option('--stats-interval <seconds>', 'seconds between stats lines on stderr', parseNumberIn(0.1, 86_400), 10)
  .option('-q, --quiet', 'no periodic stats line');

program.action((file: string, opts) => runMain('server', async () => {
  const tier: StorageTier = opts.storage;
  prepareServerProcess(tier === 'disk' ? Math.min(1024, opts.diskReads * opts.workers) : undefined);
  ignoreBrokenOutput();
  const started = performance.now();
  if (opts.clusterNode && !opts.cluster) throw new UsageError('--cluster-node goes with --cluster');
  if (opts.metricsHost !== undefined && opts.metricsPort === undefined) throw new UsageError('--metrics-host goes with --metrics-port');
  if (opts.verify && tier !== 'memory') throw new UsageError('--verify goes with --storage memory (the mmap and disk tiers find every record through the index while verifying)');
  const wildcard = opts.host === '0.0.0.0' || opts.host === '::';
  if (opts.tlsCluster === 'yes' && (opts.cluster === undefined || opts.tlsRespPort === undefined)) throw new UsageError('--tls-cluster goes with --cluster and --tls-resp-port');
  // The map names the RESP port clients use: the TLS one with --tls-cluster.
  const clusterPort: number | undefined = opts.tlsCluster === 'yes' ? opts.tlsRespPort : opts.respPort;
  const self: NodeAddress | null = opts.clusterNode ?? (clusterPort === undefined ? null : { host: wildcard ? '' : opts.host, port: clusterPort });
  const auth = authFromFlags(opts); // before loading: a bad ACL file is refused at once
  if (opts.tlsMetrics === 'yes' && opts.metricsPort === undefined) throw new UsageError('--tls-metrics goes with --metrics-port');
  const tlsOn = opts.tlsPort !== undefined || opts.tlsRespPort !== undefined;
  if (!tlsOn && opts.tlsMetrics === 'no' && (opts.tlsAuthClients !== 'yes' || opts.tlsHandshakeTimeout !== DEFAULT_HANDSHAKE_TIMEOUT_MS / 1000)) {
    throw new UsageError('--tls-auth-clients and --tls-handshake-timeout go with --tls-port or --tls-resp-port');
  }
  const tls = tlsFromFlags(opts, tlsOn, opts.tlsMetrics === 'yes');
  // `let`, dropped after the listening line: this function stays suspended while the
  // server runs, and a first version held here would outlive every hot swap.
  let first: VersionFile | null = null;
  let role: ShardRole | null = null;
  // A load over a second shows how far it came, on a terminal (src/progress.ts).
  const loading = new Progress('server', { firstAfterMs: 1000, quiet: opts.quiet });
  let stage = '';
  const onProgress: LoadProgress = (what, done, total) => {
    if (what !== stage) loading.start(`${(stage = what)} ${file}`, 'bytes', total);
    loading.update(done);
  };
  try {
    ({ version: first, role } = openChecked({ file, tier, clusterMap: opts.cluster, self }, opts.workers > 1, onProgress));
  } finally {
    loading.end();
  }
  if (opts.verify) DataFile.fromValidated(first.shared as SharedArrayBuffer, file).verifyKeys();
  const leases = new FileLeases();
  leases.hold(first.fd);
  // Slots placement: one live flag per server, kept by the peer probe, read by every loop.
  const peers = role?.placement === 'slots' ? new SharedArrayBuffer(role.nodes.length) : null;
  const loadSeconds = (performance.now() - started) / 1000;
  const settings: ServeSettings = {
    host: opts.host,
    port: tlsOn && opts.port === 0 ? null : opts.port,
    respPort: opts.respPort ?? null,
    tlsPort: opts.tlsPort ?? null,
    tlsRespPort: opts.tlsRespPort ?? null,
    tls,
    maxConnections: opts.maxConnections,
    idleTimeoutMs: opts.idleTimeout * 1000,
    maxUnsentBytes: opts.maxUnsentMb * MIB,
    maxPartialBytes: opts.maxPartialMb * MIB,
    shutdownGraceMs: opts.shutdownTimeout * 1000,
    loops: opts.workers,
    auth,
    protectedMode: opts.protectedMode === 'yes',
  };
  const initial: DataVersion = newVersion(first.header, null);
  // /metrics' residency probe (a mapping of the file), made only for a metrics port and
  // while each version's descriptor is open: the loops may close it once they serve it.
  const probeOf = (version: VersionFile) => (opts.metricsPort === undefined ? () => -1 : residencyProbe(version));
  let residency = probeOf(first);
  const serviceOptions: ServiceOptions = { file, maxConnections: opts.maxConnections, role, dataVersion: initial, maxReads: opts.diskReads };
  let giveUp = () => {};
  const gaveUp = new Promise<string>((resolve) => (giveUp = () => resolve(GIVING_UP)));
  const serving = opts.workers > 1
    ? await serveOnWorkers(first, serviceOptions, peers, settings, leases, giveUp)
    : await serveHere(new Service(first, { ...serviceOptions, peers: peers ? new Uint8Array(peers) : undefined, onRelease: (v) => leases.release(v.fd) }), settings, leases);
  // Every signal handler before the listening line: a signal sent as soon as it appears
  // must be handled, not kill the process.
  const sink: VersionSink = {
    swap: (version, dataVersion, newRole) => {
      residency = probeOf(version);
      serving.versions.swap(version, dataVersion, newRole);
      // The old probe's mapping holds the replaced file's blocks until it is collected: now.
      if (opts.metricsPort !== undefined) setImmediate(collectGarbage);
    },
    note: (dataVersion) => serving.versions.note(dataVersion),
  };
  const versions = new DataVersions(file, tier, role && { map: opts.cluster, role, self }, initial, sink, (line) => process.stderr.write(`${line}\n`));
  // No handler is ever removed: a signal is handled until the process exits, which a
  // reload's loading thread may hold off past the shutdown (default actions would kill).
  let stopping = false;
  const ignored = (signal: string) => void process.stderr.write(`rokv: ${signal} ignored: shutting down\n`);
  // SIGHUP also takes new certificate files: new handshakes use them, open connections go on.
  const tlsUsers: ((files: TlsFiles) => void | Promise<void>)[] = [(files) => serving.setTlsFiles(files)];
  const reloadTls = async () => {
    if (tls === null) return;
    let files: TlsFiles;
    try {
      files = readTlsFiles(tls.paths);
      checkTlsFiles(tls, files);
    } catch (error) {
      return void process.stderr.write(`rokv: SIGHUP: TLS certificate files refused, the old ones stay: ${(error as Error).message}\n`);
    }
    await Promise.all(tlsUsers.map((use) => use(files)));
    process.stderr.write('rokv: SIGHUP: TLS certificate files re-read\n');
  };
  process.on('SIGHUP', () => {
    if (stopping) return ignored('SIGHUP');
    void reloadTls();
    void versions.reload('SIGHUP');
  });
  if (opts.watch) await versions.watch();
  // Tests kill a worker this way (never set in production): see the README.
  const onFault = () => (stopping ? ignored('SIGUSR2') : (serving as { pool?: WorkerPool }).pool?.injectFault());
  if (process.env.ROKV_TEST_FAULTS === '1') process.on('SIGUSR2', onFault);
  const metricsHost: string = opts.metricsHost ?? opts.host;
  // Loaded only when asked: prom-client costs memory a server without metrics need not pay.
  const metrics = opts.metricsPort === undefined ? null : await (await import('./metrics.ts')).listenMetrics(
    { stats: serving.stats, dataVersion: () => versions.current, serving: () => !stopping, storage: tier, residentBytes: () => residency() }, metricsHost, opts.metricsPort, opts.tlsMetrics === 'yes' ? tls : null,
  ).catch(async (error: NodeJS.ErrnoException) => {
    versions.stop();
    await serving.close();
    throw listenError(metricsHost, [opts.metricsPort], error.code, error.message);
  });
  // Once stopping, as Redis: SIGTERM again only logs (--shutdown-timeout bounds the wait);
  // SIGINT again, a human insisting, exits at once with status 1, cutting what is open.
  const stopped = new Promise<string>((resolve) => {
    const onStop = (signal: NodeJS.Signals) => {
      if (!stopping) return resolve(signal);
      if (signal === 'SIGTERM') return void process.stderr.write(`rokv: SIGTERM while shutting down: still closing (connections open ${opts.shutdownTimeout} s after it began are cut; SIGINT exits now)\n`);
      process.stderr.write('rokv: SIGINT while shutting down: exiting now, status 1\n');
      process.exit(1);
    };
    process.on('SIGINT', onStop).on('SIGTERM', onStop);
  });
  if (metrics !== null) tlsUsers.push((files) => metrics.setTlsFiles(files));
  const loops = opts.workers > 1 ? `, ${opts.workers} event loops` : '';
  const metricsAt = metrics === null ? '' : `, metrics on ${opts.tlsMetrics === 'yes' ? 'https' : 'http'}://${formatAddress({ host: metricsHost, port: metrics.port })}/metrics`;
  const shard = role === null ? '' : `, shard ${role.shard} of ${role.placement} cluster ${role.cluster}${role.node === null ? '' : ` as ${formatAddress(role.nodes[role.node])}`}`;
  const probe = peers && role?.node != null
    ? new PeerProbe(role.nodes, role.node, new Uint8Array(peers), () => (versions.served ?? role).cluster,
      (node, live, why) => process.stderr.write(`rokv: cluster server ${formatAddress(role.nodes[node])} is ${live ? 'up' : 'down'}${why === null ? '' : `: ${why}`}\n`))
    : null;
  if (probe !== null && opts.tlsCluster === 'yes' && tls !== null) {
    const probeTls = (files: TlsFiles) => probe.useTls({ ca: files.ca ?? undefined, cert: files.cert, key: files.key });
    probeTls(tls.files);
    tlsUsers.push(probeTls);
  }
  probe?.start();
  process.stdout.write(
    `rokv listening on ${listeningOn(withPorts(settings, serving.ports))}${metricsAt}: ${first.header.recordCount.toLocaleString('en-US')} records, ` +
    `${(first.size / MB).toFixed(1)} MB file, ${tier === 'memory' ? 'loaded' : `verified (--storage ${tier})`} in ${loadSeconds.toFixed(3)} s, ` +
    `RSS ${(process.memoryUsage.rss() / MB).toFixed(1)} MB${loops}${shard}, pid ${process.pid}\n`,
  );
  first = null;

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

  const reason = await Promise.race([gaveUp, stopped]);
  stopping = true;
  process.stderr.write(`rokv: ${reason}: closing ${serving.stats.total(OPEN)} connections\n`);
  versions.stop();
  probe?.stop();
  await serving.close();
  await metrics?.close();
  if (reason === GIVING_UP) process.exitCode = 1; // for a supervisor to restart the process
  clearInterval(statsTimer);
}));

await program.parseAsync();

// --metrics-port: an HTTP listener (HTTPS with --tls-metrics) serving /metrics
// (Prometheus text exposition, by prom-client) and /healthz. Every rokv number is read
// at scrape time from the plain counters the event loops keep (service/stats.ts, summed
// over --workers); nothing is computed per request. The process_* metrics follow Prometheus's client conventions
// (RSS, CPU, open file descriptors, start time).

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { RESP_COMMAND_NAMES } from '../protocol/resp/command-numbers.ts';
import { ROKV_COMMAND_NAMES } from '../protocol/rokv/session.ts';
import { type DataVersion, anonymousBytes } from '../service/service.ts';
import {
  ACCEPTED, AUTH_FAILURES, BYTES_IN, BYTES_OUT, DENIED_KEYS, DISK_READ_SECONDS, DISK_READS, DISK_READS_IN_FLIGHT, ERRORS, HITS, LIVE, LOOP_LAG_MAX_MS,
  LOOP_LAG_MEAN_MS, MISSES, OPEN, OUTCOMES, PARTIAL_BYTES, PROTOCOLS, REJECTED, Stats, UNSENT_BYTES, requestField,
} from '../service/stats.ts';
import type { StorageTier } from '../storage/tiers.ts';
import { ROKV_VERSION } from '../service/version.ts';
import { type TlsFiles, type TlsSettings, secureOptions } from './tls.ts';

/** What /metrics reads: the counters of every loop, and the data version now. */
export interface MetricsSource {
  stats: Stats;
  dataVersion(): DataVersion;
  /** False once the server is shutting down: /healthz answers 503. */
  serving(): boolean;
  /** Where records live (--storage). */
  storage: StorageTier;
  /** Bytes of the served file in memory now (tiers.ts residencyProbe), or -1 when unknown. */
  residentBytes(): number;
}

const COMMAND_NAMES: readonly (readonly string[])[] = [ROKV_COMMAND_NAMES, RESP_COMMAND_NAMES];
/**
 * Scrapers and probes are few: at most this many connections are open. One more
 * arriving cuts the connection idle longest to get in (idle: no request being
 * answered; one still arriving counts as idle, or a slow sender could hold the room),
 * so sockets held open by anyone cannot lock out a liveness probe. With every
 * connection answering a request, the newcomer is refused.
 */
const MAX_CONNECTIONS = 64;
const REQUEST_TIMEOUT_MS = 10_000;
const CONTENT_TYPE_TEXT = 'text/plain; charset=utf-8';

/** A counter whose value is `read()` at scrape time. */
function counter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name, help, registers: [registry],
    collect(this: Counter) {
      this.reset();
      this.inc(read());
    },
  });
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({ name, help, registers: [registry], collect(this: Gauge) { this.set(read()); } });
}

/** The registry of a server's metrics, read from `source`. */
export function serverMetrics(source: MetricsSource): Registry {
  const registry = new Registry();
  const s = source.stats;
  const startedAt = Date.now() / 1000 - process.uptime();
  gauge(registry, 'process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
  counter(registry, 'process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', () => {
    const cpu = process.cpuUsage();
    return (cpu.user + cpu.system) / 1e6;
  });
  gauge(registry, 'process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => startedAt);
  if (fs.existsSync('/proc/self/fd')) gauge(registry, 'process_open_fds', 'Number of open file descriptors.', () => fs.readdirSync('/proc/self/fd').length);

  new Counter({
    name: 'rokv_requests_total',
    help: 'Requests answered, by protocol, command and outcome (hit/miss: a single-key GET; ok: any other answer; error: an error reply).',
    labelNames: ['protocol', 'command', 'outcome'],
    registers: [registry],
    collect(this: Counter) {
      this.reset();
      PROTOCOLS.forEach((protocol, p) => COMMAND_NAMES[p].forEach((command, c) => OUTCOMES.forEach((outcome, o) => {
        const value = s.total(requestField(p, c, o));
        if (value > 0) this.inc({ protocol, command, outcome }, value);
      })));
    },
  });
  counter(registry, 'rokv_keyspace_hits_total', 'Keys looked up and found (GET, MGET, EXISTS, ...).', () => s.total(HITS));
  counter(registry, 'rokv_keyspace_misses_total', 'Keys looked up and not found.', () => s.total(MISSES));
  counter(registry, 'rokv_errors_total', 'Error replies sent.', () => s.total(ERRORS));
  counter(registry, 'rokv_auth_failures_total', 'Authentications refused: wrong password, unknown or disabled user (INFO acl_access_denied_auth).', () => s.total(AUTH_FAILURES));
  counter(registry, 'rokv_acl_denied_keys_total', 'Commands refused for a key the user may not read (INFO acl_access_denied_key).', () => s.total(DENIED_KEYS));
  gauge(registry, 'rokv_connections', 'Client connections open now.', () => s.total(OPEN));
  counter(registry, 'rokv_connections_accepted_total', 'Client connections accepted.', () => s.total(ACCEPTED));
  counter(registry, 'rokv_connections_rejected_total', 'Client connections refused (--max-connections).', () => s.total(REJECTED));
  counter(registry, 'rokv_net_input_bytes_total', 'Bytes read from clients.', () => s.total(BYTES_IN));
  counter(registry, 'rokv_net_output_bytes_total', 'Bytes of replies handed to client sockets.', () => s.total(BYTES_OUT));
  gauge(registry, 'rokv_unsent_reply_bytes', 'Reply bytes handed to sockets that clients have not taken yet.', () => s.total(UNSENT_BYTES));
  gauge(registry, 'rokv_partial_request_bytes', 'Bytes buffered for unfinished requests.', () => s.total(PARTIAL_BYTES));
  gauge(registry, 'rokv_event_loops', 'Event loops serving (--workers; fewer while a dead one restarts).', () => s.total(LIVE));
  for (const [name, field, what] of [['rokv_event_loop_lag_seconds', LOOP_LAG_MEAN_MS, 'Mean'], ['rokv_event_loop_lag_max_seconds', LOOP_LAG_MAX_MS, 'Longest']] as const) {
    new Gauge({
      name, help: `${what} event-loop lag of each serving loop over its last second.`, labelNames: ['loop'], registers: [registry],
      collect(this: Gauge) {
        this.reset();
        for (let loop = 0; loop < s.loops; loop++) if (s.of(loop, LIVE) > 0) this.set({ loop: String(loop) }, s.of(loop, field) / 1000);
      },
    });
  }
  new Gauge({
    name: 'rokv_data_version_info', help: 'The data version served (records checksum and count) and its file; always 1.',
    labelNames: ['version'], registers: [registry],
    collect(this: Gauge) {
      this.reset();
      this.set({ version: source.dataVersion().version }, 1);
    },
  });
  new Gauge({ name: 'rokv_storage_info', help: 'Where records live (--storage memory, mmap or disk); always 1.', labelNames: ['tier'], registers: [registry] }).set({ tier: source.storage }, 1);
  gauge(registry, 'rokv_anonymous_memory_bytes', 'Anonymous resident memory (RssAnon): heap, index and buffers, not the data file\'s page-cache pages.', anonymousBytes);
  gauge(registry, 'rokv_data_resident_bytes', 'Bytes of the data file in memory: all of it (memory tier), or its pages in the page cache (mmap, disk: mincore); -1 unknown (no native addon).', () => source.residentBytes());
  counter(registry, 'rokv_disk_reads_total', 'Records read from the file by the disk tier (page-cache hits answered at once are not counted).', () => s.total(DISK_READS));
  counter(registry, 'rokv_disk_read_seconds_total', 'Total latency of the disk tier\'s reads (divide by rokv_disk_reads_total for the mean).', () => s.total(DISK_READ_SECONDS));
  gauge(registry, 'rokv_disk_reads_in_flight', 'Disk-tier reads started and not yet done.', () => s.total(DISK_READS_IN_FLIGHT));
  gauge(registry, 'rokv_data_keys', 'Records in the data version served.', () => source.dataVersion().keys);
  gauge(registry, 'rokv_data_bytes', 'Bytes of the data file served.', () => source.dataVersion().bytes);
  gauge(registry, 'rokv_data_loaded_timestamp_seconds', 'When the data version served was loaded (Unix time).', () => Date.parse(source.dataVersion().loadedAt) / 1000);
  counter(registry, 'rokv_reloads_total', 'New data versions swapped in (SIGHUP, --watch).', () => source.dataVersion().reloads);
  counter(registry, 'rokv_reload_failures_total', 'Reloads refused (the old version kept serving).', () => source.dataVersion().reloadFailures);
  new Gauge({ name: 'rokv_build_info', help: 'rokv\'s version; always 1.', labelNames: ['version'], registers: [registry] }).set({ version: ROKV_VERSION }, 1);
  return registry;
}

export interface MetricsListener {
  port: number;
  /** New certificate files (SIGHUP) when serving HTTPS; nothing otherwise. */
  setTlsFiles(files: TlsFiles): void;
  close(): Promise<void>;
}

/** The open connections of the listener, least recently answered first, with the requests each is answering. */
class Connections {
  private readonly open = new Map<Socket, { answering: number }>();
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Admits `socket`, cutting the connection idle longest if the limit is reached; refuses it if none is idle. */
  admit(socket: Socket): void {
    if (this.open.size >= this.limit) {
      const idle = this.oldestIdle();
      if (idle === null) return void socket.destroy();
      this.open.delete(idle);
      idle.destroy();
    }
    this.open.set(socket, { answering: 0 });
    socket.once('close', () => this.open.delete(socket));
  }

  /** A request on `socket` is being answered until `res` closes (sent, or the connection gone). */
  answering(socket: Socket, res: http.ServerResponse): void {
    const state = this.open.get(socket);
    if (!state) return;
    state.answering++;
    res.once('close', () => {
      state.answering--;
      if (!this.open.has(socket)) return;
      this.open.delete(socket); // to the back: just answered
      this.open.set(socket, state);
    });
  }

  private oldestIdle(): Socket | null {
    for (const [socket, state] of this.open) if (state.answering === 0) return socket;
    return null;
  }
}

/**
 * Serves GET/HEAD /metrics and /healthz on host:port. Anything else: 404, or 405 for
 * another method. Slow or idle scrapers are cut after 10 s; past MAX_CONNECTIONS
 * open, the connection idle longest makes room for a new one.
 */
export async function listenMetrics(source: MetricsSource, host: string, port: number, tls: TlsSettings | null = null): Promise<MetricsListener> {
  const registry = serverMetrics(source);
  const connections = new Connections(MAX_CONNECTIONS);
  const options = { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: 5000 };
  const answer = (req: http.IncomingMessage, res: http.ServerResponse) => {
    connections.answering(req.socket, res);
    const path = (req.url ?? '').split('?')[0];
    const known = path === '/metrics' || path === '/healthz';
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (!known) return reply(404, CONTENT_TYPE_TEXT, 'not found: rokv serves /metrics and /healthz\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return reply(405, CONTENT_TYPE_TEXT, 'method not allowed\n');
    }
    if (path === '/healthz') {
      const live = source.serving() && source.stats.total(LIVE) > 0;
      return reply(live ? 200 : 503, CONTENT_TYPE_TEXT, live ? 'ok\n' : 'not serving\n');
    }
    registry.metrics().then(
      (text) => reply(200, registry.contentType, text),
      (error: Error) => reply(500, CONTENT_TYPE_TEXT, `metrics failed: ${error.message}\n`),
    );
  };
  // With --tls-metrics: HTTPS with the server's certificate, no client certificate asked for.
  const server = tls === null ? http.createServer(options, answer) : https.createServer({ ...options, ...secureOptions(tls, tls.files, false) }, answer);
  server.on(tls === null ? 'connection' : 'secureConnection', (socket: Socket) => connections.admit(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    setTlsFiles: (files) => {
      if (tls !== null) (server as https.Server).setSecureContext(secureOptions(tls, files, false));
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

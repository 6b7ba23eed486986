// The rokv server: a node:net listener on one event loop serving one loaded data file;
// owns the connections, the connection limit, idle and stall timeouts, INFO, and
// graceful shutdown.

import net, { type AddressInfo } from 'node:net';
import type { DataFile } from '../format/data-file.ts';
import { ERR_BUSY, PROTOCOL_VERSION } from '../protocol/constants.ts';
import { encodeError } from '../protocol/frames.ts';
import { Connection } from './connection.ts';
import { LoopLag } from './loop-lag.ts';
import { Output } from '../protocol/output.ts';
import { ACCEPTED, ERRORS, HITS, MISSES, OPEN, REJECTED, REQUESTS, Stats } from './stats.ts';

export interface ServerOptions {
  host: string;
  port: number;
  /** The data file's path as given, for INFO. */
  file: string;
  /** Further connections get BUSY; 0 = no limit. */
  maxConnections?: number;
  /** Close connections idle (or not draining) this long; 0 = never. */
  idleTimeoutMs?: number;
  /** Extra INFO fields (e.g. a shard id). */
  extraInfo?: Record<string, unknown>;
  /** Share the port with other event loops (worker threads) of this process. */
  reusePort?: boolean;
  /** Counters shared by all event loops, and this loop's row in them. */
  stats?: Stats;
}

/** How many sweeps make up one idle timeout: the timeout is enforced within 1/SWEEPS of it. */
const SWEEPS_PER_TIMEOUT = 4;
/** After a shutdown signal, connections that have not closed by then are destroyed. */
export const SHUTDOWN_GRACE_MS = 1500;

export class RokvServer {
  readonly data: DataFile;
  readonly stats: Stats;
  readonly output = new Output();
  readonly connections = new Set<Connection>();
  private readonly options: ServerOptions;
  private readonly listener: net.Server;
  private sweeper: NodeJS.Timeout | null = null;
  private servingSince = 0;
  private closing: Promise<void> | null = null;
  private readonly loopLag = new LoopLag();

  constructor(data: DataFile, options: ServerOptions) {
    this.data = data;
    this.options = options;
    this.stats = options.stats ?? new Stats();
    this.listener = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /** Starts listening; rejects with the system error (e.g. EADDRINUSE). */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen({ host: this.options.host, port: this.options.port, reusePort: this.options.reusePort }, () => {
        this.listener.off('error', reject);
        this.servingSince = performance.now();
        this.loopLag.start();
        const timeout = this.options.idleTimeoutMs ?? 0;
        if (timeout > 0) {
          this.sweeper = setInterval(() => this.sweep(), timeout / SWEEPS_PER_TIMEOUT);
          this.sweeper.unref();
        }
        resolve(this.listener.address() as AddressInfo);
      });
    });
  }

  info(): Record<string, unknown> {
    return {
      protocol: PROTOCOL_VERSION,
      keys: this.data.recordCount,
      data_bytes: this.data.bytes.length,
      file: this.options.file,
      uptime_s: (performance.now() - this.servingSince) / 1000,
      connections: this.stats.total(OPEN),
      requests: this.stats.total(REQUESTS),
      hits: this.stats.total(HITS),
      misses: this.stats.total(MISSES),
      errors: this.stats.total(ERRORS),
      connections_accepted: this.stats.total(ACCEPTED),
      connections_rejected: this.stats.total(REJECTED),
      rss_bytes: process.memoryUsage.rss(),
      loop_lag_ms: this.loopLag.last,
      pid: process.pid,
      ...this.options.extraInfo,
    };
  }

  forget(connection: Connection): void {
    if (this.connections.delete(connection)) this.stats.mine[OPEN]--;
  }

  /** Stops accepting, lets each connection finish what it received, then closes it. */
  close(graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      if (this.sweeper) clearInterval(this.sweeper);
      this.loopLag.stop();
      this.listener.close();
      for (const connection of this.connections) connection.shutdown();
      const force = setTimeout(() => {
        for (const connection of this.connections) connection.socket.destroy();
      }, graceMs);
      const check = () => {
        if (this.connections.size > 0) return setTimeout(check, 10);
        clearTimeout(force);
        resolve();
      };
      check();
    });
    return this.closing;
  }

  private accept(socket: net.Socket): void {
    const limit = this.options.maxConnections ?? 0;
    if (this.closing || (limit > 0 && this.connections.size >= limit)) {
      this.stats.mine[REJECTED]++;
      socket.on('error', () => socket.destroy());
      socket.end(encodeError(ERR_BUSY, this.closing ? 'server is shutting down' : `server is at its limit of ${limit} connections`));
      return;
    }
    this.stats.mine[ACCEPTED]++;
    this.stats.mine[OPEN]++;
    this.connections.add(new Connection(this, socket));
  }

  /** Closes connections idle, or not draining their output, for a whole timeout. */
  private sweep(): void {
    for (const connection of this.connections) {
      const socket = connection.socket;
      connection.idleSweeps = connection.active ? 0 : connection.idleSweeps + 1;
      connection.active = false;
      const stalled = socket.writableLength > 0 && socket.bytesWritten === connection.lastBytesWritten;
      connection.stalledSweeps = stalled ? connection.stalledSweeps + 1 : 0;
      connection.lastBytesWritten = socket.bytesWritten;
      if (connection.idleSweeps >= SWEEPS_PER_TIMEOUT && socket.writableLength === 0) socket.destroy();
      else if (connection.stalledSweeps >= SWEEPS_PER_TIMEOUT) socket.destroy();
    }
  }
}

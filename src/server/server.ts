// The transport of one event loop: node:net and node:tls listeners (one per protocol
// port) feeding Connections, one connection limit across all of them (unfinished TLS
// handshakes included), idle and stall timeouts, and graceful shutdown. It carries bytes
// for codecs and knows no protocol itself.

import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { Budget } from '../protocol/budget.ts';
import type { Codec } from '../protocol/codec.ts';
import { Output } from '../protocol/output.ts';
import type { Service } from '../service/service.ts';
import { ACCEPTED, BYTES_OUT, OPEN, PARTIAL_BYTES, REJECTED, UNSENT_BYTES } from '../service/stats.ts';
import { Connection, type LoopShared, closeGently } from './connection.ts';
import { socketQueues } from './kernel-queues.ts';
import { isLoopback } from './protected-mode.ts';
import { type TlsFiles, type TlsSettings, secureOptions } from './tls.ts';

export interface Endpoint {
  port: number;
  codec: Codec;
  /** What refuses a client in protected mode (Redis's DENIED text in this protocol), sent before closing. */
  denial: Buffer;
  /** Serve it over TLS with these settings; null: clear TCP. */
  tls: TlsSettings | null;
}

export interface TransportOptions {
  host: string;
  /** One listener per protocol, all on `host`. */
  endpoints: Endpoint[];
  /** Connections beyond this, over all endpoints, are refused; 0 = no limit. */
  maxConnections?: number;
  /** Close connections idle (or not draining) this long; 0 = never. */
  idleTimeoutMs?: number;
  /** Replies clients have not taken, over all connections, beyond which those clients are not read. */
  maxUnsentBytes?: number;
  /** Unfinished requests buffered over all connections; a connection that would pass it is closed. */
  maxPartialBytes?: number;
  /** At shutdown, connections still open this long after close() are destroyed. */
  shutdownGraceMs?: number;
  /** Protected mode (protected-mode.ts): clients not on loopback get the endpoint's denial. */
  protectedMode?: boolean;
  /** Share the ports with other event loops (worker threads) of this process. */
  reusePort?: boolean;
  /** This loop's index and the number of loops: connection ids stay unique across loops. */
  loop?: number;
  loops?: number;
}

/** Defaults: bounded memory whatever clients do (documented in the README). */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
export const DEFAULT_MAX_UNSENT_BYTES = 64 * 2 ** 20;
export const DEFAULT_MAX_PARTIAL_BYTES = 64 * 2 ** 20;

/** How many sweeps make up one idle timeout: the timeout is enforced within 1/SWEEPS of it. */
const SWEEPS_PER_TIMEOUT = 4;
/** After a shutdown signal, connections that have not closed by then are destroyed. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/** What every connection of one event loop shares: the output batch, the memory budgets, the counters. */
export function loopShared(service: Service, maxUnsentBytes: number, maxPartialBytes: number): LoopShared {
  return {
    out: new Output(service.counts, BYTES_OUT),
    counts: service.counts,
    unsent: new Budget(maxUnsentBytes, service.counts, UNSENT_BYTES),
    partials: new Budget(maxPartialBytes, service.counts, PARTIAL_BYTES),
  };
}

export class RokvServer {
  readonly service: Service;
  readonly connections = new Set<Connection>();
  private readonly shared: LoopShared;
  private readonly options: TransportOptions;
  private readonly listeners: net.Server[];
  /** TLS sockets open (raw, from accept), and those of them served as connections: the rest are handshaking. */
  private tlsOpen = 0;
  private tlsServed = 0;
  private sweeper: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private nextId: number;

  constructor(service: Service, options: TransportOptions) {
    this.service = service;
    this.options = options;
    this.nextId = (options.loop ?? 0) + 1;
    this.shared = loopShared(service, options.maxUnsentBytes ?? DEFAULT_MAX_UNSENT_BYTES, options.maxPartialBytes ?? DEFAULT_MAX_PARTIAL_BYTES);
    this.listeners = options.endpoints.map((endpoint) => (endpoint.tls === null
      // Half-open allowed: a client that sends its requests and shuts down its side still gets every answer.
      ? net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket, endpoint))
      : this.tlsListener(endpoint, endpoint.tls)));
  }

  /**
   * A TLS listener: each accepted socket counts toward the connection limit from the
   * start (refused at once, before any handshake, when there is no room); a handshake
   * that fails (garbage instead of a ClientHello, a refused certificate) or does not
   * finish within the handshake timeout is cut; a finished one becomes a connection.
   */
  private tlsListener(endpoint: Endpoint, settings: TlsSettings): tls.Server {
    const listener = tls.createServer({ ...secureOptions(settings, settings.files), noDelay: true, allowHalfOpen: true }, (socket) => {
      // optional (Redis's): no certificate is fine, one given must check out (Node would take any).
      if (settings.authClients === 'optional' && !socket.authorized && Object.keys(socket.getPeerCertificate()).length > 0) {
        this.service.counts[REJECTED]++;
        socket.destroy();
        return;
      }
      this.tlsServed++;
      if (!this.accept(socket, endpoint)) this.tlsServed--;
    });
    listener.on('connection', (raw: net.Socket) => {
      const limit = this.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
      if (this.closing || (limit > 0 && this.held >= limit)) {
        this.service.counts[REJECTED]++;
        raw.destroy(); // no TLS yet to say why in
        return;
      }
      this.tlsOpen++;
      raw.once('close', () => this.tlsOpen--);
    });
    listener.on('tlsClientError', (_error, socket) => socket.destroy());
    return listener;
  }

  /** New certificate files for every TLS listener (SIGHUP): new handshakes use them, open connections go on. */
  setTlsFiles(files: TlsFiles): void {
    this.options.endpoints.forEach((endpoint, i) => {
      if (endpoint.tls !== null) (this.listeners[i] as tls.Server).setSecureContext(secureOptions(endpoint.tls, files));
    });
  }

  /** Starts every listener; resolves with their ports in endpoint order, rejects with the system error. */
  async listen(): Promise<number[]> {
    const ports: number[] = [];
    for (let i = 0; i < this.listeners.length; i++) {
      const listener = this.listeners[i];
      ports.push(await new Promise<number>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen({ host: this.options.host, port: this.options.endpoints[i].port, reusePort: this.options.reusePort }, () => {
          listener.off('error', reject);
          resolve((listener.address() as AddressInfo).port);
        });
      }).catch((error) => {
        for (const other of this.listeners) if (other.listening) other.close();
        // The port that failed, for the message: "cannot listen on HOST:PORT".
        throw Object.assign(error, { port: this.options.endpoints[i].port });
      }));
    }
    this.service.start();
    const timeout = this.options.idleTimeoutMs ?? 0;
    if (timeout > 0) {
      this.sweeper = setInterval(() => this.sweep(), timeout / SWEEPS_PER_TIMEOUT);
      this.sweeper.unref();
    }
    return ports;
  }

  /**
   * Stops accepting; each connection answers every request that reached this host
   * before now (read or still in the kernel), takes nothing after, and ends with FIN
   * once its answers are handed over. Connections still open after graceMs (a client
   * that does not read its answers or does not close) are destroyed.
   */
  close(graceMs = this.options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      if (this.sweeper) clearInterval(this.sweeper);
      this.service.stop();
      for (const listener of this.listeners) listener.close();
      const queues = socketQueues([...this.connections].map((c) => c.socket));
      for (const connection of this.connections) connection.shutdown(queues.get(connection.socket)?.receive ?? 0);
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

  /** Makes `socket` a Connection, or refuses it (protected mode, the limit, shutting down); true if it was taken. */
  private accept(socket: net.Socket, { codec, denial }: Endpoint): boolean {
    const counts = this.service.counts;
    if (this.options.protectedMode && !isLoopback(socket.remoteAddress)) {
      counts[REJECTED]++;
      closeGently(socket, denial);
      return false;
    }
    const limit = this.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (this.closing || (limit > 0 && this.held >= limit)) {
      counts[REJECTED]++;
      closeGently(socket, codec.refusal(this.closing ? 'shutdown' : 'limit', limit));
      return false;
    }
    counts[ACCEPTED]++;
    counts[OPEN]++;
    const id = this.nextId;
    this.nextId += this.options.loops ?? 1;
    this.connections.add(new Connection(socket, this.shared, codec, this.service, id, (c) => this.forget(c)));
    return true;
  }

  /** What the connection limit counts: connections, and TLS handshakes not finished yet (of any TLS port). */
  private get held(): number {
    return this.connections.size + this.tlsOpen - this.tlsServed;
  }

  private forget(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    this.service.counts[OPEN]--;
    if (connection.socket instanceof tls.TLSSocket) this.tlsServed--;
  }

  /**
   * Closes connections that answered no request for a whole timeout (with nothing
   * left to send), or whose client took none of the unsent replies for that long.
   * "Took none" is judged by the kernel's send queue when Node saw no progress.
   */
  private sweep(): void {
    const unsure: Connection[] = [];
    for (const connection of this.connections) {
      const answered = connection.session.answered;
      connection.idleSweeps = answered === connection.answeredAtSweep ? connection.idleSweeps + 1 : 0;
      connection.answeredAtSweep = answered;
      const taken = connection.taken;
      const moved = taken !== connection.takenAtSweep;
      connection.takenAtSweep = taken;
      if (connection.unsent === 0 || moved) connection.stalledSweeps = 0;
      else unsure.push(connection);
    }
    this.judgeByKernelQueue(unsure);
    for (const connection of this.connections) {
      if (connection.idleSweeps >= SWEEPS_PER_TIMEOUT && connection.unsent === 0) connection.socket.destroy();
      else if (connection.stalledSweeps >= SWEEPS_PER_TIMEOUT) connection.socket.destroy();
    }
  }

  /** Connections Node saw no progress on: stalled unless their kernel send queue moved. */
  private judgeByKernelQueue(unsure: Connection[]): void {
    if (unsure.length === 0) return;
    const queues = socketQueues(unsure.map((c) => c.socket));
    for (const connection of unsure) {
      const queue = queues.get(connection.socket)?.send;
      const moved = queue !== undefined && queue !== connection.kernelQueueAtSweep;
      connection.kernelQueueAtSweep = queue ?? -1;
      connection.stalledSweeps = moved ? 0 : connection.stalledSweeps + 1;
    }
  }
}

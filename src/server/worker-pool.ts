// The event loops of `bin/server --workers N`: worker threads serving one copy of the
// data (a SharedArrayBuffer) on shared ports. The pool starts them (the first binds,
// maybe port 0; the rest join its ports), hands them each new data version, watches
// them and closes them. A loop that dies is logged with its error and restarted after
// RESTART_DELAY_MS with the version being served; more than MAX_RESTARTS deaths within
// RESTART_WINDOW_MS is a crash loop: the pool gives up (the caller closes the rest and
// exits non-zero, for a supervisor to restart the process).

import { Worker } from 'node:worker_threads';
import type { ShardRole } from '../cluster/map.ts';
import type { DataVersion, ServiceOptions } from '../service/service.ts';
import { Stats } from '../service/stats.ts';
import type { VersionFile } from '../storage/tiers.ts';
import type { FileLeases } from './leases.ts';
import { type ServeSettings, endpoints, withPorts } from './settings.ts';
import type { TlsFiles } from './tls.ts';
import type { Released, WorkerMessage, WorkerSetup } from './worker.ts';

export const RESTART_DELAY_MS = 1000;
export const MAX_RESTARTS = 5;
export const RESTART_WINDOW_MS = 60_000;

const WORKER_MODULE = import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js';

/** What a worker reports once it listens, or why it could not. */
type Started = { type: 'listening'; ports: number[] } | { type: 'failed'; code?: string; port?: number; message: string };

/** The data a starting worker serves: the version being served now. */
interface Current {
  file: VersionFile;
  version: DataVersion;
  role: ShardRole | null;
}

export class WorkerPool {
  readonly stats: Stats;
  private readonly statsBuffer: SharedArrayBuffer;
  private readonly workers: (Worker | null)[];
  private readonly service: ServiceOptions;
  private settings: ServeSettings;
  private current: Current;
  private readonly log: (line: string) => void;
  private readonly onGiveUp: () => void;
  private deaths: number[] = [];
  private readonly restarts = new Set<NodeJS.Timeout>();
  private closing = false;
  /** start() is running: a loop that cannot listen ends it (nothing restarts, nothing is logged as a death). */
  private starting = false;
  /** Slots placement: the live flags every loop's router reads. */
  private readonly peers: SharedArrayBuffer | null;
  /** The descriptors of versions (mmap, disk), and which of them each loop still holds. */
  private readonly leases: FileLeases;
  private readonly held: Set<number>[];

  /**
   * `log` gets one line per death; `onGiveUp` is called once, in a crash loop.
   * The workers start with `file` and `service.dataVersion`; `leases` closes a version's
   * descriptor when no loop holds it any more (the caller's own hold on `file` is passed on to the loops).
   */
  constructor(file: VersionFile, service: ServiceOptions, peers: SharedArrayBuffer | null, settings: ServeSettings, leases: FileLeases, log: (line: string) => void, onGiveUp: () => void) {
    this.peers = peers;
    this.leases = leases;
    this.held = Array.from({ length: settings.loops }, () => new Set<number>());
    this.statsBuffer = Stats.sharedBuffer(settings.loops);
    this.stats = new Stats(this.statsBuffer);
    this.workers = new Array<Worker | null>(settings.loops).fill(null);
    this.service = service;
    this.settings = settings;
    this.current = { file, version: service.dataVersion as DataVersion, role: service.role ?? null };
    this.log = log;
    this.onGiveUp = onGiveUp;
  }

  /** Starts every loop; resolves with the bound ports, or rejects (all stopped) with the first failure. */
  async start(): Promise<number[]> {
    this.starting = true;
    try {
      for (let loop = 0; loop < this.workers.length; loop++) {
        const ports = await this.startLoop(loop);
        // The first loop bound the ports (maybe chosen by the system): the others join them.
        this.settings = withPorts(this.settings, ports);
      }
    } catch (error) {
      this.closing = true;
      await Promise.all(this.workers.map((w) => w?.terminate()));
      throw error;
    } finally {
      this.starting = false;
    }
    return endpoints(this.settings).map((e) => e.port);
  }

  /**
   * New certificate files (SIGHUP) for every loop's TLS listeners, and for loops started
   * later; resolves once every live loop has taken them.
   */
  async setTlsFiles(files: TlsFiles): Promise<void> {
    if (this.settings.tls === null) return;
    this.settings = { ...this.settings, tls: { ...this.settings.tls, files } };
    await Promise.all(this.workers.map((worker) => worker && new Promise<void>((resolve) => {
      const taken = (m: { type: string }) => {
        if (m.type !== 'tls-taken') return;
        worker.off('message', taken);
        worker.off('exit', resolve);
        resolve();
      };
      worker.on('message', taken);
      worker.once('exit', resolve);
      worker.postMessage({ type: 'tls', files } satisfies WorkerMessage);
    })));
  }

  /** Serves a new data version on every loop (and on loops started later). */
  swap(file: VersionFile, version: DataVersion, role: ShardRole | null): void {
    const previous = this.current.file;
    this.current = { file, version, role };
    this.workers.forEach((worker, loop) => {
      if (worker === null) return;
      this.hold(loop, file);
      worker.postMessage({ type: 'swap', file, version, role } satisfies WorkerMessage);
    });
    this.leases.release(previous.fd); // the pool's own hold, for loops started later
    this.leases.hold(file.fd);
  }

  /** Loop `loop` is handed `file`: it holds the descriptor until it says 'released' (or dies). */
  private hold(loop: number, file: VersionFile): void {
    if (file.fd < 0) return;
    this.leases.hold(file.fd);
    this.held[loop].add(file.fd);
  }

  private released(loop: number, fd: number): void {
    if (this.held[loop].delete(fd)) this.leases.release(fd);
  }

  /** New reload counters for INFO (the data stays). */
  note(version: DataVersion): void {
    this.current = { ...this.current, version };
    this.post({ type: 'version', version });
  }

  /** Makes one live loop throw (the tests' way to kill a worker; see bin/server). */
  injectFault(): void {
    this.workers.find((w) => w !== null)?.postMessage({ type: 'fault' } satisfies WorkerMessage);
  }

  /** Cancels restarts; each live loop answers what it received and closes; resolves when all exited. */
  close(): Promise<void> {
    this.closing = true;
    for (const timer of this.restarts) clearTimeout(timer);
    return Promise.all(this.workers.map((worker) => worker && new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.postMessage({ type: 'close' } satisfies WorkerMessage);
    }))).then(() => undefined);
  }

  private post(message: WorkerMessage): void {
    for (const worker of this.workers) worker?.postMessage(message);
  }

  /** Starts loop `loop`; resolves with its ports once it listens. */
  private startLoop(loop: number): Promise<number[]> {
    this.hold(loop, this.current.file);
    const setup: WorkerSetup = {
      version: this.current.file,
      stats: this.statsBuffer,
      loop,
      settings: this.settings,
      service: { ...this.service, dataVersion: this.current.version, role: this.current.role },
      peers: this.peers,
    };
    const worker = new Worker(new URL(WORKER_MODULE, import.meta.url), { workerData: setup });
    this.workers[loop] = worker;
    let failure: Error | null = null;
    worker.on('error', (error) => (failure = error as Error));
    let started: ((m: Started) => void) | null = null;
    let listened = false;
    worker.on('message', (m: Released | Started) => {
      if (m.type === 'released') this.released(loop, m.fd);
      else started?.(m);
    });
    worker.once('exit', (code) => {
      for (const fd of this.held[loop]) this.released(loop, fd);
      if (this.workers[loop] === worker) this.workers[loop] = null;
      this.stats.clearLevels(loop);
      // Exiting before it listened while the pool starts: start() rejects with why, and
      // stops; its 'exit' can come before that rejection is handled (a worker's last
      // message and its exit are delivered in one turn), so it is not a death to restart.
      if (!this.closing && (listened || !this.starting)) this.died(loop, failure ? String(failure) : `exit code ${code}`);
    });
    return new Promise<number[]>((resolve, reject) => {
      started = (m) => {
        started = null;
        listened = m.type === 'listening';
        if (m.type === 'listening') resolve(m.ports);
        else reject(Object.assign(new Error(m.message), { code: m.code, port: m.port }));
      };
      worker.once('exit', () => reject(failure ?? new Error('the event loop exited before listening')));
    });
  }

  /** Logs a loop's death; restarts it unless this is a crash loop. */
  private died(loop: number, reason: string): void {
    const now = Date.now();
    this.deaths = this.deaths.filter((t) => now - t < RESTART_WINDOW_MS);
    this.deaths.push(now);
    const where = `event loop ${loop + 1} of ${this.workers.length} died: ${reason}`;
    if (this.deaths.length > MAX_RESTARTS) {
      this.log(`rokv: ${where}; ${this.deaths.length} deaths within ${RESTART_WINDOW_MS / 1000} s: giving up`);
      this.closing = true;
      this.onGiveUp();
      return;
    }
    this.log(`rokv: ${where}; restarting it in ${RESTART_DELAY_MS / 1000} s`);
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      if (this.closing) return;
      this.startLoop(loop).then(
        () => this.log(`rokv: event loop ${loop + 1} of ${this.workers.length} restarted`),
        () => {}, // its 'exit' reports it as one more death
      );
    }, RESTART_DELAY_MS);
    this.restarts.add(timer);
  }
}

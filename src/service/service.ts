// The service: the one place that answers. It holds the loaded data set (sessions read
// it only through `records`, so a hot swap changes it in one place), the counters every
// front increments, and the facts INFO reports. The data set only changes between
// event-loop turns (swap()), so a request answered synchronously sees one version.

import v8 from 'node:v8';
import vm from 'node:vm';
import type { ShardRole } from '../cluster/map.ts';
import { SlotRouter } from '../cluster/slot-router.ts';
import type { DataFile } from '../format/data-file.ts';
import type { Records } from '../storage/records.ts';
import { LoopLag } from './loop-lag.ts';
import { ACCEPTED, ERRORS, HITS, LIVE, LOOP_LAG_MAX_MS, LOOP_LAG_MEAN_MS, MISSES, OPEN, PARTIAL_BYTES, REJECTED, REQUESTS, Stats, UNSENT_BYTES } from './stats.ts';
import { ROKV_VERSION } from './version.ts';

export interface ServiceOptions {
  /** The data file's path as given, for INFO. */
  file: string;
  /** Counters shared by every event loop, and this loop's row in them. */
  stats?: Stats;
  /** The connection limit the transport enforces (0 = none), for INFO. */
  maxConnections?: number;
  /** What this server is in a cluster (--cluster), or null. */
  role?: ShardRole | null;
  /** Slots placement: one live flag per server of the cluster, kept by the main thread's peer probe. */
  peers?: Uint8Array;
  /** The version being served (the main thread's, for worker threads). */
  dataVersion?: DataVersion;
}

/** Which data version is served, and how reloading went. Process-wide: the main thread keeps it. */
export interface DataVersion {
  /** Changes with content: the records checksum and count. */
  version: string;
  /** When this version was loaded (ISO time). */
  loadedAt: string;
  reloads: number;
  reloadFailures: number;
  lastReloadError: string | null;
  /** Records and file bytes of this version. */
  keys: number;
  bytes: number;
}

/** The version string of a data file. */
export function versionOf(data: DataFile): string {
  return `${data.header.recordsCrc.toString(16).padStart(8, '0')}-${data.recordCount}`;
}

/** The version `data` makes, loaded now: the first one (`previous` null), or a reload after `previous`. */
export function newVersion(data: DataFile, previous: DataVersion | null): DataVersion {
  return {
    version: versionOf(data),
    loadedAt: new Date().toISOString(),
    reloads: previous === null ? 0 : previous.reloads + 1,
    reloadFailures: previous?.reloadFailures ?? 0,
    lastReloadError: null, // this load succeeded: an earlier refusal is history (reloadFailures keeps the count)
    keys: data.recordCount,
    bytes: data.bytes.length,
  };
}

/** Everything INFO reports, in one shape for both fronts. */
export interface ServiceFacts {
  version: string;
  file: string;
  keys: number;
  dataBytes: number;
  uptimeSeconds: number;
  connections: number;
  accepted: number;
  rejected: number;
  requests: number;
  hits: number;
  misses: number;
  errors: number;
  /** Replies clients have not taken, and unfinished requests buffered, in bytes (all loops). */
  unsentBytes: number;
  partialBytes: number;
  maxConnections: number;
  /** Event loops serving now (a loop that died is not counted). */
  workers: number;
  rssBytes: number;
  loopLagMs: { mean: number; max: number };
  pid: number;
  dataVersion: DataVersion;
  /** With --cluster: cluster id, shard, shard count, placement (and the node, with slots). */
  extra: Record<string, unknown>;
}

/** What INFO says of a server's place in its cluster. */
function roleFacts(role: ShardRole | null): Record<string, unknown> {
  if (role === null) return {};
  const facts: Record<string, unknown> = { cluster: role.cluster, shard: role.shard, shards: role.shards, placement: role.placement };
  if (role.node !== null) facts.node = role.node;
  return facts;
}

let fullCollection: (() => void) | null = null;

/** V8's full collection, exposed at run time (no --expose-gc flag needed; works in worker threads). */
function collectGarbage(): void {
  if (fullCollection === null) {
    v8.setFlagsFromString('--expose-gc');
    fullCollection = vm.runInNewContext('gc') as () => void;
  }
  fullCollection();
}

export class Service {
  /** The data set being served; replaced only by swap(). */
  data: DataFile;
  private dataVersion: DataVersion;
  private role: ShardRole | null;
  /** Slots placement: where keys belong and who is live; null otherwise. */
  router: SlotRouter | null = null;
  readonly stats: Stats;
  /** This loop's counters: the hot path increments these directly. */
  readonly counts: Float64Array;
  private readonly options: ServiceOptions;
  private readonly loopLag: LoopLag;
  private startedAt = performance.now();

  constructor(data: DataFile, options: ServiceOptions) {
    this.data = data;
    this.options = options;
    this.role = null;
    this.setRole(options.role ?? null);
    this.dataVersion = options.dataVersion ?? newVersion(data, null);
    this.stats = options.stats ?? new Stats();
    this.counts = this.stats.mine;
    this.loopLag = new LoopLag(this.counts);
  }

  /** What sessions find records in (src/storage/records.ts): today the data file being served. */
  get records(): Records {
    return this.data;
  }

  /**
   * Serves `data` from now on. Requests already answered used the old version; the
   * old bytes are freed once no reply still being written refers to them.
   */
  swap(data: DataFile, version: DataVersion, role: ShardRole | null): void {
    this.data = data;
    this.dataVersion = version;
    this.setRole(role);
    // The old bytes are garbage now (but for replies still being written); V8 does not
    // count shared buffers as heap pressure, so collect once, right after this turn.
    setImmediate(collectGarbage);
  }

  private setRole(role: ShardRole | null): void {
    this.role = role;
    this.router = role?.placement === 'slots' ? new SlotRouter(role, this.options.peers ?? new Uint8Array(role.nodes.length).fill(1)) : null;
  }

  /** New reload counters (a refused file: the data stays). */
  noteVersion(version: DataVersion): void {
    this.dataVersion = version;
  }

  /** Starts the clocks INFO reports (uptime, event-loop lag); this loop counts as live. */
  start(): void {
    this.startedAt = performance.now();
    this.loopLag.start();
    this.counts[LIVE] = 1;
  }

  stop(): void {
    this.loopLag.stop();
    this.counts[LIVE] = 0;
  }

  /**
   * Looks up the key bytes[start, end) in `records` (a session's view of the data
   * set) and counts the hit or miss; returns the record's handle there, or -1.
   */
  lookup(records: Records, bytes: Uint8Array, start: number, end: number): number {
    const record = records.find(bytes, start, end);
    this.counts[record < 0 ? MISSES : HITS]++;
    return record;
  }

  facts(): ServiceFacts {
    const s = this.stats;
    return {
      version: ROKV_VERSION,
      file: this.options.file,
      keys: this.data.recordCount,
      dataBytes: this.data.bytes.length,
      uptimeSeconds: (performance.now() - this.startedAt) / 1000,
      connections: s.total(OPEN),
      accepted: s.total(ACCEPTED),
      rejected: s.total(REJECTED),
      requests: s.total(REQUESTS),
      hits: s.total(HITS),
      misses: s.total(MISSES),
      errors: s.total(ERRORS),
      unsentBytes: s.total(UNSENT_BYTES),
      partialBytes: s.total(PARTIAL_BYTES),
      maxConnections: this.options.maxConnections ?? 0,
      workers: this.stats.total(LIVE),
      rssBytes: process.memoryUsage.rss(),
      loopLagMs: { mean: this.counts[LOOP_LAG_MEAN_MS], max: this.counts[LOOP_LAG_MAX_MS] },
      pid: process.pid,
      dataVersion: this.dataVersion,
      extra: roleFacts(this.role),
    };
  }
}

// The service: the one place that answers. It holds the data version being served —
// synchronous records (memory, mmap tiers) or the disk tier's index and reader — so a
// hot swap changes it in one place; the counters every front increments; and the facts
// INFO reports. The data set only changes between event-loop turns (swap()), so a
// request answered synchronously sees one version; a disk fetch keeps the version it
// started on (its view), and that version's file is released only after its reads.

import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { ShardRole } from '../cluster/map.ts';
import { SlotRouter } from '../cluster/slot-router.ts';
import type { HeaderSummary } from '../format/header.ts';
import type { DataFile } from '../format/data-file.ts';
import { type DiskRecords, ReadLimiter } from '../storage/disk.ts';
import { nativeStorage } from '../storage/native.ts';
import type { Records } from '../storage/records.ts';
import { RESIDENCY_EVERY_MS, type StorageTier, type VersionFile, atMostEvery, recordsOf } from '../storage/tiers.ts';
import { LoopLag } from './loop-lag.ts';
import { ACCEPTED, DISK_READS, DISK_READS_IN_FLIGHT, DISK_READ_SECONDS, ERRORS, HITS, LIVE, LOOP_LAG_MAX_MS, LOOP_LAG_MEAN_MS, MISSES, OPEN, PARTIAL_BYTES, REJECTED, REQUESTS, Stats, UNSENT_BYTES } from './stats.ts';
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
  /** Disk tier: reads in flight per event loop (default DEFAULT_MAX_READS). */
  maxReads?: number;
  /**
   * Called once per version this loop no longer needs the file of (mmap: once mapped;
   * disk: once retired by a swap and its reads are done), so its descriptor can close.
   */
  onRelease?: (version: VersionFile) => void;
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

/** The version string of a data file: its records checksum and count. */
export function versionOf(header: HeaderSummary): string {
  return `${header.recordsCrc.toString(16).padStart(8, '0')}-${header.recordCount}`;
}

/** The version a file with `header` makes, loaded now: the first one (`previous` null), or a reload after `previous`. */
export function newVersion(header: HeaderSummary, previous: DataVersion | null): DataVersion {
  return {
    version: versionOf(header),
    loadedAt: new Date().toISOString(),
    reloads: previous === null ? 0 : previous.reloads + 1,
    reloadFailures: previous?.reloadFailures ?? 0,
    lastReloadError: null, // this load succeeded: an earlier refusal is history (reloadFailures keeps the count)
    keys: header.recordCount,
    bytes: header.fileSize,
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
  /** Where records live: memory, mmap or disk. */
  storage: StorageTier;
  /** Anonymous memory of the process (RssAnon), bytes; -1 where /proc does not say. */
  anonBytes: number;
  /** Bytes of the data file in memory: the whole file (memory), its pages in the page cache (mmap, disk: mincore), or -1 (unknown: no native addon). */
  residentBytes: number;
  /** Disk tier: reads in flight now, reads done and their mean latency (all loops). */
  diskReadsInFlight: number;
  diskReads: number;
  diskReadMeanMs: number;
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
export function collectGarbage(): void {
  if (fullCollection === null) {
    v8.setFlagsFromString('--expose-gc');
    fullCollection = vm.runInNewContext('gc') as () => void;
  }
  fullCollection();
}

/** RssAnon from /proc/self/status (the process's anonymous resident memory: heap, index, buffers; not the file's pages), in bytes, or -1. */
export function anonymousBytes(): number {
  try {
    const match = /^RssAnon:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'latin1'));
    return match ? Number(match[1]) * 1024 : -1;
  } catch {
    return -1;
  }
}

export class Service {
  /** The version being served: its file, and what this loop serves of it. */
  version: VersionFile;
  /** memory and mmap: every record, synchronously; null for disk. */
  sync: DataFile | null = null;
  /** disk: the index, records fetched on demand; null otherwise. */
  disk: DiskRecords | null = null;
  private dataVersion: DataVersion;
  private role: ShardRole | null;
  /** Slots placement: where keys belong and who is live; null otherwise. */
  router: SlotRouter | null = null;
  readonly stats: Stats;
  /** This loop's counters: the hot path increments these directly. */
  readonly counts: Float64Array;
  private readonly options: ServiceOptions;
  private readonly loopLag: LoopLag;
  /** This loop's bound on disk reads in flight (every version it serves shares it). */
  private readonly reads: ReadLimiter;
  private startedAt = performance.now();

  constructor(version: VersionFile, options: ServiceOptions) {
    this.options = options;
    this.role = null;
    this.setRole(options.role ?? null);
    this.dataVersion = options.dataVersion ?? newVersion(version.header, null);
    this.stats = options.stats ?? new Stats();
    this.counts = this.stats.mine;
    this.loopLag = new LoopLag(this.counts);
    const counts = this.counts;
    this.reads = new ReadLimiter(options.maxReads, {
      onStart: () => counts[DISK_READS_IN_FLIGHT]++,
      onEnd: (seconds) => {
        counts[DISK_READS_IN_FLIGHT]--;
        counts[DISK_READS]++;
        counts[DISK_READ_SECONDS] += seconds;
      },
    });
    this.version = version;
    this.serve(version);
  }

  /**
   * What sessions find records in (src/storage/records.ts): the synchronous records of
   * memory and mmap. The disk tier's commands run against the view their fetch made.
   */
  get records(): Records {
    return (this.sync ?? this.disk) as Records;
  }

  /** How many keys the version being served holds. */
  get keyCount(): number {
    return this.version.header.recordCount;
  }

  /**
   * Serves `version` from now on. Requests already answered used the old version; its
   * bytes are freed once no reply still being written refers to them, and its file
   * (disk) once the reads that started on it are done.
   */
  swap(version: VersionFile, dataVersion: DataVersion, role: ShardRole | null): void {
    const old = this.version;
    const oldDisk = this.disk;
    this.version = version;
    this.serve(version);
    this.dataVersion = dataVersion;
    this.setRole(role);
    if (oldDisk !== null) oldDisk.retire(() => this.options.onRelease?.(old));
    // The old bytes are garbage now (but for replies still being written); V8 does not
    // count shared buffers as heap pressure, so collect once, right after this turn.
    setImmediate(collectGarbage);
  }

  private serve(version: VersionFile): void {
    const served = recordsOf(version, this.reads);
    this.sync = served.records;
    this.disk = served.disk;
    if (version.tier === 'mmap') this.options.onRelease?.(version); // mapped: the descriptor is not needed here
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

  /** Bytes of the data file in memory now (see ServiceFacts.residentBytes), asked of the kernel at most once a second. */
  private readonly residentBytes = atMostEvery(RESIDENCY_EVERY_MS, () => this.residentBytesNow());

  private residentBytesNow(): number {
    if (this.version.tier === 'memory') return this.version.size;
    const native = nativeStorage();
    if (native === null) return -1;
    if (this.sync !== null) return native.residentBytes(this.sync.bytes.buffer as ArrayBuffer);
    return (this.disk as DiskRecords).residentBytes();
  }

  facts(): ServiceFacts {
    const s = this.stats;
    return {
      version: ROKV_VERSION,
      file: this.options.file,
      keys: this.version.header.recordCount,
      dataBytes: this.version.size,
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
      storage: this.version.tier,
      anonBytes: anonymousBytes(),
      residentBytes: this.residentBytes(),
      diskReadsInFlight: s.total(DISK_READS_IN_FLIGHT),
      diskReads: s.total(DISK_READS),
      diskReadMeanMs: s.total(DISK_READS) === 0 ? 0 : (s.total(DISK_READ_SECONDS) / s.total(DISK_READS)) * 1000,
      extra: roleFacts(this.role),
    };
  }
}

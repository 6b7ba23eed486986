// The data versions of one server process: reloads the data file on request (SIGHUP)
// or when --watch sees its path change (inode, size, mtime), always off the event
// loop; hands each new version that passed every check to all event loops; keeps the
// reload counters. A refused file changes nothing but the counters and one log line.

import fs from 'node:fs';
import { type NodeAddress, formatAddress } from '../addresses.ts';
import type { ShardRole } from '../cluster/map.ts';
import { type DataVersion, newVersion } from '../service/service.ts';
import { type StorageTier, type VersionFile, closeVersion } from '../storage/tiers.ts';
import { openOffThread } from './load-off-thread.ts';

/** Where versions go: every event loop of the process (which then own the version's descriptor). */
export interface VersionSink {
  swap(file: VersionFile, version: DataVersion, role: ShardRole | null): void;
  note(version: DataVersion): void;
}

export const WATCH_INTERVAL_MS = 1000;

function statKey(file: string): Promise<string> {
  return fs.promises.stat(file).then((s) => `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`, (e) => `missing:${(e as NodeJS.ErrnoException).code}`);
}

export class DataVersions {
  current: DataVersion;
  /** The cluster role of the version served now (the map may change with a reload, not the server's place). */
  served: ShardRole | null;
  private readonly file: string;
  private readonly tier: StorageTier;
  private readonly clusterMap: string | undefined;
  /** The cluster role the server started with: a reload may not change which server it is. */
  private readonly role: ShardRole | null;
  private readonly self: NodeAddress | null;
  private readonly sink: VersionSink;
  private readonly log: (line: string) => void;
  private running: Promise<void> | null = null;
  /** Another reload was asked for while one ran: run once more after it. */
  private again: string | null = null;
  private watcher: NodeJS.Timeout | null = null;
  private seen = '';

  /** `self`: the server's address for a slots map (see checkShard). */
  constructor(file: string, tier: StorageTier, cluster: { map: string; role: ShardRole; self: NodeAddress | null } | null, initial: DataVersion, sink: VersionSink, log: (line: string) => void) {
    this.file = file;
    this.tier = tier;
    this.clusterMap = cluster?.map;
    this.role = cluster?.role ?? null;
    this.served = this.role;
    this.self = cluster?.self ?? null;
    this.current = initial;
    this.sink = sink;
    this.log = log;
  }

  /**
   * Reloads the file (why: for the log); resolves when the reload running now is done.
   * One asked for while another runs is run once more after it (several such asks make
   * one rerun), without making the promise wait for that rerun.
   */
  reload(why: string): Promise<void> {
    if (this.running) {
      this.again = why;
      return this.running;
    }
    this.running = this.loadOnce(why).finally(() => {
      this.running = null;
      const next = this.again;
      this.again = null;
      if (next !== null) void this.reload(next);
    });
    return this.running;
  }

  /** Polls the path about once a second and reloads when it names another file or the file changed. */
  async watch(intervalMs = WATCH_INTERVAL_MS): Promise<void> {
    this.seen = await statKey(this.file);
    this.watcher = setInterval(async () => {
      const key = await statKey(this.file);
      if (key === this.seen) return;
      this.seen = key;
      void this.reload('the file changed');
    }, intervalMs);
    this.watcher.unref();
  }

  stop(): void {
    if (this.watcher) clearInterval(this.watcher);
  }

  private async loadOnce(why: string): Promise<void> {
    const started = performance.now();
    const previous = this.current;
    try {
      const loaded = await openOffThread({ file: this.file, tier: this.tier, clusterMap: this.clusterMap, self: this.self });
      try {
        this.checkSameServer(loaded.role);
      } catch (error) {
        closeVersion(loaded.version);
        throw error;
      }
      this.current = newVersion(loaded.version.header, previous);
      this.sink.swap(loaded.version, this.current, loaded.role);
      this.served = loaded.role;
      this.log(
        `rokv: reloaded ${this.file} (${why}): version ${this.current.version} (was ${previous.version}), ` +
        `${loaded.version.header.recordCount.toLocaleString('en-US')} records, verified off the event loop in ${((performance.now() - started) / 1000).toFixed(3)} s`,
      );
    } catch (error) {
      const reason = (error as Error).message;
      this.current = { ...previous, reloadFailures: previous.reloadFailures + 1, lastReloadError: reason };
      this.sink.note(this.current);
      this.log(`rokv: reload of ${this.file} refused (${why}): ${reason}; still serving version ${previous.version}`);
    }
  }

  /** A slots server keeps its place: the peer flags and ports were set up for it. */
  private checkSameServer(role: ShardRole | null): void {
    const before = this.role;
    if (before?.placement !== 'slots' || role === null) return;
    if (role.placement !== 'slots' || role.nodes.length !== before.nodes.length || role.node !== before.node) {
      const now = role.node === null ? 'a ketama map' : `${role.nodes.length} servers, this one ${formatAddress(role.nodes[role.node])}`;
      throw new Error(`the new cluster map has ${now}; the server started with ${before.nodes.length}, this one ${formatAddress(before.nodes[before.node as number])}: restart it to change the cluster's shape`);
    }
  }
}

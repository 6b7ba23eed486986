// Loading a data file off the event loop: a short-lived worker thread reads it into a
// SharedArrayBuffer and validates it completely (and, for a cluster shard, checks it
// against the map), while the calling thread keeps serving. The worker exits after
// answering, so nothing of it keeps the new bytes alive.

import { Worker } from 'node:worker_threads';
import type { NodeAddress } from '../addresses.ts';
import type { ShardRole } from '../cluster/map.ts';

/** What a successful load hands back: the bytes (not copied) and what INFO says of the shard. */
export interface LoadedBytes {
  bytes: SharedArrayBuffer;
  /** With a cluster map: what the server is in the cluster. */
  role: ShardRole | null;
}

const WORKER_MODULE = import.meta.url.endsWith('.ts') ? './load-off-thread-worker.ts' : './load-off-thread-worker.js';

/** Loads and validates `file` (a shard of `clusterMap` when given, see checkShard) in a worker; rejects with the reason. */
export function loadOffThread(file: string, clusterMap?: string, self: NodeAddress | null = null): Promise<LoadedBytes> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(WORKER_MODULE, import.meta.url), { workerData: { file, clusterMap, self } });
    let settled = false;
    worker.once('message', (m: { ok: true; bytes: SharedArrayBuffer; role: ShardRole | null } | { ok: false; error: string }) => {
      settled = true;
      if (m.ok) resolve({ bytes: m.bytes, role: m.role });
      else reject(new Error(m.error));
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the loading thread exited (${code}) without an answer`));
    });
  });
}

// The worker of loadOffThread(): loads and validates one data file into shared memory
// (and checks it against a cluster map), posts the bytes or the reason, and exits.

import { parentPort, workerData } from 'node:worker_threads';
import type { NodeAddress } from '../addresses.ts';
import { checkShard } from '../cluster/map.ts';
import { loadDataFile } from '../format/load.ts';

const { file, clusterMap, self } = workerData as { file: string; clusterMap?: string; self: NodeAddress | null };
try {
  const data = loadDataFile(file, { shared: true });
  const role = clusterMap ? checkShard(clusterMap, file, data, self) : null;
  parentPort?.postMessage({ ok: true, bytes: data.bytes.buffer, role });
} catch (error) {
  parentPort?.postMessage({ ok: false, error: (error as Error).message });
}

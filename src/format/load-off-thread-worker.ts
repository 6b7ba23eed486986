// The worker of loadOffThread(): loads and validates one data file into shared memory
// (and checks it against a cluster map), posts the bytes or the reason, and exits.

import { parentPort, workerData } from 'node:worker_threads';
import { checkShard } from '../cluster/map.ts';
import { loadDataFile } from './load.ts';

const { file, clusterMap } = workerData as { file: string; clusterMap?: string };
try {
  const data = loadDataFile(file, { shared: true });
  const extra: Record<string, unknown> = clusterMap ? checkShard(clusterMap, file, data) : {};
  parentPort?.postMessage({ ok: true, bytes: data.bytes.buffer, extra });
} catch (error) {
  parentPort?.postMessage({ ok: false, error: (error as Error).message });
}

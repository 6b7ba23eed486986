// The worker of openOffThread(): opens and verifies one data version (checking it
// against a cluster map in the same pass), posts it or the reason, and exits.

import { parentPort, workerData } from 'node:worker_threads';
import { type OpenRequest, openChecked } from './open-version.ts';

const request = workerData as OpenRequest;
try {
  parentPort?.postMessage({ ok: true, ...openChecked(request) });
} catch (error) {
  parentPort?.postMessage({ ok: false, error: (error as Error).message });
}

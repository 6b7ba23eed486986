// A worker thread of `bin/server --workers N`: one more event loop serving the same
// data (a view of the main thread's SharedArrayBuffer, not a copy) on the same ports.

import { parentPort, workerData } from 'node:worker_threads';
import { DataFile } from '../format/data-file.ts';
import { Service, type ServiceOptions } from '../service/service.ts';
import { Stats } from '../service/stats.ts';
import { type ServeSettings, transportFor } from './settings.ts';

export interface WorkerSetup {
  bytes: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  loop: number;
  settings: ServeSettings;
  service: Omit<ServiceOptions, 'stats'>;
}

const setup = workerData as WorkerSetup;
const data = new DataFile(Buffer.from(setup.bytes), setup.service.file, { trusted: true });
const service = new Service(data, { ...setup.service, stats: new Stats(setup.stats, setup.loop) });
const server = transportFor(service, setup.settings, setup.loop);
try {
  const ports = await server.listen();
  parentPort?.postMessage({ type: 'listening', ports });
} catch (error) {
  parentPort?.postMessage({ type: 'failed', code: (error as NodeJS.ErrnoException).code, message: (error as Error).message });
}
parentPort?.on('message', async (message: string) => {
  if (message !== 'close') return;
  await server.close();
  parentPort?.postMessage({ type: 'closed' });
  parentPort?.close();
});

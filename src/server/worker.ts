// A worker thread of `bin/server --workers N`: one more event loop serving the same
// data (a view of the main thread's SharedArrayBuffer, not a copy) on the same port.

import { parentPort, workerData } from 'node:worker_threads';
import { DataFile } from '../format/data-file.ts';
import { RokvServer, type ServerOptions } from './server.ts';
import { Stats } from './stats.ts';

export interface WorkerSetup {
  bytes: SharedArrayBuffer;
  file: string;
  stats: SharedArrayBuffer;
  loop: number;
  options: Omit<ServerOptions, 'stats'>;
}

const setup = workerData as WorkerSetup;
const data = new DataFile(Buffer.from(setup.bytes), setup.file, { trusted: true });
const server = new RokvServer(data, { ...setup.options, stats: new Stats(setup.stats, setup.loop), reusePort: true });
try {
  const address = await server.listen();
  parentPort?.postMessage({ type: 'listening', port: address.port });
} catch (error) {
  parentPort?.postMessage({ type: 'failed', code: (error as NodeJS.ErrnoException).code, message: (error as Error).message });
}
parentPort?.on('message', async (message: string) => {
  if (message !== 'close') return;
  await server.close();
  parentPort?.postMessage({ type: 'closed' });
  parentPort?.close();
});

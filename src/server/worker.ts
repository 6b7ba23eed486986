// A worker thread of `bin/server --workers N`: one more event loop serving the same
// data (a view of the main thread's SharedArrayBuffer, not a copy) on the same ports.

import { parentPort, workerData } from 'node:worker_threads';
import type { ShardRole } from '../cluster/map.ts';
import { DataFile } from '../format/data-file.ts';
import { type DataVersion, Service, type ServiceOptions } from '../service/service.ts';
import { Stats } from '../service/stats.ts';
import { type ServeSettings, transportFor } from './settings.ts';

export interface WorkerSetup {
  bytes: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  loop: number;
  settings: ServeSettings;
  service: Omit<ServiceOptions, 'stats' | 'peers'>;
  /** Slots placement: the live flags the main thread's peer probe keeps. */
  peers: SharedArrayBuffer | null;
}

/** What the main thread (worker-pool.ts) tells a worker. */
export type WorkerMessage =
  | { type: 'close' }
  | { type: 'swap'; bytes: SharedArrayBuffer; version: DataVersion; role: ShardRole | null }
  | { type: 'version'; version: DataVersion }
  | { type: 'fault' };

const setup = workerData as WorkerSetup;
const data = DataFile.fromValidated(setup.bytes, setup.service.file);
const service = new Service(data, { ...setup.service, stats: new Stats(setup.stats, setup.loop), peers: setup.peers ? new Uint8Array(setup.peers) : undefined });
const server = transportFor(service, setup.settings, setup.loop);
try {
  const ports = await server.listen();
  parentPort?.postMessage({ type: 'listening', ports });
} catch (error) {
  parentPort?.postMessage({ type: 'failed', code: (error as NodeJS.ErrnoException).code, message: (error as Error).message });
  process.exit(1);
}

parentPort?.on('message', async (message: WorkerMessage) => {
  switch (message.type) {
    case 'swap':
      service.swap(DataFile.fromValidated(message.bytes, setup.service.file), message.version, message.role);
      return;
    case 'version':
      service.noteVersion(message.version);
      return;
    case 'fault':
      setImmediate(() => {
        throw new Error('fault injected for a test (ROKV_TEST_FAULTS)');
      });
      return;
    case 'close':
      await server.close();
      parentPort?.close();
  }
});

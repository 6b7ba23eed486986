// A worker thread of `bin/server --workers N`: one more event loop serving the same
// data version on the same ports — a view of the main thread's SharedArrayBuffer
// (memory), its own mapping of the same file (mmap: the same pages), or the shared
// index and the same descriptor (disk) — and telling the main thread when it no
// longer needs a version's descriptor.

import { parentPort, workerData } from 'node:worker_threads';
import type { ShardRole } from '../cluster/map.ts';
import { type DataVersion, Service, type ServiceOptions } from '../service/service.ts';
import { Stats } from '../service/stats.ts';
import type { VersionFile } from '../storage/tiers.ts';
import { type ServeSettings, transportFor } from './settings.ts';
import type { TlsFiles } from './tls.ts';

export interface WorkerSetup {
  version: VersionFile;
  stats: SharedArrayBuffer;
  loop: number;
  settings: ServeSettings;
  service: Omit<ServiceOptions, 'stats' | 'peers'>;
  /** Slots placement: the live flags the main thread's peer probe keeps. */
  peers: SharedArrayBuffer | null;
}

/** What a worker tells the main thread after listening: it is done with a version's descriptor. */
export interface Released {
  type: 'released';
  fd: number;
}

/** What the main thread (worker-pool.ts) tells a worker. */
export type WorkerMessage =
  | { type: 'close' }
  | { type: 'swap'; file: VersionFile; version: DataVersion; role: ShardRole | null }
  | { type: 'version'; version: DataVersion }
  | { type: 'fault' }
  | { type: 'tls'; files: TlsFiles };

const setup = workerData as WorkerSetup;
const release = (version: VersionFile) => parentPort?.postMessage({ type: 'released', fd: version.fd } satisfies Released);
const service = new Service(setup.version, {
  ...setup.service, stats: new Stats(setup.stats, setup.loop), peers: setup.peers ? new Uint8Array(setup.peers) : undefined, onRelease: release,
});
const server = transportFor(service, setup.settings, setup.loop);
try {
  const ports = await server.listen();
  parentPort?.postMessage({ type: 'listening', ports });
} catch (error) {
  parentPort?.postMessage({ type: 'failed', code: (error as NodeJS.ErrnoException).code, port: (error as { port?: number }).port, message: (error as Error).message });
  process.exit(1);
}

parentPort?.on('message', async (message: WorkerMessage) => {
  switch (message.type) {
    case 'swap':
      service.swap(message.file, message.version, message.role);
      return;
    case 'version':
      service.noteVersion(message.version);
      return;
    case 'tls':
      server.setTlsFiles(message.files);
      parentPort?.postMessage({ type: 'tls-taken' });
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

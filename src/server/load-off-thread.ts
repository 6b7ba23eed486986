// Opening a data version off the event loop: a short-lived worker thread opens the
// file for the storage tier and verifies it completely (and, for a cluster shard,
// checks it against the map in the same pass), while the calling thread keeps
// serving. The worker exits after answering, so nothing of it keeps the new bytes
// alive; the version's descriptor (mmap, disk) is opened here and is the caller's.

import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { requireNativeStorage } from '../storage/native.ts';
import { openDataFile } from '../format/load.ts';
import type { OpenRequest, Opened } from './open-version.ts';

const WORKER_MODULE = import.meta.url.endsWith('.ts') ? './load-off-thread-worker.ts' : './load-off-thread-worker.js';

/**
 * Opens `request.file` here (a descriptor opened in a worker thread is closed when the
 * thread exits) and verifies it in a worker; rejects with the reason, the descriptor
 * closed. On success the version keeps the descriptor (mmap, disk) or it is closed (memory).
 */
export async function openOffThread(request: OpenRequest): Promise<Opened> {
  if (request.tier === 'mmap') requireNativeStorage('mmap');
  const opened = openDataFile(request.file);
  let result: Opened | null = null;
  try {
    result = await verifyOffThread({ ...request, opened });
    return result;
  } finally {
    if (result === null || result.version.fd < 0) fs.closeSync(opened.fd);
  }
}

function verifyOffThread(request: OpenRequest): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(WORKER_MODULE, import.meta.url), { workerData: request });
    let settled = false;
    worker.once('message', (m: ({ ok: true } & Opened) | { ok: false; error: string }) => {
      settled = true;
      if (m.ok) resolve({ version: m.version, role: m.role });
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

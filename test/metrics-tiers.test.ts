// /metrics for each storage tier: the tier, the anonymous memory, the bytes of the data
// file in memory (memory: all of it; mmap and disk: the page-cache pages, by mincore), and
// the disk tier's reads — read from a real server after real GETs.

import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../src/client/connection.ts';
import { requireNativeStorage } from '../src/storage/native.ts';
import { RESIDENCY_EVERY_MS } from '../src/storage/tiers.ts';
import { packRecords } from './helpers.ts';
import { scrape, value } from './metrics-helpers.ts';
import { type RunningServer, startServer } from './server-helpers.ts';

const RECORDS = Array.from({ length: 3000 }, (_, i): [string, string] => [`key-${i}`, `value-${i}-`.padEnd(200 + (i % 50), 'v')]);

describe('/metrics of the storage tiers', () => {
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function serve(tier: string, env: Record<string, string> = {}): Promise<{ metricsPort: number; size: number; port: number; evict: () => void }> {
    const file = packRecords(RECORDS);
    server = await startServer(file, ['--storage', tier, '--metrics-port', '0', '--workers', '2'], env);
    const metricsPort = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(server.stdout)?.[1]);
    /** Drops the file's pages from the page cache (clean ones not mapped into a process: all of them before any GET). */
    const evict = () => {
      const fd = fs.openSync(file, 'r');
      fs.fsyncSync(fd);
      requireNativeStorage('mmap').fadviseDontNeed(fd, 0, 0);
      fs.closeSync(fd);
    };
    return { metricsPort, size: fs.statSync(file).size, port: server.port, evict };
  }

  /** Every record read and checked; then past the residency cache's second, so the next scrape asks the kernel again. */
  async function getAll(port: number): Promise<void> {
    const db = await connect({ port });
    const values = await Promise.all(RECORDS.map(([key]) => db.get(key)));
    values.forEach((v, i) => expect(v?.toString()).toBe(RECORDS[i][1]));
    await db.close();
    await new Promise((resolve) => setTimeout(resolve, RESIDENCY_EVERY_MS + 100));
  }

  it('memory: the whole file is resident, no disk reads', async () => {
    const { metricsPort, size, port } = await serve('memory');
    await getAll(port);
    const samples = await scrape(metricsPort);
    expect(value(samples, 'rokv_storage_info', { tier: 'memory' })).toBe(1);
    expect(value(samples, 'rokv_data_resident_bytes')).toBe(size);
    expect(value(samples, 'rokv_anonymous_memory_bytes')).toBeGreaterThan(size);
    expect(value(samples, 'rokv_disk_reads_total')).toBe(0);
  });

  it('mmap: the pages read are resident (mincore), never more than the file', async () => {
    const { metricsPort, size, port, evict } = await serve('mmap');
    evict();
    // Verification read the whole file; evicted, little of it is left.
    expect(value(await scrape(metricsPort), 'rokv_data_resident_bytes')).toBeLessThan(size / 2);
    await getAll(port);
    const samples = await scrape(metricsPort);
    expect(value(samples, 'rokv_storage_info', { tier: 'mmap' })).toBe(1);
    const resident = value(samples, 'rokv_data_resident_bytes') as number;
    // Every record was read through the mapping: all of its pages are in the page cache.
    expect(resident).toBeGreaterThan(size - 4096);
    expect(resident).toBeLessThanOrEqual(Math.ceil(size / 4096) * 4096);
    expect(value(samples, 'rokv_disk_reads_total')).toBe(0);
  });

  it('disk: every record read through the thread pool is counted, with its latency, and none is left in flight', async () => {
    const { metricsPort, size, port, evict } = await serve('disk', { ROKV_DISK_NO_CACHE: '1' });
    evict();
    const before = await scrape(metricsPort);
    expect(value(before, 'rokv_data_resident_bytes')).toBeLessThan(size / 2);
    expect(value(before, 'rokv_storage_info', { tier: 'disk' })).toBe(1);
    expect(value(before, 'rokv_disk_reads_total')).toBe(0);
    await getAll(port);
    const after = await scrape(metricsPort);
    const reads = value(after, 'rokv_disk_reads_total') as number;
    expect(reads).toBeGreaterThanOrEqual(RECORDS.length);
    expect(value(after, 'rokv_disk_read_seconds_total')).toBeGreaterThan(0);
    expect(value(after, 'rokv_disk_reads_in_flight')).toBe(0);
    const resident = value(after, 'rokv_data_resident_bytes') as number;
    // Every record was read: its pages are back in the page cache.
    expect(resident).toBeGreaterThan(size - 4096);
    expect(resident).toBeLessThanOrEqual(Math.ceil(size / 4096) * 4096);
    // Only the index lives in the process: far less anonymous memory than a memory-tier server holds.
    expect(value(after, 'rokv_anonymous_memory_bytes')).toBeGreaterThan(0);
  });
});

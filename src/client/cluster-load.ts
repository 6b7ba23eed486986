// Load over a cluster: each of --clients logical clients has a ClusterClient (one
// connection per server) and keeps --pipeline GETs in flight, routed by the ring,
// failing over to replicas; every answer is checked as in the single-server run.

import seedrandom from 'seedrandom';
import type { ClusterMap } from '../cluster/map.ts';
import type { DataFile } from '../format/data-file.ts';
import { STATUS_NOT_FOUND, STATUS_OK } from '../protocol/rokv/constants.ts';
import { allOrRelease } from './all-or-release.ts';
import { ClusterClient } from './cluster-client.ts';
import { hotKeySeed, keyChooser } from './key-choice.ts';
import type { LoadTestOptions, WorkerResult } from './load-types.ts';
import { Tally, makeMissKeys, show } from './tally.ts';

export async function runClusterLoad(options: LoadTestOptions, map: ClusterMap, data: DataFile, offsets: Float64Array): Promise<WorkerResult> {
  const random = seedrandom.alea(`${options.seed}/cluster`);
  const tally = new Tally(options.intervalMs);
  const missKeys = makeMissKeys(data, random);
  const chooseKey = keyChooser(options.distribution, offsets.length, hotKeySeed(options.seed), random);
  const { credentials } = options;
  const connecting = { connectTimeoutMs: options.connectTimeoutMs, timeoutMs: options.timeoutMs, user: credentials?.user ?? undefined, password: credentials?.password };
  const clients = await allOrRelease(Array.from({ length: options.clients }, () => ClusterClient.connect(map, options.servers ?? [], connecting)), (client) => client.close());
  const budget = options.warmup + options.requests;
  let issued = 0;
  let completed = 0;
  let deadline = Infinity;
  const take = () => !options.stop?.aborted && (options.durationSeconds > 0 ? performance.now() < deadline : issued++ < budget);
  const progress = options.onProgress ? setInterval(() => options.onProgress?.(tally.result.requests), 500) : null;

  const loop = async (client: ClusterClient) => {
    while (take()) {
      const miss = options.missRatio > 0 && random() < options.missRatio;
      const record = miss ? -1 : offsets[chooseKey()];
      const key = miss ? missKeys[Math.floor(random() * missKeys.length)] : data.key(record);
      const sentAt = performance.now();
      let value: Buffer | null;
      try {
        value = await client.get(key);
      } catch (error) {
        tally.result.errors++;
        tally.example('error', show(key), miss ? 'NOT_FOUND' : `OK ${show(data.value(record))}`, (error as Error).message);
        continue;
      }
      const now = performance.now();
      const counted = completed++ >= options.warmup;
      if (counted && options.durationSeconds > 0 && deadline === Infinity) deadline = now + options.durationSeconds * 1000;
      if (miss ? value === null : value !== null && value.equals(data.value(record))) {
        if (counted) tally.result[miss ? 'misses' : 'hits']++;
      } else {
        const got = value ?? Buffer.alloc(0);
        tally.wrong(value === null ? STATUS_NOT_FOUND : STATUS_OK, got, 0, got.length, key, miss ? null : data.value(record));
      }
      if (counted) tally.record(now, sentAt);
    }
  };
  try {
    await Promise.all(clients.flatMap((client) => Array.from({ length: options.pipeline }, () => loop(client))));
  } finally {
    if (progress) clearInterval(progress);
  }
  tally.result.failovers = clients.reduce((a, c) => a + c.failovers, 0);
  await Promise.all(clients.map((c) => c.close()));
  return tally.finish();
}

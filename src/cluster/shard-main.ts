// bin/shard: splits a packed data file into shard files on a consistent-hash ring
// (with replicas) and writes the cluster map; reports balance and key movement.

import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { parseIntIn, runMain } from '../cli.ts';
import { InputError } from '../errors.ts';
import { makeFolder, writeError } from '../files.ts';
import { cleanupOnSignal } from '../signals.ts';
import { loadDataFile } from '../format/load.ts';
import { PackWriter } from '../format/writer.ts';
import { CLUSTER_MAP_VERSION, type ClusterMap, mapId } from './map.ts';
import { DEFAULT_VNODES, RING_SEED, Ring } from './ring.ts';

const program = new Command('shard')
  .description('Split a packed data file into shards on a consistent-hash ring and write cluster.json.')
  .argument('<file>', 'the packed data file')
  .requiredOption('-n, --shards <n>', 'number of shards', parseIntIn(1, 1000))
  .option('-r, --replicas <r>', 'copies of each key (on the next distinct shards clockwise)', parseIntIn(1, 1000), 1)
  .option('--vnodes <n>', 'ring points per shard', parseIntIn(1, 10_000), DEFAULT_VNODES)
  .option('-o, --output <dir>', 'output folder (default: <file>.shards)')
  .addOption(new Option('--out <dir>').hideHelp())
  .option('--json', 'print the balance report as JSON');

program.action((file: string, opts) => runMain('shard', async () => {
  if (opts.replicas > opts.shards) throw new InputError(`--replicas ${opts.replicas} is more than --shards ${opts.shards}`);
  const data = loadDataFile(file);
  const out: string = opts.output ?? opts.out ?? `${file.replace(/\.data$/, '')}.shards`;
  makeFolder(out);
  const ring = new Ring(opts.shards, opts.vnodes, RING_SEED);
  const next = new Ring(opts.shards + 1, opts.vnodes, RING_SEED);
  const names = Array.from({ length: opts.shards }, (_, i) => `shard-${i}.data`);
  const writers: PackWriter[] = [];
  const stopWatching = cleanupOnSignal(() => {
    for (const w of writers) w.abort();
  });
  const primaries = new Array<number>(opts.shards).fill(0);
  let moved = 0;
  try {
    for (const name of names) writers.push(new PackWriter(path.join(out, name)));
    for (const record of data.recordOffsets()) {
      const start = data.keyStart(record);
      const end = start + data.keyLength(record);
      const owners = ring.replicasOf(data.bytes, opts.replicas, start, end);
      primaries[owners[0]]++;
      if (next.ownerOf(data.bytes, start, end) !== owners[0]) moved++;
      for (const shard of owners) writers[shard].add(data.key(record), data.value(record));
    }
    const summaries = [];
    for (const w of writers) summaries.push(await w.finishAsync());
    const shards = summaries.map((s, id) => ({ id, file: names[id], records: s.records, bytes: s.fileSize, records_crc: s.recordsCrc }));
    const body = {
      rokv_cluster: CLUSTER_MAP_VERSION,
      ring: { hash: 'murmur3_32' as const, seed: RING_SEED, vnodes: opts.vnodes },
      replicas: opts.replicas,
      source: { file: path.basename(file), records: data.recordCount },
      shards,
    };
    const map: ClusterMap = { ...body, id: mapId(body) };
    const mapFile = path.join(out, 'cluster.json');
    try {
      fs.writeFileSync(mapFile, `${JSON.stringify(map, null, 2)}\n`);
    } catch (error) {
      throw writeError(mapFile, error);
    }
    const mean = data.recordCount / opts.shards;
    const report = {
      map: path.join(out, 'cluster.json'),
      id: map.id,
      shards: opts.shards,
      replicas: opts.replicas,
      keys_per_shard: primaries,
      max_over_mean: mean > 0 ? Math.max(...primaries) / mean : 0,
      moved_to_n_plus_1: data.recordCount > 0 ? moved / data.recordCount : 0,
      ideal_moved: 1 / (opts.shards + 1),
    };
    if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      process.stdout.write([
        `cluster ${map.id}: ${opts.shards} shards × ${opts.replicas} replica${opts.replicas > 1 ? 's' : ''} in ${out}/`,
        ...shards.map((s) => `  ${s.file}: ${s.records.toLocaleString('en-US')} records (${primaries[s.id].toLocaleString('en-US')} as owner), ${s.bytes.toLocaleString('en-US')} bytes`),
        `balance: max/mean keys per shard ${report.max_over_mean.toFixed(3)}`,
        `movement: going to ${opts.shards + 1} shards moves ${(report.moved_to_n_plus_1 * 100).toFixed(2)}% of keys (ideal 1/${opts.shards + 1} = ${(report.ideal_moved * 100).toFixed(2)}%)`,
      ].join('\n') + '\n');
    }
  } catch (error) {
    for (const w of writers) w.abort();
    throw error;
  } finally {
    stopWatching();
  }
}));

await program.parseAsync();

#!/usr/bin/env node
// bin/shard: splits a packed data file into shard files placed on twemproxy's ketama
// ring (--ketama, with replicas) or on Redis Cluster's hash slots (--slots), writes the
// cluster map, and for ketama with --nodes a nutcracker.yml; reports balance and how
// many keys one more shard would move.

import '../node-version.ts'; // first: an older Node gets one line, not a TypeError
import path from 'node:path';
import { Option } from 'commander';
import { type NodeAddress, formatAddress, parseAddress, parseAddresses } from '../addresses.ts';
import { asFlag, jsonLine, newCommand, parseIntIn, runMain } from '../cli.ts';
import { CLUSTER_MAP_VERSION, type ClusterMap, MAX_REPLICAS, MAX_SHARDS, type PlacementKind, mapId, newPlacement } from '../cluster/map.ts';
import { nutcrackerConfig } from '../cluster/nutcracker.ts';
import { splitSlots } from '../cluster/slots.ts';
import { UsageError } from '../errors.ts';
import { makeFolder, writeFileAtomic } from '../files.ts';
import { loadDataFile } from '../format/load.ts';
import { PackWriter } from '../format/writer.ts';
import { Progress } from '../progress.ts';
import { cleanupOnSignal } from '../signals.ts';

const DEFAULT_PROXY_LISTEN = '127.0.0.1:22121';

const program = newCommand('shard')
  .description('Split a packed data file into shards, placed on twemproxy\'s ketama ring (default) or on Redis Cluster hash slots, and write cluster.json (and nutcracker.yml).')
  .argument('<file>', 'the packed data file')
  .requiredOption('-n, --shards <n>', 'number of shards', parseIntIn(1, MAX_SHARDS))
  .addOption(new Option('--ketama', 'place keys as twemproxy does (distribution ketama, hash fnv1a_64); the default').conflicts('slots'))
  .addOption(new Option('--slots', 'place keys on Redis Cluster\'s 16,384 hash slots, split as redis-cli --cluster create does'))
  .option('-r, --replicas <r>', `copies of each key: ketama, on the shards twemproxy falls back to; slots, servers per shard (1 to ${MAX_REPLICAS})`, parseIntIn(1, MAX_REPLICAS), 1)
  .option('--nodes <list>', 'host:port of the servers\' RESP ports: one per shard (ketama), or shards × replicas, each shard\'s primary first (slots)', asFlag(parseAddresses))
  .option('--proxy-listen <host:port>', `with --ketama: where twemproxy listens (nutcracker.yml); default ${DEFAULT_PROXY_LISTEN}`, asFlag(parseAddress))
  .option('-o, --output <dir>', 'output folder (default: <file>.shards)')
  .addOption(new Option('--out <dir>').hideHelp())
  .option('--json', 'print the balance report as JSON')
  .option('-q, --quiet', 'no progress line on stderr (it is shown only on a terminal anyway)');

program.action((file: string, opts) => runMain('shard', async () => {
  const kind: PlacementKind = opts.slots ? 'slots' : 'ketama';
  const shards: number = opts.shards;
  const replicas: number = opts.replicas;
  const nodes: NodeAddress[] = opts.nodes ?? [];
  if (kind === 'ketama' && replicas > shards) throw new UsageError(`--replicas ${replicas} is more than --shards ${shards}: a ketama copy goes to a distinct shard`);
  if (kind === 'slots' && nodes.length === 0) throw new UsageError(`--slots needs --nodes: the ${shards * replicas} servers' host:port (clients are redirected to them)`);
  const wanted = kind === 'ketama' ? shards : shards * replicas;
  if (opts.nodes && nodes.length !== wanted) {
    throw new UsageError(`--nodes lists ${nodes.length} servers; ${kind === 'ketama' ? `--ketama needs one per shard: ${wanted}` : `--slots needs shards × replicas = ${wanted}`}`);
  }
  const duplicate = nodes.map(formatAddress).find((a, i, all) => all.indexOf(a) !== i);
  if (duplicate) throw new UsageError(`--nodes lists ${duplicate} twice`);
  if (opts.proxyListen && kind !== 'ketama') throw new UsageError('--proxy-listen is for --ketama (twemproxy) clusters');
  if (opts.proxyListen && nodes.length === 0) throw new UsageError('--proxy-listen needs --nodes: nutcracker.yml lists the servers');

  const progress = new Progress('shard', { quiet: opts.quiet });
  const data = progress.during(`reading and checking ${file}`, () => loadDataFile(file));
  const out: string = opts.output ?? opts.out ?? `${file.replace(/\.data$/, '')}.shards`;
  makeFolder(out);
  const placement = newPlacement(kind, shards, replicas);
  const grown = newPlacement(kind, shards + 1, 1);
  const names = Array.from({ length: shards }, (_, i) => `shard-${i}.data`);
  const writers: PackWriter[] = [];
  const stopWatching = cleanupOnSignal(() => {
    for (const w of writers) w.abort();
  });
  const primaries = new Array<number>(shards).fill(0);
  let moved = 0;
  try {
    for (const name of names) writers.push(new PackWriter(path.join(out, name)));
    progress.start('placing', 'records', data.recordCount);
    let placed = 0;
    for (const record of data.recordOffsets()) {
      const start = data.keyStart(record);
      const end = start + data.keyLength(record);
      const owners = placement.shardsOf(data.bytes, start, end);
      primaries[owners[0]]++;
      if (grown.shardsOf(data.bytes, start, end)[0] !== owners[0]) moved++;
      for (const shard of owners) writers[shard].add(data.key(record), data.value(record));
      progress.tick(++placed);
    }
    const summaries = [];
    for (const w of writers) {
      progress.note(`building the index of ${names[summaries.length]} (${summaries.length + 1} of ${shards})`);
      summaries.push(await w.finishAsync());
    }
    progress.end();
    const ranges = kind === 'slots' ? splitSlots(shards) : null;
    const shardEntries = summaries.map((s, id) => ({
      id, file: names[id], records: s.records, bytes: s.fileSize, records_crc: s.recordsCrc, ...(ranges ? { slots: ranges[id] } : {}),
    }));
    const body = {
      rokv_cluster: CLUSTER_MAP_VERSION,
      placement: kind,
      replicas,
      nodes,
      source: { file: path.basename(file), records: data.recordCount },
      shards: shardEntries,
    };
    const map: ClusterMap = { ...body, id: mapId(body) };
    const mapFile = path.join(out, 'cluster.json');
    writeFileAtomic(mapFile, `${JSON.stringify(map, null, 2)}\n`);
    let proxyFile: string | null = null;
    if (kind === 'ketama' && nodes.length > 0) {
      proxyFile = path.join(out, 'nutcracker.yml');
      const listen = opts.proxyListen ?? parseAddress(DEFAULT_PROXY_LISTEN);
      writeFileAtomic(proxyFile, nutcrackerConfig(map.id, listen, nodes));
    }
    const mean = data.recordCount / shards;
    const report = {
      map: mapFile,
      nutcracker: proxyFile,
      id: map.id,
      placement: kind,
      shards,
      replicas,
      keys_per_shard: primaries,
      max_over_mean: mean > 0 ? Math.max(...primaries) / mean : 0,
      moved_to_n_plus_1: data.recordCount > 0 ? moved / data.recordCount : 0,
      ideal_moved: 1 / (shards + 1),
    };
    if (opts.json) process.stdout.write(jsonLine(report));
    else {
      const copies = kind === 'ketama' ? `${replicas} cop${replicas > 1 ? 'ies' : 'y'} of each key` : `${replicas} server${replicas > 1 ? 's' : ''} per shard`;
      process.stdout.write([
        `cluster ${map.id}: ${shards} shards on ${kind === 'ketama' ? 'twemproxy\'s ketama ring' : 'Redis Cluster hash slots'}, ${copies}, in ${out}/`,
        ...shardEntries.map((s) => `  ${s.file}: ${s.records.toLocaleString('en-US')} records (${primaries[s.id].toLocaleString('en-US')} as owner), ${s.bytes.toLocaleString('en-US')} bytes` +
          `${s.slots ? `, slots ${s.slots[0]}-${s.slots[1]}` : ''}`),
        `balance: max/mean keys per shard ${report.max_over_mean.toFixed(3)}`,
        `movement: going to ${shards + 1} shards moves ${(report.moved_to_n_plus_1 * 100).toFixed(2)}% of keys (ideal 1/${shards + 1} = ${(report.ideal_moved * 100).toFixed(2)}%)`,
        `wrote ${mapFile}${proxyFile ? ` and ${proxyFile}` : kind === 'ketama' ? ' (no --nodes: no nutcracker.yml)' : ''}`,
      ].join('\n') + '\n');
    }
  } catch (error) {
    progress.end();
    for (const w of writers) w.abort();
    throw error;
  } finally {
    stopWatching();
  }
}));

await program.parseAsync();

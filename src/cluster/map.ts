// The cluster map (cluster.json): ring parameters, replica count, and for each shard
// its file, record count and records checksum. Its id is a checksum of its content,
// so servers and clients can tell whether they agree on the same map.

import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.ts';
import { checksum } from '../format/checksum.ts';
import type { DataFile } from '../format/data-file.ts';
import { MAX_SHARDS, MAX_VNODES, Ring } from './ring.ts';

export const CLUSTER_MAP_VERSION = 1;

export interface ShardEntry {
  id: number;
  file: string;
  records: number;
  bytes: number;
  records_crc: number;
}

export interface ClusterMap {
  rokv_cluster: number;
  id: string;
  ring: { hash: 'murmur3_32'; seed: number; vnodes: number };
  replicas: number;
  source: { file: string; records: number };
  shards: ShardEntry[];
}

export function mapId(map: Omit<ClusterMap, 'id'>): string {
  const { rokv_cluster, ring, replicas, source, shards } = map;
  const canonical = JSON.stringify({ rokv_cluster, ring, replicas, source, shards });
  return checksum(Buffer.from(canonical)).toString(16).padStart(8, '0');
}

export function ringOf(map: ClusterMap): Ring {
  return new Ring(map.shards.length, map.ring.vnodes, map.ring.seed);
}

export function readClusterMap(file: string): ClusterMap {
  let map: ClusterMap;
  try {
    map = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InputError(`cannot read cluster map ${file}: ${(error as Error).message}`);
  }
  const ok = map && map.rokv_cluster === CLUSTER_MAP_VERSION && Array.isArray(map.shards) && map.shards.length > 0 &&
    map.ring?.hash === 'murmur3_32' && map.shards.every((s, i) => s?.id === i && typeof s.file === 'string');
  if (!ok) throw new InputError(`${file} is not a rokv cluster map (version ${CLUSTER_MAP_VERSION})`);
  const count = (n: unknown, max: number) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= max;
  const problem =
    map.shards.length > MAX_SHARDS ? `${map.shards.length} shards (at most ${MAX_SHARDS})`
      : !count(map.ring.vnodes, MAX_VNODES) || map.ring.vnodes < 1 ? `ring.vnodes ${JSON.stringify(map.ring.vnodes)} (1 to ${MAX_VNODES})`
        : !count(map.ring.seed, 0xffffffff) ? `ring.seed ${JSON.stringify(map.ring.seed)} (a 32-bit unsigned integer)`
          : !count(map.replicas, map.shards.length) || map.replicas < 1 ? `replicas ${JSON.stringify(map.replicas)} (1 to the ${map.shards.length} shards)`
            : !count(map.source?.records, Number.MAX_SAFE_INTEGER) ? 'source.records'
              : map.shards.find((s) => !count(s.records, Number.MAX_SAFE_INTEGER) || !count(s.bytes, Number.MAX_SAFE_INTEGER) || !count(s.records_crc, 0xffffffff))
                ? 'a shard\'s records, bytes or records_crc' : null;
  if (problem) throw new InputError(`${file}: absurd cluster map: ${problem}`);
  if (mapId(map) !== map.id) throw new InputError(`${file}: cluster map id ${map.id} does not match its content (edited by hand?)`);
  return map;
}

/**
 * The whole check of a data file served as a shard: the map is sound, the file is the
 * shard it names, and the map places every key of it there. Returns what INFO reports.
 */
export function checkShard(mapFile: string, dataFile: string, data: DataFile): { cluster: string; shard: number; shards: number } {
  const map = readClusterMap(mapFile);
  const shard = shardOf(map, mapFile, dataFile, data);
  checkShardKeys(map, shard, dataFile, data);
  return { cluster: map.id, shard: shard.id, shards: map.shards.length };
}

/**
 * Checks that every key of a shard's file is placed on that shard by the map's ring
 * (with its replicas): a map whose ring was edited, id recomputed, would otherwise
 * be served and answer NOT_FOUND for keys it sends elsewhere.
 */
export function checkShardKeys(map: ClusterMap, entry: ShardEntry, dataFile: string, data: DataFile): void {
  const ring = ringOf(map);
  for (let record = data.firstRecord; record < data.recordsEnd; record = data.nextRecord(record)) {
    const start = data.keyStart(record);
    const end = start + data.keyLength(record);
    const owners = ring.replicasOf(data.bytes, map.replicas, start, end);
    if (!owners.includes(entry.id)) {
      const key = data.bytes.subarray(start, end);
      throw new InputError(
        `${dataFile} holds key ${JSON.stringify(key.toString('latin1'))}, which cluster ${map.id} places on shard${owners.length > 1 ? 's' : ''} ${owners.join(', ')}, not shard ${entry.id}: the map does not describe this file`,
      );
    }
  }
}

/** The shard entry a loaded data file is, or a clear error. */
export function shardOf(map: ClusterMap, mapFile: string, dataFile: string, data: DataFile): ShardEntry {
  const entry = map.shards.find((s) => s.file === path.basename(dataFile));
  if (!entry) throw new InputError(`${dataFile} is not a shard of cluster ${map.id} (${mapFile} lists ${map.shards.map((s) => s.file).join(', ')})`);
  if (entry.records !== data.recordCount || entry.records_crc !== data.header.recordsCrc || entry.bytes !== data.bytes.length) {
    throw new InputError(`${dataFile} does not match shard ${entry.id} of cluster ${map.id}: the map expects ${entry.records} records, ${entry.bytes} bytes, records checksum ${entry.records_crc.toString(16)}; the file has ${data.recordCount}, ${data.bytes.length}, ${data.header.recordsCrc.toString(16)}`);
  }
  return entry;
}

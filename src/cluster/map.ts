// The cluster map (cluster.json): how keys are placed (twemproxy's ketama ring, or Redis
// Cluster's hash slots), the replica count, the servers (host:port of each), and for
// each shard its file, record count and records checksum (and, with slots, its slot
// range). Its id is a checksum of all of that, so servers and clients can tell whether
// they agree on the same map; reading a map refuses absurd or edited parameters.

import fs from 'node:fs';
import path from 'node:path';
import { type NodeAddress, formatAddress } from '../addresses.ts';
import { InputError } from '../errors.ts';
import { checksum } from '../format/checksum.ts';
import type { HeaderSummary } from '../format/header.ts';
import type { KeyVisitor } from '../format/records-check.ts';
import { KetamaRing } from './ketama.ts';
import { SLOT_COUNT, keySlot, slotTable, splitSlots } from './slots.ts';

export const CLUSTER_MAP_VERSION = 2;
/** Bounds every tool and the library hold to: past them a map is absurd (and would eat memory). */
export const MAX_SHARDS = 1000;
export const MAX_REPLICAS = 10;

export type PlacementKind = 'ketama' | 'slots';

export interface ShardEntry {
  id: number;
  file: string;
  records: number;
  bytes: number;
  records_crc: number;
  /** Slots placement: the first and last slot of the shard. */
  slots?: [number, number];
}

export interface ClusterMap {
  rokv_cluster: number;
  id: string;
  /** ketama: twemproxy's ring (fnv1a_64, servers "shard-<i>"); slots: Redis Cluster's CRC16 slots. */
  placement: PlacementKind;
  /** ketama: copies of each key on distinct shards; slots: servers per shard (a primary and R − 1 replicas). */
  replicas: number;
  /** ketama: one per shard, or none; slots: shard i's servers are nodes i·R … i·R + R − 1. */
  nodes: NodeAddress[];
  source: { file: string; records: number };
  shards: ShardEntry[];
}

export function mapId(map: Omit<ClusterMap, 'id'>): string {
  const { rokv_cluster, placement, replicas, nodes, source, shards } = map;
  const canonical = JSON.stringify({ rokv_cluster, placement, replicas, nodes, source, shards });
  return checksum(Buffer.from(canonical)).toString(16).padStart(8, '0');
}

/** Which shards hold a key, in the order a reader should try them. */
export interface Placement {
  shardsOf(key: Uint8Array, start?: number, end?: number): number[];
}

class KetamaPlacement implements Placement {
  readonly ring: KetamaRing;
  private readonly replicas: number;
  constructor(shards: number, replicas: number) {
    this.ring = new KetamaRing(shards);
    this.replicas = replicas;
  }
  shardsOf(key: Uint8Array, start = 0, end = key.length): number[] {
    return this.ring.replicasOf(key, this.replicas, start, end);
  }
}

class SlotPlacement implements Placement {
  /** The shard of each slot. */
  readonly slotShard: Uint16Array;
  constructor(ranges: [number, number][]) {
    this.slotShard = slotTable(ranges);
  }
  shardsOf(key: Uint8Array, start = 0, end = key.length): number[] {
    return [this.slotShard[keySlot(key, start, end)]];
  }
}

/** The placement a map describes. */
export function placementOf(map: ClusterMap): Placement {
  return map.placement === 'ketama'
    ? new KetamaPlacement(map.shards.length, map.replicas)
    : new SlotPlacement(map.shards.map((s) => s.slots as [number, number]));
}

/** A placement from tool parameters (bin/shard), before any map exists. */
export function newPlacement(kind: PlacementKind, shards: number, replicas: number): Placement {
  return kind === 'ketama' ? new KetamaPlacement(shards, replicas) : new SlotPlacement(splitSlots(shards));
}

/**
 * The servers of a shard, as indexes in the cluster's server list (map.nodes, or the
 * rokv client's --servers): ketama, server i is shard i; slots, shard i's R servers.
 */
export function serversOf(map: ClusterMap, shard: number): number[] {
  return map.placement === 'ketama' ? [shard] : slotShardServers(shard, map.replicas);
}

/** With slots placement: shard i's `replicas` servers, primary first. */
export function slotShardServers(shard: number, replicas: number): number[] {
  return Array.from({ length: replicas }, (_, r) => shard * replicas + r);
}

/** How many servers the cluster has. */
export function serverCount(map: ClusterMap): number {
  return map.placement === 'ketama' ? map.shards.length : map.shards.length * map.replicas;
}

/** The shard server i serves. */
export function shardOfServer(map: ClusterMap, server: number): number {
  return map.placement === 'ketama' ? server : Math.floor(server / map.replicas);
}

const isCount = (n: unknown, max: number) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= max;

/** What is absurd about a parsed map, or null. */
function absurdity(map: ClusterMap): string | null {
  const n = map.shards.length;
  if (n > MAX_SHARDS) return `${n} shards (at most ${MAX_SHARDS})`;
  const maxReplicas = map.placement === 'ketama' ? Math.min(n, MAX_REPLICAS) : MAX_REPLICAS;
  if (!isCount(map.replicas, maxReplicas) || map.replicas < 1) return `replicas ${JSON.stringify(map.replicas)} (1 to ${maxReplicas})`;
  if (!isCount(map.source?.records, Number.MAX_SAFE_INTEGER)) return 'source.records';
  if (map.shards.some((s) => !isCount(s.records, Number.MAX_SAFE_INTEGER) || !isCount(s.bytes, Number.MAX_SAFE_INTEGER) || !isCount(s.records_crc, 0xffffffff))) {
    return 'a shard\'s records, bytes or records_crc';
  }
  if (!Array.isArray(map.nodes)) return 'nodes (a list of {host, port})';
  const wanted = map.placement === 'ketama' ? (map.nodes.length === 0 ? 0 : n) : n * map.replicas;
  if (map.nodes.length !== wanted) return `${map.nodes.length} nodes for ${n} shards${map.placement === 'slots' ? ` × ${map.replicas} replicas` : ''} (${wanted} wanted)`;
  const seen = new Set<string>();
  for (const node of map.nodes) {
    if (typeof node?.host !== 'string' || !/^[^\s,]{1,253}$/.test(node.host) || !isCount(node.port, 65_535) || node.port < 1) return `node ${JSON.stringify(node)}`;
    const address = formatAddress(node);
    if (seen.has(address)) return `node ${address} listed twice`;
    seen.add(address);
  }
  if (map.placement === 'slots') {
    let next = 0;
    for (const s of map.shards) {
      const [first, last] = Array.isArray(s.slots) ? s.slots : [NaN, NaN];
      if (first !== next || !isCount(last, SLOT_COUNT - 1) || last < first) return `shard ${s.id}'s slots ${JSON.stringify(s.slots)} (ranges must cover 0 to ${SLOT_COUNT - 1} in order)`;
      next = last + 1;
    }
    if (next !== SLOT_COUNT) return `slots end at ${next - 1}, not ${SLOT_COUNT - 1}`;
  }
  return null;
}

export function readClusterMap(file: string): ClusterMap {
  let map: ClusterMap;
  try {
    map = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InputError(`cannot read cluster map ${file}: ${(error as Error).message}`);
  }
  const ok = map && map.rokv_cluster === CLUSTER_MAP_VERSION && Array.isArray(map.shards) && map.shards.length > 0 &&
    (map.placement === 'ketama' || map.placement === 'slots') && map.shards.every((s, i) => s?.id === i && typeof s.file === 'string');
  if (!ok) throw new InputError(`${file} is not a rokv cluster map (version ${CLUSTER_MAP_VERSION}, placement ketama or slots)`);
  const problem = absurdity(map);
  if (problem) throw new InputError(`${file}: absurd cluster map: ${problem}`);
  if (mapId(map) !== map.id) throw new InputError(`${file}: cluster map id ${map.id} does not match its content (edited by hand?)`);
  return map;
}

/**
 * What a server is in a cluster: plain data (it crosses to worker threads), from the
 * map and the server's own address. Routing (slots) is built from it in each loop.
 */
export interface ShardRole {
  cluster: string;
  placement: PlacementKind;
  shard: number;
  shards: number;
  replicas: number;
  /** Slots placement: this server's index in `nodes`. */
  node: number | null;
  nodes: NodeAddress[];
  /** Slots placement: each shard's [first, last] slot. */
  ranges: [number, number][];
}

/**
 * The whole check of a data file served as a shard, made during its verification pass
 * (storage/verify.ts, DataFile): the map is sound, the file is the shard it names
 * (onHeader: by its header alone), and the map places every key of it there (the
 * visitor onHeader returns sees every key). role() then says what the server is; with
 * slots, `self` (the server's RESP address, or an explicit node) must be one of that
 * shard's servers.
 */
export class ShardCheck {
  private readonly map: ClusterMap;
  private readonly mapFile: string;
  private readonly dataFile: string;
  private readonly self: NodeAddress | null;
  private entry: ShardEntry | null = null;

  constructor(mapFile: string, dataFile: string, self: NodeAddress | null) {
    this.map = readClusterMap(mapFile);
    this.mapFile = mapFile;
    this.dataFile = dataFile;
    this.self = self;
  }

  /** The file is the shard the map names (count, records checksum, size); returns the visitor of its keys. */
  onHeader = (header: HeaderSummary): KeyVisitor => {
    const { map, dataFile } = this;
    const entry = map.shards.find((s) => s.file === path.basename(dataFile));
    if (!entry) throw new InputError(`${dataFile} is not a shard of cluster ${map.id} (${this.mapFile} lists ${map.shards.map((s) => s.file).join(', ')})`);
    if (entry.records !== header.recordCount || entry.records_crc !== header.recordsCrc || entry.bytes !== header.fileSize) {
      throw new InputError(`${dataFile} does not match shard ${entry.id} of cluster ${map.id}: the map expects ${entry.records} records, ${entry.bytes} bytes, records checksum ${entry.records_crc.toString(16)}; the file has ${header.recordCount}, ${header.fileSize}, ${header.recordsCrc.toString(16)}`);
    }
    this.entry = entry;
    // Every key of the file is placed on this shard by the map (with its replicas): a map
    // whose placement was edited, id recomputed, would otherwise be served and answer
    // NOT_FOUND for keys it sends elsewhere.
    const placement = placementOf(map);
    return (bytes, start, end) => {
      const owners = placement.shardsOf(bytes, start, end);
      if (!owners.includes(entry.id)) {
        const key = Buffer.from(bytes.subarray(start, end));
        throw new InputError(
          `${dataFile} holds key ${JSON.stringify(key.toString('latin1'))}, which cluster ${map.id} places on shard${owners.length > 1 ? 's' : ''} ${owners.join(', ')}, not shard ${entry.id}: the map does not describe this file`,
        );
      }
    };
  };

  /** What the server is in the cluster: call after the file passed. */
  role(): ShardRole {
    const { map, self } = this;
    const entry = this.entry as ShardEntry;
    let node: number | null = null;
    if (map.placement === 'slots') {
      const mine = serversOf(map, entry.id);
      const listed = mine.map((i) => formatAddress(map.nodes[i])).join(', ');
      if (self === null) throw new InputError(`cluster ${map.id} places keys on hash slots: serve it with --resp-port (shard ${entry.id} is served at ${listed})`);
      const matches = mine.filter((i) => map.nodes[i].port === self.port && (self.host === '' || map.nodes[i].host === self.host));
      if (matches.length !== 1) {
        throw new InputError(`${formatAddress(self).replace(/^:/, 'port ')} ${matches.length === 0 ? 'is not one' : 'matches more than one'} of shard ${entry.id}'s servers in cluster ${map.id} (${listed}): check --resp-port, or name the node with --cluster-node`);
      }
      node = matches[0];
    }
    return {
      cluster: map.id, placement: map.placement, shard: entry.id, shards: map.shards.length, replicas: map.replicas, node,
      nodes: map.placement === 'slots' ? map.nodes : [], ranges: map.placement === 'slots' ? map.shards.map((s) => s.slots as [number, number]) : [],
    };
  }
}

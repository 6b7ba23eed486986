// A slots-placement server's view of its cluster: which shard serves each slot, which
// servers are live (flags the peer probe keeps, shared by every event loop), and so
// which keys this server answers and where it redirects the others (-MOVED). A shard's
// acting primary is its first live server; replicas answer only connections that
// sent READONLY, as in Redis Cluster.

import crypto from 'node:crypto';
import { type NodeAddress, formatAddress } from '../addresses.ts';
import { type ShardRole, slotShardServers } from './map.ts';
import { slotTable } from './slots.ts';

/** This server answers the key: what route() returns instead of a slot. */
export const SERVED_HERE = -1;

/** The Redis node id (40 hex digits) of server `node` of cluster `cluster` (a map's id): stable for a map. */
export function nodeId(cluster: string, node: number): string {
  return crypto.createHash('sha1').update(`rokv:${cluster}:${node}`).digest('hex');
}

export class SlotRouter {
  readonly role: ShardRole;
  /** The shard of each slot. */
  readonly slotShard: Uint16Array;
  /** 1 for each live server (in role.nodes order), 0 for a dead one. */
  readonly live: Uint8Array;
  /** Redis node ids (40 hex digits), one per server, stable for a map. */
  readonly ids: string[];
  readonly self: number;

  constructor(role: ShardRole, live: Uint8Array) {
    if (role.node === null) throw new Error('a slot router needs the server\'s node');
    this.role = role;
    this.self = role.node;
    this.live = live;
    this.slotShard = slotTable(role.ranges);
    this.ids = role.nodes.map((_, i) => nodeId(role.cluster, i));
  }

  /** The servers of a shard, primary first (indexes in role.nodes). */
  serversOf(shard: number): number[] {
    return slotShardServers(shard, this.role.replicas);
  }

  /** The shard's live servers first, then the dead, each group in map order. */
  byLiveness(shard: number): number[] {
    const servers = this.serversOf(shard);
    return [...servers.filter((i) => this.isLive(i)), ...servers.filter((i) => !this.isLive(i))];
  }

  isLive(node: number): boolean {
    return node === this.self || this.live[node] === 1;
  }

  /** The server that acts as the shard's primary: its first live one (its first if none is). */
  actingPrimary(shard: number): number {
    const base = shard * this.role.replicas;
    for (let r = 0; r < this.role.replicas; r++) if (this.isLive(base + r)) return base + r;
    return base;
  }

  /**
   * SERVED_HERE when this server answers keys of `slot`, else the slot: it is another
   * shard's, or this server is a replica and the connection did not send READONLY
   * (the acting primary answers it).
   */
  route(slot: number, readonly: boolean): number {
    const shard = this.slotShard[slot];
    if (shard === this.role.shard && (readonly || this.actingPrimary(shard) === this.self)) return SERVED_HERE;
    return slot;
  }

  /** The error text that sends a client to the server answering `slot`. */
  moved(slot: number): string {
    return `MOVED ${slot} ${formatAddress(this.role.nodes[this.actingPrimary(this.slotShard[slot])])}`;
  }

  address(node: number): NodeAddress {
    return this.role.nodes[node];
  }
}

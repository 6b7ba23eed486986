// The consistent-hash ring: each shard owns VNODES points (murmur3 of "shard-<id>#<n>"),
// a key belongs to the first point clockwise from its hash, and its replicas to the
// next distinct shards clockwise.

import { murmur3 } from '../format/hash.ts';

export const DEFAULT_VNODES = 160;
export const RING_SEED = 0x72696e67; // "ring"
/** Bounds every tool and the library hold to: past them a ring is absurd (and would eat memory). */
export const MAX_SHARDS = 1000;
export const MAX_VNODES = 10_000;

export class Ring {
  readonly shardCount: number;
  readonly vnodes: number;
  readonly seed: number;
  /** Sorted point positions and the shard owning each. */
  private readonly points: Uint32Array;
  private readonly owners: Uint16Array;

  constructor(shardCount: number, vnodes = DEFAULT_VNODES, seed = RING_SEED) {
    if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > MAX_SHARDS) throw new RangeError(`a ring has 1 to ${MAX_SHARDS} shards, not ${shardCount}`);
    if (!Number.isInteger(vnodes) || vnodes < 1 || vnodes > MAX_VNODES) throw new RangeError(`a ring has 1 to ${MAX_VNODES} points per shard, not ${vnodes}`);
    this.shardCount = shardCount;
    this.vnodes = vnodes;
    this.seed = seed;
    const entries: [number, number][] = [];
    for (let shard = 0; shard < shardCount; shard++) {
      for (let v = 0; v < vnodes; v++) {
        const label = Buffer.from(`shard-${shard}#${v}`);
        entries.push([murmur3(label, 0, label.length, seed), shard]);
      }
    }
    entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = Uint32Array.from(entries, (e) => e[0]);
    this.owners = Uint16Array.from(entries, (e) => e[1]);
  }

  /** Index of the first point at or after the hash, wrapping to 0. */
  private pointFor(hash: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.points.length ? 0 : lo;
  }

  hashKey(key: Uint8Array, start = 0, end = key.length): number {
    return murmur3(key, start, end, this.seed);
  }

  /** The shard that owns a key. */
  ownerOf(key: Uint8Array, start = 0, end = key.length): number {
    return this.owners[this.pointFor(this.hashKey(key, start, end))];
  }

  /** The owner and the next replicas − 1 distinct shards clockwise. */
  replicasOf(key: Uint8Array, replicas: number, start = 0, end = key.length): number[] {
    const wanted = Math.min(replicas, this.shardCount);
    const shards: number[] = [];
    let at = this.pointFor(this.hashKey(key, start, end));
    while (shards.length < wanted) {
      const shard = this.owners[at];
      if (!shards.includes(shard)) shards.push(shard);
      at = at + 1 === this.points.length ? 0 : at + 1;
    }
    return shards;
  }
}

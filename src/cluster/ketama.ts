// twemproxy's ketama ring, bit for bit as twemproxy 0.5 computes it on x86-64
// (src/hashkit/nc_ketama.c, nc_fnv.c): servers named "shard-<i>" with weight 1, each
// owning the points nc_ketama.c gives it (MD5 of "shard-<i>-<j>", 4 points per digest),
// keys hashed with its fnv1a_64, a key owned by the first point at or after its hash
// (wrapping to the first point). Replicas follow twemproxy's ejection: a key's next copy
// is its owner on the continuum rebuilt without the owners before it.

import crypto from 'node:crypto';

/** KETAMA_POINTS_PER_SERVER in nc_ketama.c: points per server at weight 1. */
const POINTS_PER_SERVER = 160;
/** Points taken from one MD5 digest. */
const POINTS_PER_HASH = 4;

/** twemproxy's server name for shard i (its `name` in nutcracker.yml, and what ketama hashes). */
export function ketamaServerName(shard: number): string {
  return `shard-${shard}`;
}

/**
 * The points each of `live` servers of weight 1 gets, computed as nc_ketama.c does:
 * single-precision float steps, one double addition of 1e-10, then floorf, times 4.
 * 160 for most counts; e.g. 156 for 25.
 */
export function ketamaPointsPerServer(live: number): number {
  const f = Math.fround;
  const pct = f(f(1) / f(live));
  const product = f(f(f(pct * POINTS_PER_SERVER) / POINTS_PER_HASH) * f(live));
  return Math.floor(f(product + 0.0000000001)) * POINTS_PER_HASH;
}

/**
 * hash_fnv1a_64 of nc_fnv.c: despite its name a 32-bit FNV-1a with the 64-bit
 * constants truncated to 32 bits; each byte is a signed char on x86-64, so a byte
 * b ≥ 0x80 is xored in as 0xffffff00 | b.
 */
export function fnv1a64(key: Uint8Array, start = 0, end = key.length): number {
  let hash = 0x84222325;
  for (let i = start; i < end; i++) {
    const b = key[i];
    hash ^= b < 0x80 ? b : b | 0xffffff00;
    hash = Math.imul(hash, 0x1b3);
  }
  return hash >>> 0;
}

/** A continuum: point values ascending and the server of each, ties in server order. */
interface Continuum {
  values: Uint32Array;
  owners: Uint16Array;
}

export class KetamaRing {
  readonly servers: number;
  /** Each server's point values in the order nc_ketama.c makes them (its first 160). */
  private readonly pointsOf: Uint32Array[];
  /** Continuums with every server at 156 or 160 points, built when first needed. */
  private readonly continuums = new Map<number, Continuum>();
  private readonly excluded: Uint8Array;

  constructor(servers: number) {
    this.servers = servers;
    this.excluded = new Uint8Array(servers);
    this.pointsOf = Array.from({ length: servers }, (_, shard) => {
      const points = new Uint32Array(POINTS_PER_SERVER);
      for (let j = 0; j < POINTS_PER_SERVER / POINTS_PER_HASH; j++) {
        const digest = crypto.createHash('md5').update(`${ketamaServerName(shard)}-${j}`).digest();
        for (let x = 0; x < POINTS_PER_HASH; x++) points[j * POINTS_PER_HASH + x] = digest.readUInt32LE(x * 4);
      }
      return points;
    });
  }

  /**
   * The continuum where every server has `points` points. twemproxy's continuum with
   * some servers ejected is this one with their points left out: qsort in glibc 2.36 is
   * a stable merge sort, so ties keep server order in both, and leaving points out of a
   * stably sorted list leaves the rest in their sorted order.
   */
  private continuum(points: number): Continuum {
    let c = this.continuums.get(points);
    if (c === undefined) {
      const order: number[] = [];
      for (let s = 0; s < this.servers; s++) for (let p = 0; p < points; p++) order.push(s * POINTS_PER_SERVER + p);
      const value = (i: number) => this.pointsOf[Math.floor(i / POINTS_PER_SERVER)][i % POINTS_PER_SERVER];
      order.sort((a, b) => value(a) - value(b) || a - b);
      c = { values: Uint32Array.from(order, value), owners: Uint16Array.from(order, (i) => Math.floor(i / POINTS_PER_SERVER)) };
      this.continuums.set(points, c);
    }
    return c;
  }

  /**
   * ketama_dispatch over the continuum of the servers not excluded: the first point
   * whose value is ≥ hash, or the first point when there is none.
   */
  private dispatch(c: Continuum, hash: number): number {
    const { values, owners } = c;
    let lo = 0;
    let hi = values.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (values[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo, seen = 0; seen < values.length; seen++, i++) {
      if (i === values.length) i = 0;
      if (this.excluded[owners[i]] === 0) return owners[i];
    }
    throw new Error('every server of the ring is excluded');
  }

  hashKey(key: Uint8Array, start = 0, end = key.length): number {
    return fnv1a64(key, start, end);
  }

  /** The server twemproxy sends a key to while every server is live. */
  ownerOf(key: Uint8Array, start = 0, end = key.length): number {
    return this.dispatch(this.continuum(ketamaPointsPerServer(this.servers)), this.hashKey(key, start, end));
  }

  /**
   * The key's owner, then its owner with the first ejected, and so on: where twemproxy
   * sends it as its owners die one by one. `replicas` at most the server count.
   */
  replicasOf(key: Uint8Array, replicas: number, start = 0, end = key.length): number[] {
    const hash = this.hashKey(key, start, end);
    const owners: number[] = [];
    for (let r = 0; r < replicas && r < this.servers; r++) {
      const owner = this.dispatch(this.continuum(ketamaPointsPerServer(this.servers - r)), hash);
      owners.push(owner);
      this.excluded[owner] = 1;
    }
    for (const owner of owners) this.excluded[owner] = 0;
    return owners;
  }
}

// Redis Cluster's hash slots: CRC16/XMODEM of the key, or of its {hash tag}, modulo
// 16,384 (keyHashSlot in Redis's cluster.c), and the contiguous split of the slots over
// N shards that `redis-cli --cluster create` makes.

export const SLOT_COUNT = 16_384;

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** CRC16/XMODEM (polynomial 0x1021, initial 0, no reflection) of bytes[start, end). */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >>> 8) ^ bytes[i]) & 0xff];
  return crc;
}

/**
 * The slot of the key bytes[start, end): if it has a '{' followed later by a '}' with
 * at least one byte between the first '{' and the first '}' after it, only those
 * bytes are hashed; otherwise the whole key.
 */
export function keySlot(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let open = start;
  while (open < end && bytes[open] !== 0x7b) open++;
  if (open < end) {
    let close = open + 1;
    while (close < end && bytes[close] !== 0x7d) close++;
    if (close < end && close > open + 1) return crc16(bytes, open + 1, close) & (SLOT_COUNT - 1);
  }
  return crc16(bytes, start, end) & (SLOT_COUNT - 1);
}

/** The shard of each slot, from each shard's [first, last] range. */
export function slotTable(ranges: [number, number][]): Uint16Array {
  const table = new Uint16Array(SLOT_COUNT);
  ranges.forEach(([first, last], shard) => table.fill(shard, first, last + 1));
  return table;
}

/**
 * The slot ranges [first, last] of `shards` shards as redis-cli --cluster create
 * assigns them to masters (clusterManagerCommandCreate: float arithmetic, lround).
 * 3 shards: 0–5460, 5461–10922, 10923–16383.
 */
export function splitSlots(shards: number): [number, number][] {
  const f = Math.fround;
  const perShard = f(SLOT_COUNT / shards);
  const ranges: [number, number][] = [];
  let first = 0;
  let cursor = f(0);
  for (let j = 0; j < shards; j++) {
    let last = lround(f(f(cursor + perShard) - 1));
    if (last > SLOT_COUNT || j === shards - 1) last = SLOT_COUNT - 1;
    if (last < first) last = first;
    ranges.push([first, last]);
    first = last + 1;
    cursor = f(cursor + perShard);
  }
  return ranges;
}

/** C's lround: halves away from zero. */
function lround(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

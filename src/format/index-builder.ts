// Builds the open-addressing index of a packed file: Robin Hood linear probing over
// the records' hashes, duplicate keys resolved by the caller, slots encoded per layout.ts.
// The build is a generator that yields now and then (so a CLI can handle signals) and
// gives up as soon as a record lands farther than a limit from its home slot.

import { MAX_DISPLACEMENT, SLOT_SIZE, encodeSlotHigh, homeSlot, slotCountFor, slotTag } from './layout.ts';

export interface IndexKeys {
  /** 32-bit key hash of each record, by ordinal. */
  readonly hashes: Uint32Array;
  /** File offset of each record, by ordinal. */
  readonly offsets: Float64Array;
  readonly count: number;
  /** True when the records at both ordinals have equal keys (only asked when hashes are equal). */
  sameKey(a: number, b: number): boolean;
  /** Two records share a key: return the ordinal to keep, or throw. */
  resolveDuplicate(existing: number, incoming: number): number;
}

export interface BuiltIndex {
  readonly slots: Buffer;
  readonly slotCount: number;
  readonly maxDisplacement: number;
  /** Ordinals dropped as duplicates, ascending (a typed array: a JS Array stops at 2^27 numbers). */
  readonly dropped: Uint32Array;
}

const EMPTY = 0;
/** Insertions between yields. */
const STEP = 1 << 18;

/**
 * The index of these keys, or null once some record would land more than `limit`
 * slots from home (a hash-flooding input: the caller rehashes with another seed).
 * Work is bounded by count × limit. Yields every STEP insertions.
 */
export function* buildIndexSteps(keys: IndexKeys, limit = MAX_DISPLACEMENT): Generator<void, BuiltIndex | null> {
  const slotCount = slotCountFor(keys.count);
  // Ordinal + 1 of the record in each slot; EMPTY (0) when free.
  const slotEntry = new Uint32Array(slotCount);
  const slotHash = new Uint32Array(slotCount);
  let dropped = new Uint32Array(64);
  let droppedCount = 0;
  let maxDisplacement = 0;

  for (let ordinal = 0; ordinal < keys.count; ordinal++) {
    if (ordinal % STEP === STEP - 1) yield;
    let entry = ordinal + 1;
    let hash = keys.hashes[ordinal];
    let distance = 0;
    let pos = homeSlot(hash, slotCount);
    let mayBeDuplicate = true; // only the record being inserted can meet its twin
    for (;;) {
      const resident = slotEntry[pos];
      if (resident === EMPTY) {
        slotEntry[pos] = entry;
        slotHash[pos] = hash;
        if (distance > maxDisplacement) maxDisplacement = distance;
        break;
      }
      const residentHash = slotHash[pos];
      if (mayBeDuplicate && residentHash === hash && keys.sameKey(resident - 1, entry - 1)) {
        const keep = keys.resolveDuplicate(resident - 1, entry - 1);
        if (droppedCount === dropped.length) {
          const grown = new Uint32Array(droppedCount * 2);
          grown.set(dropped);
          dropped = grown;
        }
        dropped[droppedCount++] = keep === resident - 1 ? entry - 1 : resident - 1;
        slotEntry[pos] = keep + 1;
        break;
      }
      let residentDistance = pos - homeSlot(residentHash, slotCount);
      if (residentDistance < 0) residentDistance += slotCount;
      if (residentDistance < distance) {
        slotEntry[pos] = entry;
        slotHash[pos] = hash;
        if (distance > maxDisplacement) maxDisplacement = distance;
        entry = resident;
        hash = residentHash;
        distance = residentDistance;
        mayBeDuplicate = false;
      }
      distance++;
      if (distance > limit) return null;
      pos++;
      if (pos === slotCount) pos = 0;
    }
  }

  const slots = Buffer.alloc(slotCount * SLOT_SIZE);
  for (let pos = 0; pos < slotCount; pos++) {
    const entry = slotEntry[pos];
    if (entry === EMPTY) continue;
    const offset = keys.offsets[entry - 1];
    slots.writeUInt32LE(offset >>> 0, pos * SLOT_SIZE);
    slots.writeUInt32LE(encodeSlotHigh(slotTag(keys.hashes[entry - 1]), offset), pos * SLOT_SIZE + 4);
  }
  return { slots, slotCount, maxDisplacement, dropped: dropped.subarray(0, droppedCount).sort() };
}

// The structure check of a data file's records section, streamed: fed the section's
// bytes in file order, in chunks cut anywhere, it checks every record's bounds and
// finds each record through the index by its own key (home slot, tag, probe window):
// some slot must hold the record's offset. finish() then checks the records checksum,
// the record count, and that the index has exactly recordCount used slots. Records
// have distinct offsets, so the slots found for them are distinct: with exactly
// recordCount used slots, every used slot points at a distinct record start and every
// record is reachable — the index can give no wrong answer. Memory: a batch of pending
// lookups and one key (at most 64 KiB) carried across a chunk boundary. Every tier
// runs it before serving a version (src/storage/verify.ts, format/data-file.ts).
//
// Speed: the index is far larger than the CPU's caches and each record's slot is at a
// random place in it, so a lookup is a cache miss. Lookups are made in batches: the
// home slots of a batch are computed and touched first (independent loads, so the CPU
// has many misses in flight at once), then each record's probe runs from the cache.

import { checksum } from './checksum.ts';
import { FormatError } from '../errors.ts';
import type { HeaderSummary } from './header.ts';
import { murmur3 } from './hash.ts';
import { HEADER_SIZE, MAX_VALUE_LENGTH, RECORD_HEADER_SIZE, SLOT_SIZE, TAG_MASK, homeSlot, recordValueLength } from './layout.ts';

const TWO_32 = 2 ** 32;
const WORDS_PER_SLOT = SLOT_SIZE / 4;
const MAX_RECORD_PREFIX = RECORD_HEADER_SIZE + 0xffff;
/** Lookups made together: enough misses in flight to keep the memory busy, few enough that the touched slots stay in L1/L2. */
const BATCH = 64;

/** Called with each record's key bytes, in file order (the cluster shard check). */
export type KeyVisitor = (bytes: Uint8Array, start: number, end: number) => void;

export class RecordsCheck {
  private readonly header: HeaderSummary;
  private readonly slots: Uint32Array;
  private readonly source: string;
  private readonly onKey: KeyVisitor | null;
  private crc = 0;
  /** File offset of the next byte pushed. */
  private at = HEADER_SIZE;
  /** File offset of the record being read. */
  private record = HEADER_SIZE;
  private count = 0;
  /** Value bytes of the current record still to pass over. */
  private skip = 0;
  /** A record's header and key cut by a chunk boundary: carry[0, carried). */
  private readonly carry = Buffer.allocUnsafe(MAX_RECORD_PREFIX);
  private carried = 0;
  private readonly recordsEnd: number;
  /** The first structural problem found; only the checksum is computed after it. */
  private failure: FormatError | null = null;
  /** Lookups not made yet, of records whose keys are in `batchBytes` (the chunk being walked): [0, batched). */
  private batched = 0;
  private batchBytes: Uint8Array | null = null;
  private readonly batchHash = new Uint32Array(BATCH);
  private readonly batchSlot = new Uint32Array(BATCH);
  private readonly batchKeyStart = new Uint32Array(BATCH);
  private readonly batchKeyEnd = new Uint32Array(BATCH);
  private readonly batchRecord = new Float64Array(BATCH);
  private readonly batchNumber = new Float64Array(BATCH);
  /** Where the touched slots' words go, so the loads are not optimized away. */
  private touched = 0;

  constructor(header: HeaderSummary, slots: Uint32Array, source: string, onKey: KeyVisitor | null = null) {
    this.header = header;
    this.slots = slots;
    this.source = source;
    this.onKey = onKey;
    this.recordsEnd = HEADER_SIZE + header.recordsLength;
  }

  /**
   * The next bytes of the records section, in order. After the first problem only the
   * checksum goes on: a corrupt file is then named by its checksum, a file that is
   * consistent but wrong by its first bad record (finish() throws either).
   */
  push(chunk: Uint8Array): void {
    this.crc = checksum(chunk, this.crc);
    if (this.failure !== null) return;
    try {
      this.walk(chunk);
      this.lookUpBatch();
    } catch (error) {
      if (!(error instanceof FormatError)) throw error;
      this.failure = error;
    }
  }

  private walk(chunk: Uint8Array): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, end - pos);
        this.skip -= n;
        pos += n;
        this.at += n;
        if (this.skip === 0) this.nextRecord();
        continue;
      }
      if (this.carried === 0) {
        // Whole record prefixes straight from the chunk: the common case.
        const need = prefixLength(chunk, pos, end);
        if (need > 0 && pos + need <= end) {
          this.checkBounds(chunk, pos);
          this.batch(chunk, pos);
          const value = recordValueLength(chunk, pos);
          pos += need;
          this.at += need;
          this.skip = value;
          if (value === 0) this.nextRecord();
          continue;
        }
      }
      pos = this.carryPrefix(chunk, pos, end);
    }
  }

  /** After the last byte: the count, the used slots and the checksum. */
  finish(): void {
    const { source, header } = this;
    if (this.crc !== header.recordsCrc) throw new FormatError(`${source}: records checksum mismatch (corrupt file)`);
    if (this.failure !== null) throw this.failure;
    if (this.carried > 0 || this.skip > 0 || this.at !== this.recordsEnd) {
      throw new FormatError(`${source}: record ${this.count + 1} at offset ${this.record} runs past the records section`);
    }
    if (this.count !== header.recordCount) {
      throw new FormatError(`${source}: header says ${header.recordCount} records, records section holds ${this.count}`);
    }
    let used = 0;
    const slots = this.slots;
    for (let word = 0; word < slots.length; word += WORDS_PER_SLOT) if ((slots[word] | slots[word + 1]) !== 0) used++;
    if (used !== header.recordCount) {
      throw new FormatError(`${source}: index has ${used} used slots for ${header.recordCount} records (a slot points at something that is not a record)`);
    }
  }

  /** Copies a record prefix cut by the chunk's end into carry; returns the new position. */
  private carryPrefix(chunk: Uint8Array, pos: number, end: number): number {
    const carry = this.carry;
    if (this.carried < RECORD_HEADER_SIZE) {
      const n = Math.min(RECORD_HEADER_SIZE - this.carried, end - pos);
      carry.set(chunk.subarray(pos, pos + n), this.carried);
      this.carried += n;
      this.at += n;
      pos += n;
      if (this.carried < RECORD_HEADER_SIZE) return pos;
    }
    this.checkBounds(carry, 0);
    const need = RECORD_HEADER_SIZE + (carry[0] | (carry[1] << 8));
    const n = Math.min(need - this.carried, end - pos);
    carry.set(chunk.subarray(pos, pos + n), this.carried);
    this.carried += n;
    this.at += n;
    pos += n;
    if (this.carried < need) return pos;
    // The carry buffer is reused: this record's lookup is made now, after those before it.
    this.lookUpBatch();
    this.batch(carry, 0);
    this.lookUpBatch();
    this.carried = 0;
    this.skip = recordValueLength(carry, 0);
    if (this.skip === 0) this.nextRecord();
    return pos;
  }

  private nextRecord(): void {
    this.record = this.at;
    this.count++;
  }

  /** The record's bounds from its header at bytes[pos] (6 bytes present). */
  private checkBounds(bytes: Uint8Array, pos: number): void {
    const keyLength = bytes[pos] | (bytes[pos + 1] << 8);
    const valueLength = recordValueLength(bytes, pos);
    const record = this.record;
    const end = record + RECORD_HEADER_SIZE + keyLength + valueLength;
    if (record + RECORD_HEADER_SIZE > this.recordsEnd || keyLength === 0 || end > this.recordsEnd || valueLength > MAX_VALUE_LENGTH) {
      this.lookUpBatch(); // a record before this one that cannot be found is the first problem
      const problem = record + RECORD_HEADER_SIZE > this.recordsEnd ? 'has a cut-off header'
        : keyLength === 0 ? 'has an empty key'
          : valueLength > MAX_VALUE_LENGTH ? `has a value of ${valueLength} bytes, more than a reply can carry (${MAX_VALUE_LENGTH})`
            : 'runs past the records section';
      throw new FormatError(`${this.source}: record ${this.count + 1} at offset ${record} ${problem}`);
    }
  }

  /** Queues the lookup of the record whose (checked) prefix is at bytes[pos]; bytes stay unchanged until lookUpBatch(). */
  private batch(bytes: Uint8Array, pos: number): void {
    const keyStart = pos + RECORD_HEADER_SIZE;
    const keyEnd = keyStart + (bytes[pos] | (bytes[pos + 1] << 8));
    const hash = murmur3(bytes, keyStart, keyEnd, this.header.hashSeed);
    const i = this.batched++;
    this.batchBytes = bytes;
    this.batchHash[i] = hash;
    this.batchSlot[i] = homeSlot(hash, this.header.slotCount);
    this.batchKeyStart[i] = keyStart;
    this.batchKeyEnd[i] = keyEnd;
    this.batchRecord[i] = this.record;
    this.batchNumber[i] = this.count + 1;
    if (this.batched === BATCH) this.lookUpBatch();
  }

  /** Makes the queued lookups, in file order: throws for the first record no slot points at. */
  private lookUpBatch(): void {
    const n = this.batched;
    if (n === 0) return;
    this.batched = 0;
    const slots = this.slots;
    const homes = this.batchSlot;
    let touched = 0;
    for (let i = 0; i < n; i++) touched ^= slots[homes[i] * WORDS_PER_SLOT + 1];
    this.touched ^= touched;
    const bytes = this.batchBytes as Uint8Array;
    for (let i = 0; i < n; i++) {
      if (!this.findSlot(this.batchHash[i], homes[i], this.batchRecord[i])) {
        throw new FormatError(`${this.source}: record ${this.batchNumber[i]} at offset ${this.batchRecord[i]} cannot be found through the index (corrupt index or key)`);
      }
      this.onKey?.(bytes, this.batchKeyStart[i], this.batchKeyEnd[i]);
    }
  }

  /** Whether a slot in the probe window from `slot` holds offset `record` with the hash's tag. */
  private findSlot(hash: number, slot: number, record: number): boolean {
    const { slots, header } = this;
    const tag = hash & TAG_MASK;
    const low = record % TWO_32;
    const highBits = Math.floor(record / TWO_32);
    for (let distance = 0; distance <= header.maxDisplacement; distance++) {
      const word = slot * WORDS_PER_SLOT;
      const high = slots[word + 1];
      if ((slots[word] | high) === 0) return false;
      if (slots[word] === low && (high & 0xff) === highBits && high >>> 8 === tag) return true;
      if (++slot === header.slotCount) slot = 0;
    }
    return false;
  }
}

/** Header plus key length of the record at bytes[pos], or 0 when its 6-byte header is not all in [pos, end). */
function prefixLength(bytes: Uint8Array, pos: number, end: number): number {
  if (end - pos < RECORD_HEADER_SIZE) return 0;
  return RECORD_HEADER_SIZE + (bytes[pos] | (bytes[pos + 1] << 8));
}


// The structure check of a data file's records section, streamed: fed the section's
// bytes in file order, in chunks cut anywhere, it checks every record's bounds and
// finds each record through the index by its own key (home slot, tag, probe window),
// marking the slot that points at it; finish() then checks the records checksum, the
// record count, and that the index has exactly recordCount used slots. Since each
// record marks the one slot holding its offset, that proves every used slot points at
// a distinct record start and every record is reachable: the index can give no wrong
// answer. Memory: one bit per slot, plus one key (at most 64 KiB) carried across a
// chunk boundary. Every tier runs it before serving a version (src/storage/verify.ts).

import { checksum } from './checksum.ts';
import { FormatError } from '../errors.ts';
import type { HeaderSummary } from './header.ts';
import { murmur3 } from './hash.ts';
import { HEADER_SIZE, MAX_VALUE_LENGTH, RECORD_HEADER_SIZE, SLOT_SIZE, TAG_MASK, homeSlot, recordValueLength } from './layout.ts';

const TWO_32 = 2 ** 32;
const WORDS_PER_SLOT = SLOT_SIZE / 4;
const MAX_RECORD_PREFIX = RECORD_HEADER_SIZE + 0xffff;

/** Called with each record's key bytes, in file order (the cluster shard check). */
export type KeyVisitor = (bytes: Uint8Array, start: number, end: number) => void;

export class RecordsCheck {
  private readonly header: HeaderSummary;
  private readonly slots: Uint32Array;
  private readonly source: string;
  private readonly onKey: KeyVisitor | null;
  /** One bit per index slot: the slot was found pointing at a record. */
  private readonly marked: Uint8Array;
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

  constructor(header: HeaderSummary, slots: Uint32Array, source: string, onKey: KeyVisitor | null = null) {
    this.header = header;
    this.slots = slots;
    this.source = source;
    this.onKey = onKey;
    this.marked = new Uint8Array(Math.ceil(header.slotCount / 8));
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
          this.checkRecord(chunk, pos);
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
    this.checkRecord(carry, 0);
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
      const problem = record + RECORD_HEADER_SIZE > this.recordsEnd ? 'has a cut-off header'
        : keyLength === 0 ? 'has an empty key'
          : valueLength > MAX_VALUE_LENGTH ? `has a value of ${valueLength} bytes, more than a reply can carry (${MAX_VALUE_LENGTH})`
            : 'runs past the records section';
      throw new FormatError(`${this.source}: record ${this.count + 1} at offset ${record} ${problem}`);
    }
  }

  /** A whole record prefix (header and key) at bytes[pos]: bounds, then its slot. */
  private checkRecord(bytes: Uint8Array, pos: number): void {
    this.checkBounds(bytes, pos);
    const keyStart = pos + RECORD_HEADER_SIZE;
    const keyEnd = keyStart + (bytes[pos] | (bytes[pos + 1] << 8));
    const header = this.header;
    const hash = murmur3(bytes, keyStart, keyEnd, header.hashSeed);
    const tag = hash & TAG_MASK;
    const slots = this.slots;
    const record = this.record;
    const low = record % TWO_32;
    const highBits = Math.floor(record / TWO_32);
    let slot = homeSlot(hash, header.slotCount);
    for (let distance = 0; distance <= header.maxDisplacement; distance++) {
      const word = slot * WORDS_PER_SLOT;
      const high = slots[word + 1];
      if ((slots[word] | high) === 0) break;
      if (slots[word] === low && (high & 0xff) === highBits && high >>> 8 === tag) {
        this.marked[slot >>> 3] |= 1 << (slot & 7);
        this.onKey?.(bytes, keyStart, keyEnd);
        return;
      }
      if (++slot === header.slotCount) slot = 0;
    }
    throw new FormatError(`${this.source}: record ${this.count + 1} at offset ${record} cannot be found through the index (corrupt index or key)`);
  }
}

/** Header plus key length of the record at bytes[pos], or 0 when its 6-byte header is not all in [pos, end). */
function prefixLength(bytes: Uint8Array, pos: number, end: number): number {
  if (end - pos < RECORD_HEADER_SIZE) return 0;
  return RECORD_HEADER_SIZE + (bytes[pos] | (bytes[pos + 1] << 8));
}


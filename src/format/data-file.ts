// A loaded, fully validated packed data file: header checks, checksums, the bounds of
// every record and index slot, and the lookup from key bytes to a record offset. It is
// the in-memory implementation of Records (src/storage/records.ts): a record handle is
// the record's file offset.

import os from 'node:os';
import { checksum } from './checksum.ts';
import { FormatError } from '../errors.ts';
import type { Records } from '../storage/records.ts';
import { murmur3 } from './hash.ts';
import { type HeaderSummary, checkPadding, parseHeader } from './header.ts';
import { type KeyVisitor, RecordsCheck } from './records-check.ts';
import { HEADER_SIZE, RECORD_HEADER_SIZE, SLOT_SIZE, TAG_MASK, decodeSlotOffset, homeSlot, recordKeyLength, recordValueLength } from './layout.ts';

const TWO_32 = 2 ** 32;
const WORDS_PER_SLOT = SLOT_SIZE / 4;


export type { HeaderSummary };

/** Told how far a load has come: the stage, bytes done of its total (the server's progress line). */
export type LoadProgress = (stage: 'reading' | 'checking', done: number, total: number) => void;

/** Bytes checked between two LoadProgress calls. */
export const PROGRESS_STEP = 64 * 2 ** 20;

export class DataFile implements Records {
  /** The whole file; values are served as ranges of it. */
  readonly bytes: Buffer;
  readonly header: HeaderSummary;
  readonly recordCount: number;
  readonly recordsEnd: number;
  /** Where the bytes came from, for messages. */
  readonly source: string;
  private readonly slots: Uint32Array;
  /** Index slots; a slot holds one record or none (SCAN walks them). */
  readonly slotCount: number;
  private readonly maxDisplacement: number;
  private readonly seed: number;

  /**
   * Validates everything in the file; throws FormatError naming the first problem.
   * `trusted` skips the checksums and structure walk, for bytes another thread has
   * already validated (the same SharedArrayBuffer).
   */
  constructor(bytes: Buffer, source = 'data file', options: { trusted?: boolean; slots?: Uint32Array; onHeader?: (header: HeaderSummary) => KeyVisitor | null; onProgress?: LoadProgress } = {}) {
    if (os.endianness() !== 'LE') throw new FormatError('rokv reads data files on little-endian machines only');
    const header = parseHeader(bytes, bytes.byteLength, source);
    this.bytes = bytes;
    this.source = source;
    this.header = header;
    this.recordCount = header.recordCount;
    this.recordsEnd = HEADER_SIZE + header.recordsLength;
    this.slotCount = header.slotCount;
    this.maxDisplacement = header.maxDisplacement;
    this.seed = header.hashSeed;
    this.slots = options.slots ?? slotWords(bytes, header);
    if (options.trusted) return;
    if (checksum(bytes.subarray(header.indexOffset, header.fileSize)) !== header.indexCrc) {
      throw new FormatError(`${source}: index checksum mismatch (corrupt file)`);
    }
    checkPadding(bytes.subarray(this.recordsEnd, header.indexOffset), source);
    // The records in one chunk: RecordsCheck checks their checksum, bounds and slots.
    const check = new RecordsCheck(header, this.slots, source, options.onHeader?.(header) ?? null);
    for (let at = HEADER_SIZE; at < this.recordsEnd; at += PROGRESS_STEP) {
      check.push(bytes.subarray(at, Math.min(this.recordsEnd, at + PROGRESS_STEP)));
      options.onProgress?.('checking', Math.min(this.recordsEnd, at + PROGRESS_STEP) - HEADER_SIZE, header.recordsLength);
    }
    check.finish();
  }

  /** A view of bytes another thread has already validated (a SharedArrayBuffer): no checks repeated, nothing copied. */
  static fromValidated(bytes: ArrayBufferLike, source: string): DataFile {
    return new DataFile(Buffer.from(bytes), source, { trusted: true });
  }

  /**
   * A view of a validated file's records in `bytes` (a mapping) found through `slots`,
   * the same file's index held elsewhere (the disk tier's, in memory): lookups never
   * touch the index pages of the mapping.
   */
  static overIndex(bytes: Buffer, slots: Uint32Array, source: string): DataFile {
    return new DataFile(bytes, source, { trusted: true, slots });
  }

  /** File offset of the record whose key is bytes[start, end), or -1. */
  find(key: Uint8Array, start: number, end: number): number {
    const hash = murmur3(key, start, end, this.seed);
    const tag = hash & TAG_MASK;
    const slots = this.slots;
    const bytes = this.bytes;
    const slotCount = this.slotCount;
    const keyLength = end - start;
    let pos = homeSlot(hash, slotCount);
    for (let distance = 0; distance <= this.maxDisplacement; distance++) {
      const low = slots[pos * WORDS_PER_SLOT];
      const high = slots[pos * WORDS_PER_SLOT + 1];
      if ((low | high) === 0) return -1;
      if (high >>> 8 === tag) {
        const record = low + (high & 0xff) * TWO_32;
        if (this.keyLength(record) === keyLength) {
          const keyAt = this.keyStart(record);
          let i = 0;
          while (i < keyLength && bytes[keyAt + i] === key[start + i]) i++;
          if (i === keyLength) return record;
        }
      }
      if (++pos === slotCount) pos = 0;
    }
    return -1;
  }

  /** Offset of the record in index slot `slot`, or -1 when the slot is empty. */
  recordAtSlot(slot: number): number {
    const low = this.slots[slot * WORDS_PER_SLOT];
    const high = this.slots[slot * WORDS_PER_SLOT + 1];
    return (low | high) === 0 ? -1 : decodeSlotOffset(low, high);
  }

  /** A record in a slot drawn at random (slots are at least 3/4 full: few draws). */
  randomRecord(): number {
    if (this.recordCount === 0) return -1;
    for (;;) {
      const record = this.recordAtSlot(Math.floor(Math.random() * this.slotCount));
      if (record >= 0) return record;
    }
  }

  /** The record header's u16 key length (layout.ts). */
  keyLength(record: number): number {
    return recordKeyLength(this.bytes, record);
  }

  /** The key follows the record header. */
  keyStart(record: number): number {
    return record + RECORD_HEADER_SIZE;
  }

  /** The record header's u32 value length, after the key length. */
  valueLength(record: number): number {
    return recordValueLength(this.bytes, record);
  }

  /** The value follows the key: the one definition of where a value starts. */
  valueStart(record: number): number {
    return this.keyStart(record) + this.keyLength(record);
  }

  /** Key bytes of a record, as a view. */
  key(record: number): Buffer {
    const start = this.keyStart(record);
    return this.bytes.subarray(start, start + this.keyLength(record));
  }

  /** Value bytes of a record, as a view. */
  value(record: number): Buffer {
    const start = this.valueStart(record);
    return this.bytes.subarray(start, start + this.valueLength(record));
  }

  /** Value of a key (bytes, or a string taken as UTF-8, as the client does) as a view, or null when absent. */
  get(key: Uint8Array | string): Buffer | null {
    const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    const record = this.find(bytes, 0, bytes.length);
    return record < 0 ? null : this.value(record);
  }

  /** The first record's offset; records run while the offset is below recordsEnd. */
  get firstRecord(): number {
    return HEADER_SIZE;
  }

  /** The offset of the record after this one. */
  nextRecord(record: number): number {
    return this.valueStart(record) + this.valueLength(record);
  }

  /** Offsets of all records in file order. */
  recordOffsets(): Float64Array {
    const offsets = new Float64Array(this.recordCount);
    let at = this.firstRecord;
    for (let i = 0; i < offsets.length; i++) {
      offsets[i] = at;
      at = this.nextRecord(at);
    }
    return offsets;
  }

  /**
   * Deep check: finds every record through the index by its own key, so every key is
   * in its probe window with the right tag, and no key is stored twice.
   */
  verifyKeys(): void {
    let at = this.firstRecord;
    for (let n = 1; at < this.recordsEnd; n++) {
      const keyStart = this.keyStart(at);
      const found = this.find(this.bytes, keyStart, keyStart + this.keyLength(at));
      if (found !== at) {
        const where = `${this.source}: record ${n} at offset ${at}`;
        throw new FormatError(found < 0 ? `${where} cannot be found through the index` : `${where} repeats the key of the record at offset ${found}`);
      }
      at = this.nextRecord(at);
    }
  }
}

/** The index as u32 words, viewed in place when aligned. */
function slotWords(bytes: Buffer, header: HeaderSummary): Uint32Array {
  const length = header.slotCount * WORDS_PER_SLOT;
  const at = bytes.byteOffset + header.indexOffset;
  if (at % 4 === 0) return new Uint32Array(bytes.buffer, at, length);
  const copy = new Uint32Array(length);
  new Uint8Array(copy.buffer).set(bytes.subarray(header.indexOffset, header.fileSize));
  return copy;
}

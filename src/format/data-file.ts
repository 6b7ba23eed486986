// A loaded, fully validated packed data file: header checks, checksums, the bounds of
// every record and index slot, and the lookup from key bytes to a record offset. It is
// the in-memory implementation of Records (src/storage/records.ts): a record handle is
// the record's file offset.

import os from 'node:os';
import { checksum } from './checksum.ts';
import { FormatError } from '../errors.ts';
import type { Records } from '../storage/records.ts';
import { murmur3 } from './hash.ts';
import {
  FORMAT_VERSION, H, HASH_MURMUR3_32, HEADER_SIZE, INDEX_ALIGN, MAGIC, MAX_DISPLACEMENT, MAX_VALUE_LENGTH, RECORD_HEADER_SIZE,
  SLOT_SIZE, TAG_MASK, decodeSlotOffset, homeSlot, readU64,
} from './layout.ts';

const TWO_32 = 2 ** 32;
const WORDS_PER_SLOT = SLOT_SIZE / 4;

export interface HeaderSummary {
  version: number;
  fileSize: number;
  recordCount: number;
  recordsLength: number;
  indexOffset: number;
  slotCount: number;
  hashSeed: number;
  maxDisplacement: number;
  recordsCrc: number;
  indexCrc: number;
}

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
  constructor(bytes: Buffer, source = 'data file', options: { trusted?: boolean } = {}) {
    if (os.endianness() !== 'LE') throw new FormatError('rokv reads data files on little-endian machines only');
    const header = parseHeader(bytes, source);
    this.bytes = bytes;
    this.source = source;
    this.header = header;
    this.recordCount = header.recordCount;
    this.recordsEnd = HEADER_SIZE + header.recordsLength;
    this.slotCount = header.slotCount;
    this.maxDisplacement = header.maxDisplacement;
    this.seed = header.hashSeed;
    this.slots = slotWords(bytes, header);
    if (options.trusted) return;
    if (checksum(bytes.subarray(HEADER_SIZE, this.recordsEnd)) !== header.recordsCrc) {
      throw new FormatError(`${source}: records checksum mismatch (corrupt file)`);
    }
    if (checksum(bytes.subarray(header.indexOffset, header.fileSize)) !== header.indexCrc) {
      throw new FormatError(`${source}: index checksum mismatch (corrupt file)`);
    }
    this.validateStructure(source);
  }

  /** A view of bytes another thread has already validated (a SharedArrayBuffer): no checks repeated, nothing copied. */
  static fromValidated(bytes: ArrayBufferLike, source: string): DataFile {
    return new DataFile(Buffer.from(bytes), source, { trusted: true });
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

  /** The record header's u16 key length (layout.ts). */
  keyLength(record: number): number {
    return this.bytes[record] | (this.bytes[record + 1] << 8);
  }

  /** The key follows the record header. */
  keyStart(record: number): number {
    return record + RECORD_HEADER_SIZE;
  }

  /** The record header's u32 value length, after the key length. */
  valueLength(record: number): number {
    const b = this.bytes;
    return (b[record + 2] | (b[record + 3] << 8) | (b[record + 4] << 16)) + b[record + 5] * 0x1000000;
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
   * Structure: walks the records in file order (bounds of each, marking each start),
   * then checks that every used slot holds a distinct record start and that every
   * record has a slot. Together with the checksums this rules out any wrong answer
   * from a damaged file; whether each key also sits in its probe window is verifyKeys().
   */
  private validateStructure(source: string): void {
    const starts = new Uint8Array(Math.ceil((this.recordsEnd - HEADER_SIZE) / 8));
    try {
      this.checkRecordsAndSlots(source, starts);
    } finally {
      starts.buffer.transfer(0); // frees the bitmap now, not at some later GC
    }
  }

  private checkRecordsAndSlots(source: string, starts: Uint8Array): void {
    const recordsEnd = this.recordsEnd;
    let at = HEADER_SIZE;
    let count = 0;
    while (at < recordsEnd) {
      const keyLength = this.keyLength(at);
      const valueLength = this.valueLength(at);
      const end = this.nextRecord(at);
      if (at + RECORD_HEADER_SIZE > recordsEnd || keyLength === 0 || end > recordsEnd || valueLength > MAX_VALUE_LENGTH) {
        const problem = at + RECORD_HEADER_SIZE > recordsEnd ? 'has a cut-off header'
          : keyLength === 0 ? 'has an empty key'
            : valueLength > MAX_VALUE_LENGTH ? `has a value of ${valueLength} bytes, more than a reply can carry (${MAX_VALUE_LENGTH})`
              : 'runs past the records section';
        throw new FormatError(`${source}: record ${count + 1} at offset ${at} ${problem}`);
      }
      const bit = at - HEADER_SIZE;
      starts[bit >>> 3] |= 1 << (bit & 7);
      at = end;
      count++;
    }
    if (count !== this.recordCount) {
      throw new FormatError(`${source}: header says ${this.recordCount} records, records section holds ${count}`);
    }
    const slots = this.slots;
    let used = 0;
    for (let word = 0; word < slots.length; word += WORDS_PER_SLOT) {
      const low = slots[word];
      const high = slots[word + 1];
      if ((low | high) === 0) continue;
      const record = decodeSlotOffset(low, high);
      const bit = record - HEADER_SIZE;
      if (record < HEADER_SIZE || record >= this.recordsEnd || (starts[bit >>> 3] & (1 << (bit & 7))) === 0) {
        throw new FormatError(`${source}: index slot ${word / WORDS_PER_SLOT} points at offset ${record}, which is not a record (or is in another slot too)`);
      }
      starts[bit >>> 3] &= ~(1 << (bit & 7));
      used++;
    }
    if (used !== this.recordCount) {
      throw new FormatError(`${source}: index has ${used} used slots for ${this.recordCount} records`);
    }
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

function parseHeader(bytes: Buffer, source: string): HeaderSummary {
  if (bytes.length < HEADER_SIZE) {
    throw new FormatError(`${source}: ${bytes.length} bytes is shorter than the ${HEADER_SIZE}-byte header (truncated, or not a rokv data file)`);
  }
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new FormatError(`${source}: not a rokv data file (magic is not "${MAGIC.toString('latin1')}")`);
  }
  if (checksum(bytes.subarray(0, H.headerCrc)) !== bytes.readUInt32LE(H.headerCrc)) {
    throw new FormatError(`${source}: header checksum mismatch (corrupt file)`);
  }
  const version = bytes.readUInt16LE(H.version);
  if (version !== FORMAT_VERSION) {
    throw new FormatError(`${source}: format version ${version} is not supported (this build reads version ${FORMAT_VERSION})`);
  }
  const fail = (what: string): never => {
    throw new FormatError(`${source}: bad header: ${what}`);
  };
  if (bytes.readUInt16LE(H.headerSize) !== HEADER_SIZE) fail(`header size is not ${HEADER_SIZE}`);
  if (bytes.readUInt32LE(H.flags) !== 0) fail('unknown flags');
  if (bytes.readUInt32LE(H.hashId) !== HASH_MURMUR3_32) fail(`unknown hash function ${bytes.readUInt32LE(H.hashId)}`);
  if (!bytes.subarray(H.reservedStart, H.headerCrc).every((b) => b === 0)) fail('reserved bytes are not zero');
  const header: HeaderSummary = {
    version,
    fileSize: readU64(bytes, H.fileSize),
    recordCount: readU64(bytes, H.recordCount),
    recordsLength: readU64(bytes, H.recordsLength),
    indexOffset: readU64(bytes, H.indexOffset),
    slotCount: readU64(bytes, H.slotCount),
    hashSeed: bytes.readUInt32LE(H.hashSeed),
    maxDisplacement: bytes.readUInt32LE(H.maxDisplacement),
    recordsCrc: bytes.readUInt32LE(H.recordsCrc),
    indexCrc: bytes.readUInt32LE(H.indexCrc),
  };
  if (header.fileSize !== bytes.length) {
    throw new FormatError(`${source}: file is ${bytes.length} bytes but its header says ${header.fileSize} (truncated or extended)`);
  }
  if (readU64(bytes, H.recordsOffset) !== HEADER_SIZE) fail('records do not start right after the header');
  const recordsEnd = HEADER_SIZE + header.recordsLength;
  if (header.indexOffset % INDEX_ALIGN !== 0) fail(`index offset ${header.indexOffset} is not ${INDEX_ALIGN}-byte aligned`);
  if (header.indexOffset < recordsEnd || header.indexOffset - recordsEnd >= INDEX_ALIGN) {
    fail(`index offset ${header.indexOffset} does not follow the records (which end at ${recordsEnd})`);
  }
  if (!bytes.subarray(recordsEnd, header.indexOffset).every((b) => b === 0)) fail('padding before the index is not zero');
  if (header.slotCount < 1 || header.slotCount < header.recordCount) {
    fail(`${header.slotCount} index slots cannot hold ${header.recordCount} records`);
  }
  if (header.indexOffset + header.slotCount * SLOT_SIZE !== header.fileSize) fail('index does not end at the end of the file');
  if (header.maxDisplacement >= header.slotCount) fail('longest probe is longer than the index');
  if (header.maxDisplacement > MAX_DISPLACEMENT) {
    fail(`a record sits ${header.maxDisplacement} slots from its home slot, over the limit of ${MAX_DISPLACEMENT} (a flooded index: repack it)`);
  }
  return header;
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

// The byte layout of a packed data file (docs/FORMAT.md): header fields, record
// header and index slot encoding. Every offset the writer and loader use is named here.

export const MAGIC = Buffer.from('ROKVPACK', 'latin1');
export const FORMAT_VERSION = 1;
export const HEADER_SIZE = 128;

/** Byte offsets of the header fields (all little-endian). */
export const H = {
  magic: 0, // 8 bytes
  version: 8, // u16
  headerSize: 10, // u16
  flags: 12, // u32, must be 0
  fileSize: 16, // u64
  recordCount: 24, // u64
  recordsOffset: 32, // u64, always HEADER_SIZE
  recordsLength: 40, // u64
  indexOffset: 48, // u64, multiple of INDEX_ALIGN
  slotCount: 56, // u64
  hashId: 64, // u32
  hashSeed: 68, // u32
  maxDisplacement: 72, // u32
  recordsCrc: 76, // u32, CRC-32 of the records section
  indexCrc: 80, // u32, CRC-32 of the index section
  reservedStart: 84, // zero bytes up to headerCrc
  headerCrc: 124, // u32, CRC-32 of bytes 0..123
} as const;

export const HASH_MURMUR3_32 = 1;
export const DEFAULT_HASH_SEED = 0x726f6b76; // "rokv"

/** Record: u16 key length, u32 value length, key bytes, value bytes. */
export const RECORD_HEADER_SIZE = 6;
export const MAX_KEY_LENGTH = 0xffff;
/** A response frame's u32 length covers the status byte too. */
export const MAX_VALUE_LENGTH = 0xffffffff - 1;

/** Index slot: two u32 words; word 0 = offset bits 0..31, word 1 = tag << 8 | offset bits 32..39. */
export const SLOT_SIZE = 8;
export const INDEX_ALIGN = 8;
export const TAG_MASK = 0xffffff;
export const OFFSET_HIGH_BITS = 8;
export const OFFSET_HIGH_MASK = 0xff;
/** Record offsets are 40-bit: a file's records must end below 1 TiB. */
export const MAX_RECORD_OFFSET = 2 ** 40 - 1;
/**
 * The longest distance a record may sit from its home slot. At load factor 0.75 random
 * hashes stay far below it (1M records: 20); an input whose keys were chosen to collide
 * passes it, and is rebuilt with another seed. Loaders refuse files past it.
 */
export const MAX_DISPLACEMENT = 128;
/** Slots per record when building: load factor 0.75. */
export const SLOTS_PER_RECORD = 4 / 3;

const TWO_32 = 2 ** 32;

export function readU64(buf: Buffer, at: number): number {
  const value = buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * TWO_32;
  return value;
}

export function writeU64(buf: Buffer, at: number, value: number): void {
  buf.writeUInt32LE(value % TWO_32, at);
  buf.writeUInt32LE(Math.floor(value / TWO_32), at + 4);
}

export function slotCountFor(recordCount: number): number {
  return Math.max(1, Math.ceil(recordCount * SLOTS_PER_RECORD));
}

/** Home slot of a 32-bit hash: floor(hash * slotCount / 2^32), exact in 53-bit arithmetic. */
export function homeSlot(hash: number, slotCount: number): number {
  const high = (hash >>> 16) * slotCount;
  const low = Math.floor(((hash & 0xffff) * slotCount) / 65536);
  return Math.floor((high + low) / 65536);
}

export function slotTag(hash: number): number {
  return hash & TAG_MASK;
}

export function encodeSlotHigh(tag: number, recordOffset: number): number {
  return ((tag << OFFSET_HIGH_BITS) | Math.floor(recordOffset / TWO_32)) >>> 0;
}

export function decodeSlotOffset(low: number, high: number): number {
  return low + (high & OFFSET_HIGH_MASK) * TWO_32;
}

/** The u16 key length in the record header at bytes[record]. */
export function recordKeyLength(bytes: Uint8Array, record: number): number {
  return bytes[record] | (bytes[record + 1] << 8);
}

/** The u32 value length in the record header at bytes[record], after the key length. */
export function recordValueLength(bytes: Uint8Array, record: number): number {
  return (bytes[record + 2] | (bytes[record + 3] << 8) | (bytes[record + 4] << 16)) + bytes[record + 5] * 0x1000000;
}

/** Why a record cannot be stored, or null when it can. */
export function recordProblem(keyLength: number, valueLength: number): string | null {
  if (keyLength === 0) return 'empty key';
  if (keyLength > MAX_KEY_LENGTH) return `key of ${keyLength} bytes is over ${MAX_KEY_LENGTH} bytes`;
  if (valueLength > MAX_VALUE_LENGTH) return `value of ${valueLength} bytes is over ${MAX_VALUE_LENGTH} bytes`;
  return null;
}

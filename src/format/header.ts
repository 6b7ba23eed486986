// A data file's header (docs/FORMAT.md): parsed and checked from its first bytes and
// the file's real size alone, so a file is judged before anything in proportion to it
// is read or allocated.

import { checksum } from './checksum.ts';
import { FormatError } from '../errors.ts';
import { FORMAT_VERSION, H, HASH_MURMUR3_32, HEADER_SIZE, INDEX_ALIGN, MAGIC, MAX_DISPLACEMENT, SLOT_SIZE, readU64 } from './layout.ts';

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

/**
 * Parses and checks a file's header: `bytes` holds at least its first HEADER_SIZE bytes
 * (or the whole file, when shorter), `fileSize` is the file's real size. Needs nothing
 * beyond the header, so a file is judged before anything in proportion to it is read.
 */
export function parseHeader(bytes: Buffer, fileSize: number, source: string): HeaderSummary {
  if (fileSize < HEADER_SIZE || bytes.byteLength < HEADER_SIZE) {
    throw new FormatError(`${source}: ${fileSize} bytes is shorter than the ${HEADER_SIZE}-byte header (truncated, or not a rokv data file)`);
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
  if (header.fileSize !== fileSize) {
    throw new FormatError(`${source}: file is ${fileSize} bytes but its header says ${header.fileSize} (truncated or extended)`);
  }
  if (readU64(bytes, H.recordsOffset) !== HEADER_SIZE) fail('records do not start right after the header');
  const recordsEnd = HEADER_SIZE + header.recordsLength;
  if (header.indexOffset % INDEX_ALIGN !== 0) fail(`index offset ${header.indexOffset} is not ${INDEX_ALIGN}-byte aligned`);
  if (header.indexOffset < recordsEnd || header.indexOffset - recordsEnd >= INDEX_ALIGN) {
    fail(`index offset ${header.indexOffset} does not follow the records (which end at ${recordsEnd})`);
  }
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

/** The zero bytes between the records and the index (fewer than INDEX_ALIGN). */
export function checkPadding(padding: Uint8Array, source: string): void {
  if (!padding.every((b) => b === 0)) throw new FormatError(`${source}: bad header: padding before the index is not zero`);
}


// A data file past 4 GiB: 40-bit record offsets in the index, chunked reading into
// one Buffer, records beyond the 4 GiB mark served correctly; and a crafted file whose
// value length no reply frame can carry, refused at load.

import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { checksum } from '../src/format/checksum.ts';
import { murmur3 } from '../src/format/hash.ts';
import {
  DEFAULT_HASH_SEED, FORMAT_VERSION, H, HASH_MURMUR3_32, HEADER_SIZE, INDEX_ALIGN, MAGIC, RECORD_HEADER_SIZE, SLOT_SIZE,
  encodeSlotHigh, homeSlot, slotTag, writeU64,
} from '../src/format/layout.ts';
import { loadDataFile } from '../src/format/load.ts';
import { PackWriter } from '../src/format/writer.ts';
import { runBin, tempDir } from './helpers.ts';

const VALUE_SIZE = 1 << 20;
const RECORDS = 4200; // 4.4 GB of values

function valueFor(i: number, into: Buffer): Buffer {
  into.fill(i % 251);
  into.writeUInt32BE(i, 0);
  return into;
}

it('packs, loads and serves a 4.4 GB file', { timeout: 180_000 }, () => {
  const file = path.join(tempDir(), 'large.data');
  try {
    const writer = new PackWriter(file);
    const value = Buffer.alloc(VALUE_SIZE);
    for (let i = 0; i < RECORDS; i++) writer.add(Buffer.from(`big-${i}`), valueFor(i, value));
    const summary = writer.finish();
    expect(summary.fileSize).toBeGreaterThan(2 ** 32 + 100 * VALUE_SIZE);
    const data = loadDataFile(file);
    let beyond4GiB = 0;
    for (const i of [0, 1, 2000, 4000, 4096, RECORDS - 2, RECORDS - 1]) {
      const record = data.find(Buffer.from(`big-${i}`), 0, `big-${i}`.length);
      if (record > 2 ** 32) beyond4GiB++;
      expect(data.value(record).equals(valueFor(i, value)), `record ${i}`).toBe(true);
    }
    expect(beyond4GiB).toBeGreaterThan(0);
    expect(data.get(Buffer.from('big-4200'))).toBeNull();
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

it('refuses a record whose value length (0xFFFFFFFF) no reply can carry, checksums valid', { timeout: 180_000 }, () => {
  // A sparse file: header, one record (key "x", value of 2^32 - 1 zero bytes), a 2-slot index.
  const file = path.join(tempDir(), 'crafted.data');
  try {
    const key = Buffer.from('x');
    const recordsLength = RECORD_HEADER_SIZE + key.length + 0xffffffff;
    const indexOffset = Math.ceil((HEADER_SIZE + recordsLength) / INDEX_ALIGN) * INDEX_ALIGN;
    const fileSize = indexOffset + 2 * SLOT_SIZE;
    const recordHead = Buffer.alloc(RECORD_HEADER_SIZE + key.length);
    recordHead.writeUInt16LE(key.length, 0);
    recordHead.writeUInt32LE(0xffffffff, 2);
    key.copy(recordHead, RECORD_HEADER_SIZE);
    const hash = murmur3(key, 0, key.length, DEFAULT_HASH_SEED);
    const slots = Buffer.alloc(2 * SLOT_SIZE);
    const home = homeSlot(hash, 2);
    slots.writeUInt32LE(HEADER_SIZE, home * SLOT_SIZE);
    slots.writeUInt32LE(encodeSlotHigh(slotTag(hash), HEADER_SIZE), home * SLOT_SIZE + 4);
    // CRC of the records: the record head, then 2^32 - 1 zero bytes, in 1 GiB steps.
    let recordsCrc = checksum(recordHead);
    const zeros = Buffer.alloc(1 << 30);
    for (let left = 0xffffffff; left > 0; left -= Math.min(left, zeros.length)) recordsCrc = checksum(zeros.subarray(0, Math.min(left, zeros.length)), recordsCrc);
    const header = Buffer.alloc(HEADER_SIZE);
    MAGIC.copy(header, H.magic);
    header.writeUInt16LE(FORMAT_VERSION, H.version);
    header.writeUInt16LE(HEADER_SIZE, H.headerSize);
    writeU64(header, H.fileSize, fileSize);
    writeU64(header, H.recordCount, 1);
    writeU64(header, H.recordsOffset, HEADER_SIZE);
    writeU64(header, H.recordsLength, recordsLength);
    writeU64(header, H.indexOffset, indexOffset);
    writeU64(header, H.slotCount, 2);
    header.writeUInt32LE(HASH_MURMUR3_32, H.hashId);
    header.writeUInt32LE(DEFAULT_HASH_SEED, H.hashSeed);
    header.writeUInt32LE(0, H.maxDisplacement);
    header.writeUInt32LE(recordsCrc, H.recordsCrc);
    header.writeUInt32LE(checksum(slots), H.indexCrc);
    header.writeUInt32LE(checksum(header.subarray(0, H.headerCrc)), H.headerCrc);
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, header, 0, HEADER_SIZE, 0);
    fs.writeSync(fd, recordHead, 0, recordHead.length, HEADER_SIZE);
    fs.writeSync(fd, slots, 0, slots.length, indexOffset);
    fs.closeSync(fd);
    for (const [bin, args] of [['inspect', [file]], ['server', [file, '--port', '0']]] as const) {
      const run = runBin(bin, [...args]);
      expect(run.status, `${bin}: ${run.stderr}`).toBe(1);
      expect(run.stderr.trim()).toBe(`${bin}: ${file}: record 1 at offset 128 has a value of 4294967295 bytes, more than a reply can carry (4294967294)`);
    }
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

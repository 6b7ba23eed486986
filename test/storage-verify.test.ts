// Verification before serving (src/storage/verify.ts): the streamed records check gives
// the same verdict wherever the chunks are cut, and refuses a damaged structure even
// when the damage came with recomputed checksums (so only the structure check stands
// between it and a wrong answer).

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../src/errors.ts';
import { checksum } from '../src/format/checksum.ts';
import { DataFile } from '../src/format/data-file.ts';
import { parseHeader } from '../src/format/header.ts';
import { H, HEADER_SIZE, SLOT_SIZE, readU64 } from '../src/format/layout.ts';
import { RecordsCheck } from '../src/format/records-check.ts';
import { verifyFile } from '../src/storage/verify.ts';
import { type Pair, packRecords, tempDir } from './helpers.ts';

function records(): Pair[] {
  const list: Pair[] = [['k', ''], [Buffer.alloc(65_535, 'x'), 'longest key'], ['big', Buffer.alloc(300_000, 3)]];
  for (let i = 0; i < 3000; i++) list.push([`key-${i}`, 'v'.repeat(i % 200)]);
  return list;
}

const good = fs.readFileSync(packRecords(records()));

/** Runs RecordsCheck over `bytes` fed in chunks of `size` (one key visitor collecting keys). */
function checkInChunks(bytes: Buffer, size: number): string[] {
  const header = parseHeader(bytes.subarray(0, HEADER_SIZE), bytes.length, 'test');
  const index = Buffer.from(bytes.subarray(header.indexOffset));
  const slots = new Uint32Array(index.buffer, index.byteOffset, index.length / 4);
  const keys: string[] = [];
  const check = new RecordsCheck(header, slots, 'test', (b, s, e) => keys.push(Buffer.from(b.subarray(s, e)).toString('latin1')));
  const end = HEADER_SIZE + header.recordsLength;
  for (let at = HEADER_SIZE; at < end; at += size) check.push(bytes.subarray(at, Math.min(end, at + size)));
  check.finish();
  return keys;
}

/** A copy of the file with its index changed by `edit`, checksums recomputed so only the structure is wrong. */
function withIndex(edit: (slots: Uint32Array, slotCount: number) => void): Buffer {
  const bad = Buffer.from(good);
  const indexOffset = readU64(bad, H.indexOffset);
  const slotCount = readU64(bad, H.slotCount);
  const slots = new Uint32Array(bad.buffer, bad.byteOffset + indexOffset, slotCount * 2);
  edit(slots, slotCount);
  bad.writeUInt32LE(checksum(bad.subarray(indexOffset, indexOffset + slotCount * SLOT_SIZE)), H.indexCrc);
  bad.writeUInt32LE(checksum(bad.subarray(0, H.headerCrc)), H.headerCrc);
  return bad;
}

function usedSlots(slots: Uint32Array, slotCount: number): number[] {
  const used: number[] = [];
  for (let s = 0; s < slotCount; s++) if ((slots[2 * s] | slots[2 * s + 1]) !== 0) used.push(s);
  return used;
}

function verifyBytes(bytes: Buffer): void {
  const file = path.join(tempDir(), 'v.data');
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, 'r');
  try {
    verifyFile(fd, bytes.length, file);
  } finally {
    fs.closeSync(fd);
  }
}

describe('RecordsCheck', () => {
  it('gives the same verdict and visits every key in file order, whatever the chunk size', () => {
    const expected = checkInChunks(good, good.length);
    expect(expected.length).toBe(records().length);
    for (const size of [1, 2, 5, 6, 7, 13, 4096, 65_541, 100_003]) expect(checkInChunks(good, size), `chunks of ${size}`).toEqual(expected);
  });

  it('refuses an index whose slots were swapped, moved, duplicated or dropped (checksums recomputed)', () => {
    const damages: [string, (slots: Uint32Array, n: number) => void][] = [
      ['two used slots swapped', (slots, n) => {
        const [a, b] = usedSlots(slots, n).slice(100, 102);
        const [la, ha] = [slots[2 * a], slots[2 * a + 1]];
        slots[2 * a] = slots[2 * b];
        slots[2 * a + 1] = slots[2 * b + 1];
        slots[2 * b] = la;
        slots[2 * b + 1] = ha;
      }],
      ['a slot pointing one byte into its record', (slots, n) => {
        slots[2 * usedSlots(slots, n)[7]] += 1;
      }],
      ['one record in two slots, another in none', (slots, n) => {
        const [a, b] = usedSlots(slots, n).slice(10, 12);
        slots[2 * b] = slots[2 * a];
        slots[2 * b + 1] = slots[2 * a + 1];
      }],
      ['a slot emptied', (slots, n) => {
        const a = usedSlots(slots, n)[20];
        slots[2 * a] = slots[2 * a + 1] = 0;
      }],
      ['a stray slot filled', (slots, n) => {
        const used = new Set(usedSlots(slots, n));
        let free = 0;
        while (used.has(free)) free++;
        const a = usedSlots(slots, n)[0];
        slots[2 * free] = slots[2 * a];
        slots[2 * free + 1] = slots[2 * a + 1];
      }],
    ];
    for (const [what, edit] of damages) {
      const bad = withIndex(edit);
      expect(() => verifyBytes(bad), what).toThrow(FormatError);
      expect(() => new DataFile(bad, 'bad.data'), `${what} (memory tier)`).toThrow(FormatError);
    }
  });

  it('refuses truncated and extended files before reading their records', () => {
    expect(() => verifyBytes(good.subarray(0, good.length - 1))).toThrow(/header says/);
    expect(() => verifyBytes(Buffer.concat([good, Buffer.alloc(1)]))).toThrow(/header says/);
    expect(() => verifyBytes(good.subarray(0, 100))).toThrow(/shorter than the 128-byte header/);
    expect(() => verifyBytes(Buffer.alloc(500, 1))).toThrow(/not a rokv data file/);
  });

  it('accepts the good file through the file reader too', () => {
    expect(() => verifyBytes(good)).not.toThrow();
  });
});

// A data file past 4 GiB: 40-bit record offsets in the index, chunked reading into
// one Buffer, records beyond the 4 GiB mark served correctly.

import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { loadDataFile } from '../src/format/load.ts';
import { PackWriter } from '../src/format/writer.ts';
import { tempDir } from './helpers.ts';

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

// The packed format: round trips of awkward records, hash and slot arithmetic,
// the committed fixture, corrupt files rejected, and inputs made to flood the index
// rebuilt under another seed.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../src/errors.ts';
import { checksum } from '../src/format/checksum.ts';
import { DataFile } from '../src/format/data-file.ts';
import { murmur3 } from '../src/format/hash.ts';
import { DEFAULT_HASH_SEED, H, HEADER_SIZE, MAX_DISPLACEMENT, decodeSlotOffset, encodeSlotHigh, homeSlot, slotCountFor } from '../src/format/layout.ts';
import { loadDataFile } from '../src/format/load.ts';
import { PackWriter } from '../src/format/writer.ts';
import { type Pair, ROOT, packRecords, runBin, tempDir } from './helpers.ts';

function awkwardRecords(): Pair[] {
  const records: Pair[] = [
    ['empty-value', ''],
    ['k', 'one-byte key'],
    [Buffer.alloc(65_535, 'x'), 'longest key'],
    [Buffer.from([0, 1, 0, 2]), Buffer.from([0, 0, 0])],
    [Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from([0xc3, 0x28, 0xff])],
    ['big', Buffer.alloc(1 << 20, 7)],
  ];
  for (let i = 0; i < 2000; i++) records.push([`key-${i}`, `value-${i * 7}`]);
  return records;
}

describe('round trip', () => {
  it('returns every record byte for byte, and null for absent keys', () => {
    const records = awkwardRecords();
    const data = loadDataFile(packRecords(records));
    expect(data.recordCount).toBe(records.length);
    for (const [key, value] of records) {
      expect(data.get(Buffer.from(key))?.equals(Buffer.from(value))).toBe(true);
    }
    for (const absent of ['', 'key-2000', 'ke', 'key-1 ', Buffer.alloc(65_534, 'x'), Buffer.from([0, 1, 0])]) {
      expect(data.get(Buffer.from(absent))).toBeNull();
    }
    data.verifyKeys();
  });

  it('finds keys through full 32-bit hash collisions among 200,000 records', () => {
    const records: Pair[] = [];
    for (let i = 0; i < 200_000; i++) records.push([`collide-${i}`, `${i}`]);
    const data = loadDataFile(packRecords(records));
    const hashes = new Map<number, number>();
    let collisions = 0;
    for (const [key] of records) {
      const h = murmur3(Buffer.from(key), 0, Buffer.byteLength(key), data.header.hashSeed);
      if (hashes.has(h)) collisions++;
      hashes.set(h, 1);
    }
    expect(collisions).toBeGreaterThan(0); // the case this test exists for
    for (const [key, value] of records) expect(data.get(Buffer.from(key))?.toString()).toBe(value);
  });

  it('looks up a key inside a larger buffer without copying it', () => {
    const data = loadDataFile(packRecords([['abc', 'xyz']]));
    const frame = Buffer.from('..abc..');
    const record = data.find(frame, 2, 5);
    expect(record).toBeGreaterThan(0);
    expect(data.value(record).toString()).toBe('xyz');
    expect(data.value(record).buffer).toBe(data.bytes.buffer);
  });

  it('reads into a SharedArrayBuffer when asked', () => {
    const data = loadDataFile(packRecords([['a', 'b']]), { shared: true });
    expect(data.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(data.get(Buffer.from('a'))?.toString()).toBe('b');
  });

  it('writes an index with no records', () => {
    const data = loadDataFile(packRecords([]));
    expect(data.recordCount).toBe(0);
    expect(data.get(Buffer.from('x'))).toBeNull();
  });

  it('loadDataFile(f).get() takes string keys as connect().get() does', () => {
    const data = loadDataFile(path.join(ROOT, 'data', 'fixture.data'));
    expect(data.get('fixture-01')?.toString()).toBe('gbcnnchcrnbsdhuu');
    expect(data.get(Buffer.from('fixture-01'))?.toString()).toBe('gbcnnchcrnbsdhuu');
    expect(data.get('nope')).toBeNull();
  });
});

describe('hash and slot arithmetic', () => {
  it('murmur3 matches the reference vectors', () => {
    const h = (s: string, seed: number) => murmur3(Buffer.from(s), 0, Buffer.byteLength(s), seed);
    expect(h('', 0)).toBe(0);
    expect(h('', 1)).toBe(0x514e28b7);
    expect(h('hello', 0)).toBe(0x248bfa47);
    expect(h('The quick brown fox jumps over the lazy dog', 0)).toBe(0x2e4ff723);
    expect(murmur3(Buffer.from('xxhelloxx'), 2, 7, 0)).toBe(0x248bfa47);
  });

  it('homeSlot is floor(hash * slots / 2^32) exactly', () => {
    const cases = [[0, 1], [0xffffffff, 1], [0xffffffff, 1_333_334], [0x80000000, 7], [0xdeadbeef, 0xfffffffe], [12345, 3_000_000_000]];
    for (const [hash, slots] of cases) {
      expect(homeSlot(hash, slots)).toBe(Number((BigInt(hash) * BigInt(slots)) >> 32n));
    }
  });

  it('slots encode 40-bit record offsets (files past 4 GiB)', () => {
    for (const offset of [128, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 40 - 1]) {
      const high = encodeSlotHigh(0xabcdef, offset);
      expect(high >>> 8).toBe(0xabcdef);
      expect(decodeSlotOffset(offset >>> 0, high)).toBe(offset);
    }
  });

  it('refuses records the format cannot hold', () => {
    const writer = new PackWriter(path.join(tempDir(), 'x.data'));
    expect(() => writer.add(Buffer.alloc(0), Buffer.from('v'))).toThrow('empty key');
    expect(() => writer.add(Buffer.alloc(65_536), Buffer.from('v'))).toThrow('over 65535 bytes');
    writer.abort();
  });
});

describe('fixture', () => {
  const fixture = path.join(ROOT, 'data', 'fixture.data');
  const source = path.join(ROOT, 'data', 'fixture.tsv');

  it('decodes the committed fixture to the records of its source', () => {
    const data = loadDataFile(fixture);
    const lines = fs.readFileSync(source, 'utf8').split('\n').filter(Boolean);
    expect(data.recordCount).toBe(lines.length);
    for (const line of lines) {
      const [key, value] = line.split('\t');
      expect(data.get(Buffer.from(key))?.toString()).toBe(value);
    }
    expect(data.header.hashSeed).toBe(0x726f6b76);
    expect(data.header.slotCount).toBe(Math.ceil((lines.length * 4) / 3));
  });

  it('packing the source again gives the same bytes (the format has not changed)', () => {
    const out = path.join(tempDir(), 'again.data');
    const run = runBin('pack', [source, '-o', out, '--quiet']);
    expect(run.status).toBe(0);
    expect(fs.readFileSync(out).equals(fs.readFileSync(fixture))).toBe(true);
  });
});

describe('corrupt files', () => {
  const records = awkwardRecords().filter(([key]) => key !== 'big');
  const good = fs.readFileSync(packRecords(records));
  const open = (bytes: Buffer) => new DataFile(bytes, 'bad.data');

  it('accepts the good file', () => {
    expect(open(Buffer.from(good)).recordCount).toBe(records.length);
  });

  it('rejects every truncation', () => {
    const cuts = [0, 1, 7, 8, 64, HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + 1, 1000, good.length >> 1, good.length - 8, good.length - 1];
    for (let i = 0; i < 200; i++) cuts.push(Math.floor((good.length * i) / 200));
    for (const cut of cuts) expect(() => open(good.subarray(0, cut)), `cut at ${cut}`).toThrow(FormatError);
  });

  it('rejects a single flipped byte anywhere: header, records, padding, index', () => {
    const indexOffset = good.readUInt32LE(H.indexOffset);
    const places = new Set<number>();
    for (let i = 0; i < HEADER_SIZE; i++) places.add(i);
    for (let i = 0; i < 300; i++) places.add(HEADER_SIZE + Math.floor(((indexOffset - HEADER_SIZE) * i) / 300));
    for (let i = 0; i < 300; i++) places.add(indexOffset + Math.floor(((good.length - indexOffset) * i) / 300));
    places.add(good.length - 1);
    for (const at of places) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = Buffer.from(good);
        bad[at] ^= mask;
        expect(() => open(bad), `byte ${at} ^ ${mask}`).toThrow(FormatError);
      }
    }
  });

  it('names the problem: foreign file, newer version, wrong length', () => {
    expect(() => open(Buffer.alloc(500, 1))).toThrow(/not a rokv data file/);
    expect(() => open(Buffer.concat([good, Buffer.alloc(8)]))).toThrow(/header says/);
    const newer = Buffer.from(good);
    newer.writeUInt16LE(2, H.version);
    expect(() => open(newer)).toThrow(/checksum/); // the header checksum covers the version
  });

  it('inspect exits non-zero with one line for a bad file, 0 for a good one', () => {
    const dir = tempDir();
    const bad = Buffer.from(good);
    bad[HEADER_SIZE + 10] ^= 1;
    fs.writeFileSync(path.join(dir, 'bad.data'), bad);
    const run = runBin('inspect', [path.join(dir, 'bad.data')]);
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toMatch(/^inspect: .*bad\.data: records checksum mismatch/);
    const ok = runBin('inspect', [fixtureLike(dir)]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/records\s+3\n/);
    expect(runBin('inspect', [path.join(dir, 'missing.data')]).stderr).toMatch(/cannot open .*missing\.data: no such file or folder$/m);
  });
});

function fixtureLike(dir: string): string {
  return packRecords([['a', '1'], ['b', '2'], ['c', '3']], path.join(dir, 'ok.data'));
}

describe('hash flooding', () => {
  /** Keys whose default-seed home slot is 0 or 1 in a table sized for `count` keys. */
  function floodingKeys(count: number): string[] {
    const slots = slotCountFor(count);
    const keys: string[] = [];
    for (let i = 0; keys.length < count; i++) {
      const key = Buffer.from(`flood-${i}`);
      if (homeSlot(murmur3(key, 0, key.length, DEFAULT_HASH_SEED), slots) < 2) keys.push(key.toString());
    }
    return keys;
  }

  it('keys chosen to collide are rebuilt under another seed: short probes, same bytes every time', () => {
    const keys = floodingKeys(2500);
    const dir = tempDir();
    const input = path.join(dir, 'flood.tsv');
    fs.writeFileSync(input, keys.map((k, i) => `${k}\t${i}\n`).join(''));
    for (const out of ['a.data', 'b.data']) expect(runBin('pack', [input, '-o', path.join(dir, out)]).status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'a.data')).equals(fs.readFileSync(path.join(dir, 'b.data')))).toBe(true);
    const data = loadDataFile(path.join(dir, 'a.data'));
    expect(data.header.maxDisplacement).toBeLessThanOrEqual(MAX_DISPLACEMENT);
    expect(data.header.hashSeed).not.toBe(DEFAULT_HASH_SEED);
    keys.forEach((k, i) => expect(data.get(Buffer.from(k))?.toString()).toBe(String(i)));
  });

  it('ordinary inputs keep the default seed', () => {
    const data = loadDataFile(packRecords(Array.from({ length: 5000 }, (_, i) => [`key-${i}`, 'v'])));
    expect(data.header.hashSeed).toBe(DEFAULT_HASH_SEED);
  });

  it('a file whose longest probe is past the limit is refused at load', () => {
    const file = packRecords(Array.from({ length: 200 }, (_, i) => [`k${i}`, 'v'])); // 267 slots: room for a long probe
    const bytes = fs.readFileSync(file);
    bytes.writeUInt32LE(MAX_DISPLACEMENT + 1, H.maxDisplacement);
    bytes.writeUInt32LE(checksum(bytes.subarray(0, H.headerCrc)), H.headerCrc);
    fs.writeFileSync(file, bytes);
    const run = runBin('inspect', [file]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/over the limit of 128/);
  });
});

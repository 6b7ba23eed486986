// Sections past 2 GiB (issue 21): one fs.writeSync/readSync takes less than 2^31 bytes,
// so writeFully/readFully move a buffer in chunks of at most 1 GiB, going on after
// short writes and reads. Checked with a tiny chunk on a few KB (byte-exact, every
// call bounded), once for real with one write, one read and one CRC of 2^31 + 4096
// bytes by functions already hot on small buffers (as in the writer: V8 miscompiled
// `.length` there), at the writer (a packed file written and re-read 7 bytes a call
// is byte-identical to the default one), and at inspect --dump (no chunk handed to
// stdout is huge).

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { crc32 } from 'node:zlib';
import { IO_CHUNK, readFully, writeFully } from '../src/files.ts';
import { checksum } from '../src/format/checksum.ts';
import { dumpChunks } from '../src/pack/dump.ts';
import { H, readU64 } from '../src/format/layout.ts';
import { loadDataFile } from '../src/format/load.ts';
import { PackWriter } from '../src/format/writer.ts';
import { packRecords, tempDir } from './helpers.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Length, position and fd of every fs.writeSync / fs.readSync call made while `body` runs. */
function recordCalls(body: () => void): { writes: [number, number, number][]; reads: [number, number, number][] } {
  const writes: [number, number, number][] = [];
  const reads: [number, number, number][] = [];
  const write = fs.writeSync;
  const read = fs.readSync;
  vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => {
    writes.push([length, position, fd]);
    return write(fd, buffer, offset, length, position);
  }) as typeof fs.writeSync);
  vi.spyOn(fs, 'readSync').mockImplementation(((fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => {
    reads.push([length, position, fd]);
    return read(fd, buffer, offset, length, position);
  }) as typeof fs.readSync);
  try {
    body();
  } finally {
    vi.restoreAllMocks();
  }
  return { writes, reads };
}

describe('writeFully / readFully', () => {
  it('round-trip a few KB byte for byte in 7-byte calls, at any position', () => {
    const file = path.join(tempDir(), 'chunks.bin');
    const bytes = crypto.randomBytes(5000);
    for (const position of [0, 1, 3, 4093, 65537]) {
      fs.rmSync(file, { force: true });
      const fd = fs.openSync(file, 'w+');
      try {
        const back = Buffer.alloc(bytes.length);
        const calls = recordCalls(() => {
          writeFully(fd, bytes, position, 7);
          readFully(fd, back, position, file, 7);
        });
        expect(back.equals(bytes), `position ${position}`).toBe(true);
        expect(fs.readFileSync(file).subarray(position).equals(bytes)).toBe(true);
        expect(fs.fstatSync(fd).size).toBe(position + bytes.length);
        for (const list of [calls.writes, calls.reads]) {
          expect(list.length).toBe(Math.ceil(bytes.length / 7));
          expect(Math.max(...list.map(([length]) => length))).toBe(7);
          // consecutive positions, each call starting where the last one ended
          list.forEach(([, at], i) => expect(at).toBe(position + 7 * i));
        }
      } finally {
        fs.closeSync(fd);
      }
    }
  });

  it('go on after short writes and short reads', () => {
    const file = path.join(tempDir(), 'short.bin');
    const bytes = crypto.randomBytes(3000);
    const write = fs.writeSync;
    const read = fs.readSync;
    let writeCalls = 0;
    let readCalls = 0;
    // The kernel may move fewer bytes than asked: here at most 5 per call.
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => {
      writeCalls++;
      return write(fd, buffer, offset, Math.min(5, length), position);
    }) as typeof fs.writeSync);
    vi.spyOn(fs, 'readSync').mockImplementation(((fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => {
      readCalls++;
      return read(fd, buffer, offset, Math.min(5, length), position);
    }) as typeof fs.readSync);
    const fd = fs.openSync(file, 'w+');
    try {
      writeFully(fd, bytes, 11, 64);
      const back = Buffer.alloc(bytes.length);
      readFully(fd, back, 11, file, 64);
      vi.restoreAllMocks();
      expect(back.equals(bytes)).toBe(true);
      expect(fs.readFileSync(file).subarray(11).equals(bytes)).toBe(true);
      expect(writeCalls).toBe(600);
      expect(readCalls).toBe(600);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('a read that ends early is "file shrank while being read", naming the file', () => {
    const file = path.join(tempDir(), 'shrunk.bin');
    fs.writeFileSync(file, Buffer.alloc(100, 1));
    const fd = fs.openSync(file, 'r');
    try {
      expect(() => readFully(fd, Buffer.alloc(200), 0, file, 7)).toThrow(`${file}: file shrank while being read`);
      expect(() => readFully(fd, Buffer.alloc(1), 100, file)).toThrow(`${file}: file shrank while being read`);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('take a chunk of 1 .. IO_CHUNK (1 GiB) only', () => {
    expect(IO_CHUNK).toBe(2 ** 30);
    for (const chunk of [0, -1, 1.5, IO_CHUNK + 1, 2 ** 31]) {
      expect(() => writeFully(0, Buffer.alloc(1), 0, chunk)).toThrow(RangeError);
      expect(() => readFully(0, Buffer.alloc(1), 0, 'x', chunk)).toThrow(RangeError);
    }
    expect(() => new PackWriter(path.join(tempDir(), 'x.data'), { ioChunk: 2 ** 31 })).toThrow(RangeError);
  });

  it('write, read and checksum one buffer of 2^31 + 4096 bytes, after running hot on small ones', { timeout: 60_000 }, async () => {
    // Node 26.10's V8 (Maglev) miscompiles `b.length > n` past 2^31 in a function that has
    // run on small buffers: a loop over `.length` then ends at once (nothing written, CRC 0).
    // The writer calls these thousands of times on 4 MiB flushes before it writes an index.
    const warm = path.join(tempDir(), 'warm.bin');
    const warmFd = fs.openSync(warm, 'w+');
    const small = Buffer.alloc(64, 1);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 2000; i++) {
        writeFully(warmFd, small, 0);
        readFully(warmFd, small, 0, warm);
        checksum(small);
      }
      await new Promise((resolve) => setTimeout(resolve, 20)); // lets the optimized code be installed
    }
    fs.closeSync(warmFd);

    const file = path.join(tempDir(), 'over-2GiB.bin');
    const size = 2 ** 31 + 4096;
    const big = Buffer.alloc(size); // zeros: cheap to make
    const tail = Buffer.from('the last bytes, past 2 GiB');
    tail.copy(big, size - tail.length);
    big[2 ** 31] = 0x5a;
    // straight-line zlib calls, none of it hot
    const expectedCrc = crc32(big.subarray(2 ** 31), crc32(big.subarray(2 ** 30, 2 ** 31), crc32(big.subarray(0, 2 ** 30))));
    expect(checksum(big)).toBe(expectedCrc);
    const fd = fs.openSync(file, 'w+');
    try {
      writeFully(fd, big, 0);
      expect(fs.fstatSync(fd).size).toBe(size);
      const end = Buffer.alloc(tail.length);
      expect(fs.readSync(fd, end, 0, end.length, size - tail.length)).toBe(tail.length);
      expect(end.equals(tail)).toBe(true);
      const mark = Buffer.alloc(1);
      fs.readSync(fd, mark, 0, 1, 2 ** 31);
      expect(mark[0]).toBe(0x5a);

      big.fill(0xff, 2 ** 31 - 10); // readFully must put back the zeros, the mark and the tail
      readFully(fd, big, 0, file);
      expect(big.subarray(size - tail.length).equals(tail)).toBe(true);
      expect(big[2 ** 31]).toBe(0x5a);
      expect(big.subarray(2 ** 31 - 10, 2 ** 31).every((b) => b === 0)).toBe(true);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
    }
  });
});

describe('the writer and the dump in chunks', () => {
  it('a file written and read back 7 bytes a call is byte-identical to the default write, and loads', () => {
    const dir = tempDir();
    const records: [Buffer, Buffer][] = [];
    for (let i = 0; i < 1500; i++) records.push([Buffer.from(`key-${i}`), Buffer.alloc(i % 40, i)]);
    records.push([Buffer.from('key-7'), Buffer.from('a later duplicate: the file is compacted, its records read back')]);
    const pack = (file: string, ioChunk?: number): void => {
      const writer = new PackWriter(file, { ioChunk, onDuplicate: (_existing, incoming) => incoming });
      for (const [key, value] of records) writer.add(key, value);
      expect(writer.finish().dropped).toBe(1);
    };
    const plain = path.join(dir, 'plain.data');
    const chunked = path.join(dir, 'chunked.data');
    pack(plain);
    const calls = recordCalls(() => pack(chunked, 7));
    const bytes = fs.readFileSync(chunked);
    expect(bytes.equals(fs.readFileSync(plain))).toBe(true);

    const indexOffset = readU64(bytes, H.indexOffset);
    const indexLength = bytes.length - indexOffset;
    expect(indexLength).toBeGreaterThan(8000);
    expect(Math.max(...calls.writes.map(([length]) => length))).toBe(7);
    // the compaction read every record back (the duplicate's is 70 bytes), 7 bytes a call too
    expect(Math.max(...calls.reads.map(([length]) => length))).toBe(7);
    // the index went in pieces of 7 bytes, one after another
    const finalFd = calls.writes[calls.writes.length - 1][2]; // the compacted file's (the header, written last)
    const indexWrites = calls.writes.filter(([, at, fd]) => fd === finalFd && at >= indexOffset);
    expect(indexWrites.length).toBe(Math.ceil(indexLength / 7));

    const data = loadDataFile(chunked);
    expect(data.recordCount).toBe(1500);
    expect(data.get('key-7')?.toString()).toBe('a later duplicate: the file is compacted, its records read back');
    expect(data.get('key-1499')?.equals(Buffer.alloc(1499 % 40, 1499 & 0xff))).toBe(true);
  });

  it('packs and loads a record of 2^31 + 4096 bytes after 12,000 small ones', { timeout: 120_000 }, async () => {
    // The value goes to the file in one writeRaw (it is over the 4 MiB buffer): one
    // fs.writeSync of it was "length is out of range". add() is Maglev-hot on small
    // records by then: with `value.length` it took the 2 GiB value for a small one
    // ("offset is out of bounds" copying it into the 4 MiB buffer).
    const file = path.join(tempDir(), 'big-record.data');
    const big = Buffer.alloc(2 ** 31 + 4096);
    big.write('the end of a value past 2 GiB', big.length - 29);
    const writer = new PackWriter(file);
    try {
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 2000; i++) writer.add(Buffer.from(`k${round}-${i}`), Buffer.from(`value ${i}`));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      writer.add(Buffer.from('big'), big);
      writer.add(Buffer.from('after'), Buffer.from('the record after it'));
      const summary = writer.finish();
      expect(summary.fileSize).toBeGreaterThan(2 ** 31 + 4096);
      expect(fs.statSync(file).size).toBe(summary.fileSize);
      const data = loadDataFile(file); // checks both CRCs and every record's bounds
      expect(data.recordCount).toBe(12_002);
      const value = data.get('big');
      expect(value?.byteLength).toBe(2 ** 31 + 4096);
      expect(value?.subarray(value.byteLength - 29).toString()).toBe('the end of a value past 2 GiB');
      expect(data.get('after')?.toString()).toBe('the record after it');
      expect(data.get('k5-1999')?.toString()).toBe('value 1999');
    } finally {
      writer.abort();
      fs.rmSync(file, { force: true });
    }
  });

  it('inspect --dump hands stdout no chunk near a record\'s size: a 3 MiB line goes in 1 MiB pieces', () => {
    const huge = Buffer.alloc(3 * 2 ** 20 + 5, 0x61);
    const file = packRecords([['a', 'small'], ['big', huge], ['z', 'last']]);
    const chunks = [...dumpChunks(loadDataFile(file), 'tsv')];
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(2 ** 20);
    expect(Buffer.concat(chunks).equals(Buffer.concat([Buffer.from('a\tsmall\nbig\t'), huge, Buffer.from('\nz\tlast\n')]))).toBe(true);
  });
});

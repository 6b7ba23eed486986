// Writes a packed data file: records streamed to a temporary file beside the output,
// then the index and header; renamed into place only when complete. An input whose
// keys collide in the index (hash flooding) is rehashed with another seed, derived
// from its records' checksum so the same input always packs to the same bytes.

import fs from 'node:fs';
import path from 'node:path';
import { checksum } from './checksum.ts';
import { InputError } from '../errors.ts';
import { IO_CHUNK, checkIoChunk, readFully, writeError, writeFully } from '../files.ts';
import { murmur3 } from './hash.ts';
import { type BuiltIndex, buildIndexSteps } from './index-builder.ts';
import {
  DEFAULT_HASH_SEED, FORMAT_VERSION, H, HASH_MURMUR3_32, HEADER_SIZE, INDEX_ALIGN, MAGIC,
  MAX_DISPLACEMENT, MAX_RECORD_OFFSET, RECORD_HEADER_SIZE, recordProblem, writeU64,
} from './layout.ts';

export interface PackWriterOptions {
  hashSeed?: number;
  /**
   * Two records share a key (ordinals in the order added): return the ordinal to
   * keep, or throw. Without it a duplicate key is an InputError.
   */
  onDuplicate?: (existing: number, incoming: number, key: Buffer) => number;
  /**
   * The most bytes one write or read of the file may move (default and maximum
   * IO_CHUNK, 1 GiB): tests pass a few bytes to see sections written in pieces.
   */
  ioChunk?: number;
}

export interface PackSummary {
  path: string;
  records: number;
  fileSize: number;
  dropped: number;
  /** CRC-32 of the records section, as in the header. */
  recordsCrc: number;
}

const WRITE_BUFFER_SIZE = 4 << 20;
const MAX_RECORDS = 0xffffffff - 1;
/** Seeds tried before an input is refused as unindexable (the first is the default). */
const SEED_ATTEMPTS = 8;
let tempFileSerial = 0;

/** Growable array of record hashes and offsets, by ordinal. */
class RecordTable {
  hashes = new Uint32Array(1024);
  offsets = new Float64Array(1024);
  count = 0;
  push(hash: number, offset: number): void {
    if (this.count === this.hashes.length) {
      const hashes = new Uint32Array(this.count * 2);
      hashes.set(this.hashes);
      this.hashes = hashes;
      const offsets = new Float64Array(this.count * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
    }
    this.hashes[this.count] = hash;
    this.offsets[this.count] = offset;
    this.count++;
  }
}

export class PackWriter {
  readonly outputPath: string;
  private readonly tempPath: string;
  private readonly options: PackWriterOptions;
  private seed: number;
  private fd: number;
  private readonly buffer = Buffer.allocUnsafe(WRITE_BUFFER_SIZE);
  private buffered = 0;
  private position = HEADER_SIZE; // file offset of the next record
  private written = 0; // bytes in the file so far: where the next write goes
  private readonly ioChunk: number;
  private recordsCrc = 0;
  private readonly table = new RecordTable();
  private done = false;

  constructor(outputPath: string, options: PackWriterOptions = {}) {
    this.outputPath = outputPath;
    this.options = options;
    this.seed = (options.hashSeed ?? DEFAULT_HASH_SEED) >>> 0;
    this.ioChunk = checkIoChunk(options.ioChunk ?? IO_CHUNK);
    this.tempPath = path.join(path.dirname(outputPath), `.${path.basename(outputPath)}.tmp-${process.pid}-${tempFileSerial++}`);
    try {
      this.fd = fs.openSync(this.tempPath, 'w+');
    } catch (error) {
      throw writeError(outputPath, error);
    }
    this.writeRaw(Buffer.alloc(HEADER_SIZE), false); // the header is written last, in place
  }

  get count(): number {
    return this.table.count;
  }

  /** Appends one record. Throws InputError for a record the format cannot hold. */
  add(key: Uint8Array, value: Uint8Array): void {
    // byteLength, not length: after millions of small records V8 (Maglev, Node 26.10)
    // miscompiles comparisons of a typed array's length past 2^31 (src/files.ts, IO_CHUNK)
    const keyLength = key.byteLength;
    const valueLength = value.byteLength;
    const problem = recordProblem(keyLength, valueLength);
    if (problem !== null) throw new InputError(problem);
    if (this.table.count >= MAX_RECORDS) throw new InputError(`more than ${MAX_RECORDS} records`);
    const size = RECORD_HEADER_SIZE + keyLength + valueLength;
    if (this.position + size - 1 > MAX_RECORD_OFFSET) {
      throw new InputError(`records pass the format's ${MAX_RECORD_OFFSET + 1}-byte limit`);
    }
    this.table.push(murmur3(key, 0, keyLength, this.seed), this.position);
    if (this.buffered + RECORD_HEADER_SIZE + keyLength > WRITE_BUFFER_SIZE) this.flush();
    const buf = this.buffer;
    buf.writeUInt16LE(keyLength, this.buffered);
    buf.writeUInt32LE(valueLength, this.buffered + 2);
    buf.set(key, this.buffered + RECORD_HEADER_SIZE);
    this.buffered += RECORD_HEADER_SIZE + keyLength;
    if (this.buffered + valueLength > WRITE_BUFFER_SIZE) {
      this.flush();
      if (valueLength > WRITE_BUFFER_SIZE) {
        this.writeRaw(value);
        this.position += size;
        return;
      }
    }
    buf.set(value, this.buffered);
    this.buffered += valueLength;
    this.position += size;
  }

  /** Writes index and header, then renames the file into place. */
  finish(): PackSummary {
    const steps = this.indexSteps();
    for (;;) {
      const step = steps.next();
      if (step.done) return this.complete(step.value);
    }
  }

  /** finish(), giving the event loop a turn between index-building steps (signals are handled). */
  async finishAsync(): Promise<PackSummary> {
    const steps = this.indexSteps();
    for (;;) {
      const step = steps.next();
      if (step.done) return this.complete(step.value);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** The index under the default seed, or, when the keys flood it, under the first derived seed that holds. */
  private *indexSteps(): Generator<void, BuiltIndex> {
    this.flush();
    for (let attempt = 0; attempt < SEED_ATTEMPTS; attempt++) {
      if (attempt > 0) {
        this.seed = murmur3(Buffer.from([attempt, 0x72, 0x6f, 0x6b]), 0, 4, this.recordsCrc) >>> 0;
        yield* this.rehash();
      }
      const index = yield* buildIndexSteps({
        hashes: this.table.hashes,
        offsets: this.table.offsets,
        count: this.table.count,
        sameKey: (a, b) => this.readKey(a).equals(this.readKey(b)),
        resolveDuplicate: (existing, incoming) => {
          const key = this.readKey(existing);
          if (this.options.onDuplicate) return this.options.onDuplicate(existing, incoming, key);
          throw new InputError(`duplicate key ${describeKey(key)} (records ${existing + 1} and ${incoming + 1})`);
        },
      });
      if (index) return index;
    }
    throw new InputError(
      `the keys collide in the index under ${SEED_ATTEMPTS} hash seeds (some key lands more than ${MAX_DISPLACEMENT} slots from home): ` +
      'an input made to flood the hash table cannot be packed',
    );
  }

  /** Recomputes every record's hash with this.seed, reading the keys back from the temporary file in order. */
  private *rehash(): Generator<void> {
    const chunk = Buffer.allocUnsafe(WRITE_BUFFER_SIZE);
    const header = Buffer.allocUnsafe(RECORD_HEADER_SIZE);
    for (let ordinal = 0; ordinal < this.table.count; ordinal++) {
      if ((ordinal & 0xffff) === 0xffff) yield;
      const at = this.table.offsets[ordinal];
      this.readAt(header, at);
      const keyLength = header.readUInt16LE(0);
      this.readAt(chunk.subarray(0, keyLength), at + RECORD_HEADER_SIZE);
      this.table.hashes[ordinal] = murmur3(chunk, 0, keyLength, this.seed);
    }
  }

  private complete(index: BuiltIndex): PackSummary {
    if (index.dropped.length > 0) return this.compactInto(index.dropped);
    const recordsLength = this.position - HEADER_SIZE;
    const padding = (INDEX_ALIGN - (this.position % INDEX_ALIGN)) % INDEX_ALIGN;
    const indexOffset = this.position + padding;
    if (padding > 0) this.writeRaw(Buffer.alloc(padding), false);
    this.writeRaw(index.slots, false);
    const fileSize = indexOffset + index.slots.byteLength;

    const header = Buffer.alloc(HEADER_SIZE);
    MAGIC.copy(header, H.magic);
    header.writeUInt16LE(FORMAT_VERSION, H.version);
    header.writeUInt16LE(HEADER_SIZE, H.headerSize);
    writeU64(header, H.fileSize, fileSize);
    writeU64(header, H.recordCount, this.table.count);
    writeU64(header, H.recordsOffset, HEADER_SIZE);
    writeU64(header, H.recordsLength, recordsLength);
    writeU64(header, H.indexOffset, indexOffset);
    writeU64(header, H.slotCount, index.slotCount);
    header.writeUInt32LE(HASH_MURMUR3_32, H.hashId);
    header.writeUInt32LE(this.seed, H.hashSeed);
    header.writeUInt32LE(index.maxDisplacement, H.maxDisplacement);
    header.writeUInt32LE(this.recordsCrc, H.recordsCrc);
    header.writeUInt32LE(checksum(index.slots), H.indexCrc);
    header.writeUInt32LE(checksum(header.subarray(0, H.headerCrc)), H.headerCrc);
    try {
      writeFully(this.fd, header, 0, this.ioChunk);
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      fs.renameSync(this.tempPath, this.outputPath);
    } catch (error) {
      throw writeError(this.outputPath, error);
    }
    this.done = true;
    return { path: this.outputPath, records: this.table.count, fileSize, dropped: 0, recordsCrc: this.recordsCrc };
  }

  /** Removes the temporary file; the output path is left as it was. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    fs.rmSync(this.tempPath, { force: true });
  }

  private flush(): void {
    if (this.buffered === 0) return;
    this.writeRaw(this.buffer.subarray(0, this.buffered));
    this.buffered = 0;
  }

  /** Appends `bytes` at the end of the file (sections past 2 GiB go in chunks). */
  private writeRaw(bytes: Uint8Array, isRecords = true): void {
    if (isRecords) this.recordsCrc = checksum(bytes, this.recordsCrc);
    try {
      writeFully(this.fd, bytes, this.written, this.ioChunk);
    } catch (error) {
      throw writeError(this.outputPath, error);
    }
    this.written += bytes.byteLength;
  }

  /** Fills `bytes` from the temporary file at `position`. */
  private readAt(bytes: Uint8Array, position: number): void {
    try {
      readFully(this.fd, bytes, position, this.tempPath, this.ioChunk);
    } catch (error) {
      throw writeError(this.outputPath, error);
    }
  }

  private readRecordHeader(ordinal: number): { keyLength: number; valueLength: number } {
    const header = Buffer.alloc(RECORD_HEADER_SIZE);
    this.readAt(header, this.table.offsets[ordinal]);
    return { keyLength: header.readUInt16LE(0), valueLength: header.readUInt32LE(2) };
  }

  private readKey(ordinal: number): Buffer {
    const { keyLength } = this.readRecordHeader(ordinal);
    const key = Buffer.alloc(keyLength);
    this.readAt(key, this.table.offsets[ordinal] + RECORD_HEADER_SIZE);
    return key;
  }

  /** Rewrites the records without the dropped duplicates into a fresh writer. */
  private compactInto(dropped: ArrayLike<number>): PackSummary {
    const next = new PackWriter(this.outputPath, { hashSeed: this.seed, ioChunk: this.options.ioChunk });
    try {
      let skip = 0;
      for (let ordinal = 0; ordinal < this.table.count; ordinal++) {
        if (skip < dropped.length && dropped[skip] === ordinal) {
          skip++;
          continue;
        }
        const { keyLength, valueLength } = this.readRecordHeader(ordinal);
        const record = Buffer.allocUnsafe(keyLength + valueLength);
        this.readAt(record, this.table.offsets[ordinal] + RECORD_HEADER_SIZE);
        next.add(record.subarray(0, keyLength), record.subarray(keyLength));
      }
      const summary = next.finish();
      this.abort();
      return { ...summary, dropped: dropped.length };
    } catch (error) {
      next.abort();
      throw error;
    }
  }
}

/** A key for a message: printable as text when it is, else hex. */
export function describeKey(key: Uint8Array): string {
  const printable = key.every((b) => b >= 0x20 && b < 0x7f);
  const shown = key.length > 64 ? key.subarray(0, 64) : key;
  const suffix = key.length > 64 ? `… (${key.length} bytes)` : '';
  return printable
    ? JSON.stringify(Buffer.from(shown).toString('latin1')) + suffix
    : `0x${Buffer.from(shown).toString('hex')}${suffix}`;
}

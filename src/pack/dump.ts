// inspect --dump: every record of a data file, in file order, as lines bin/pack reads
// back into the same file — TSV (key<TAB>value), NDJSON ({"key","value"} as text), or
// base64 (NDJSON whose strings are base64, for any bytes: pack --base64).

import { isUtf8 } from 'node:buffer';
import type { DataFile } from '../format/data-file.ts';
import type { Progress } from '../progress.ts';
import { BOM, CR, LF } from './lines.ts';
import { TAB } from './records.ts';

export const DUMP_FORMATS = ['tsv', 'ndjson', 'base64'] as const;
export type DumpFormat = (typeof DUMP_FORMATS)[number];

const CHUNK_BYTES = 1 << 20;

/**
 * Why a record cannot be written in `format` so that pack reads it back unchanged
 * (it would be split, cut or rewritten), or null. `first`: the first line of the
 * output, where pack drops a UTF-8 byte-order mark.
 */
function problem(format: DumpFormat, key: Buffer, value: Buffer, first: boolean): string | null {
  if (format === 'base64') return null;
  if (format === 'ndjson') {
    if (!isUtf8(key)) return 'its key is not UTF-8 text';
    if (!isUtf8(value)) return 'its value is not UTF-8 text';
    return null;
  }
  if (key.includes(TAB)) return 'its key holds a tab';
  if (key.includes(LF) || value.includes(LF)) return 'it holds a line feed';
  if (value.byteLength > 0 && value[value.byteLength - 1] === CR) return 'its value ends with a carriage return'; // byteLength: see dumpChunks
  if (first && key.subarray(0, BOM.length).equals(BOM)) return 'its key starts with a byte-order mark';
  // Before the first LF, pack reads a lone CR as CR-only line endings and refuses the input.
  if (first && (key.includes(CR) || value.includes(CR))) return 'it holds a carriage return, which pack takes on the first line for CR-only line endings';
  return null;
}

/** The first record `format` cannot carry, as a message naming a format that can, or null. */
export function dumpProblem(data: DataFile, format: DumpFormat): string | null {
  if (format === 'base64') return null;
  const records = data.recordOffsets();
  for (let i = 0; i < records.length; i++) {
    const why = problem(format, data.key(records[i]), data.value(records[i]), i === 0);
    if (why !== null) return `record ${i + 1} cannot be written as ${format}: ${why}; use --format base64 (any bytes)`;
  }
  return null;
}

function line(format: DumpFormat, key: Buffer, value: Buffer): Buffer {
  switch (format) {
    case 'tsv':
      return Buffer.concat([key, Buffer.of(TAB), value, Buffer.of(LF)]);
    case 'ndjson':
      return Buffer.from(`{"key":${JSON.stringify(key.toString('utf8'))},"value":${JSON.stringify(value.toString('utf8'))}}\n`, 'utf8');
    case 'base64':
      return Buffer.from(`{"key":"${key.toString('base64')}","value":"${value.toString('base64')}"}\n`, 'latin1');
  }
}

/**
 * The dump in chunks of about 1 MiB, each under 2 MiB: a record's line longer than
 * 1 MiB goes in 1 MiB pieces (stdout on a file takes less than 2 GiB per write).
 * Check dumpProblem first. `progress`, when given, is ticked with the records done.
 */
export function* dumpChunks(data: DataFile, format: DumpFormat, progress?: Progress): Generator<Buffer> {
  const lines: Buffer[] = [];
  let size = 0;
  let done = 0;
  for (const record of data.recordOffsets()) {
    progress?.tick(++done);
    const next = line(format, data.key(record), data.value(record));
    const length = next.byteLength; // not .length: V8 miscompiles it past 2^31 here (src/files.ts, IO_CHUNK)
    if (length > CHUNK_BYTES) {
      if (size > 0) yield Buffer.concat(lines, size);
      lines.length = 0;
      size = 0;
      for (let at = 0; at < length; at += CHUNK_BYTES) yield next.subarray(at, at + CHUNK_BYTES);
      continue;
    }
    lines.push(next);
    size += length;
    if (size >= CHUNK_BYTES) {
      yield Buffer.concat(lines, size);
      lines.length = 0;
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(lines, size);
}

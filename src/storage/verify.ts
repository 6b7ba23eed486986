// Verifying a data file before it is served, in one sequential pass of positioned
// reads and with memory in proportion to the index at most (never to the records):
// the header (judged against the file's real size before anything is allocated), the
// index section (read whole, checksummed), the padding, then the records section
// streamed through RecordsCheck. The mmap and disk tiers serve a version only after
// this passed; reading (not mapping) means a file cut short meanwhile is an error, not
// a SIGBUS.

import { checksum } from '../format/checksum.ts';
import type { LoadProgress } from '../format/data-file.ts';
import { FormatError } from '../errors.ts';
import { type HeaderSummary, checkPadding, parseHeader } from '../format/header.ts';
import { HEADER_SIZE, SLOT_SIZE } from '../format/layout.ts';
import { type KeyVisitor, RecordsCheck } from '../format/records-check.ts';
import { readFully } from '../files.ts';

/** The records section is read in chunks of this size (sequential reads). */
export const VERIFY_CHUNK = 8 * 2 ** 20;

/** What verifyFile hands back: the header, and the index section's bytes. */
export interface VerifiedFile {
  header: HeaderSummary;
  /** The index section (slotCount × 8 bytes), in a SharedArrayBuffer when asked. */
  index: Buffer;
}

/**
 * Verifies the open file `fd` (`size` bytes) completely with sequential reads: header,
 * index (read into memory, shared for worker threads when `shared`), padding and
 * records. `onHeader` may return a visitor of every key (the shard check, in the same
 * pass); `onProgress` is told the records checked after each chunk. Throws
 * FormatError naming the first problem. Memory: the index and one read chunk.
 */
export function verifyFile(fd: number, size: number, source: string, options: { shared?: boolean; onHeader?: (header: HeaderSummary) => KeyVisitor | null; onProgress?: LoadProgress } = {}): VerifiedFile {
  const first = Buffer.alloc(Math.min(size, HEADER_SIZE));
  readFully(fd, first, 0, source);
  const header = parseHeader(first, size, source);
  const onKey = options.onHeader?.(header) ?? null;
  const indexLength = header.slotCount * SLOT_SIZE;
  const index = options.shared ? Buffer.from(new SharedArrayBuffer(indexLength)) : Buffer.allocUnsafeSlow(indexLength);
  readFully(fd, index, header.indexOffset, source);
  if (checksum(index) !== header.indexCrc) throw new FormatError(`${source}: index checksum mismatch (corrupt file)`);
  const recordsEnd = HEADER_SIZE + header.recordsLength;
  const padding = Buffer.alloc(header.indexOffset - recordsEnd);
  readFully(fd, padding, recordsEnd, source);
  checkPadding(padding, source);
  const slots = new Uint32Array(index.buffer, index.byteOffset, indexLength / 4);
  const check = new RecordsCheck(header, slots, source, onKey);
  const chunk = Buffer.allocUnsafeSlow(Math.min(VERIFY_CHUNK, Math.max(1, header.recordsLength)));
  for (let at = HEADER_SIZE; at < recordsEnd; at += chunk.length) {
    const view = chunk.subarray(0, Math.min(chunk.length, recordsEnd - at));
    readFully(fd, view, at, source);
    check.push(view);
    options.onProgress?.('checking', at + view.length - HEADER_SIZE, header.recordsLength);
  }
  check.finish();
  return { header, index };
}
